//! A cluster's namespace names, cheaply, for completing a `namespace` argument: the executor's
//! own report of the namespaces its identity may read when that is a list, else
//! `get namespaces -o name` run through the normal command path as the caller (policy, key scope
//! and audit apply), remembered per caller and cluster for [`FRESH_FOR`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kubently_shared::protocol::CommandStatus;

use super::access;
use super::headers::AgentHeaders;
use super::input::{self, CommandRequest};
use crate::AppState;
use crate::app::commands;
use crate::auth::Caller;
use crate::error::{AppError, AppResult};

/// How long a listed set of namespaces is reused.
pub const FRESH_FOR: Duration = Duration::from_secs(60);
/// How long completion waits for the list (completion should be quick; a slow cluster gives none).
const LIST_TIMEOUT_SECONDS: u64 = 3;
/// Most (caller, cluster) lists kept; the oldest go first.
const MAX_ENTRIES: usize = 256;

/// (caller service, cluster).
type Key = (String, String);
/// When the list was read, and the names.
type Entry = (Instant, Vec<String>);

/// Namespace lists by (caller service, cluster), with when they were read.
#[derive(Default)]
pub struct NamespaceCache {
    entries: Mutex<HashMap<Key, Entry>>,
}

impl NamespaceCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, key: &Key) -> Option<Vec<String>> {
        self.lock().get(key).filter(|(at, _)| at.elapsed() < FRESH_FOR).map(|(_, names)| names.clone())
    }

    fn put(&self, key: Key, names: Vec<String>) {
        let mut entries = self.lock();
        entries.retain(|_, (at, _)| at.elapsed() < FRESH_FOR);
        if entries.len() >= MAX_ENTRIES
            && let Some(oldest) = entries.iter().min_by_key(|(_, (at, _))| *at).map(|(k, _)| k.clone())
        {
            entries.remove(&oldest);
        }
        entries.insert(key, (Instant::now(), names));
    }
}

/// Where a namespace list came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The executor's privilege report (a namespace-scoped identity).
    ExecutorAccess,
    /// `get namespaces -o name`, now or within [`FRESH_FOR`].
    Listed,
}

/// The namespaces of `cluster_id` the caller may complete from, sorted.
pub async fn names(state: &AppState, caller: &Caller, cluster_id: &str) -> AppResult<(Vec<String>, Source)> {
    access::visible_cluster(state, caller, cluster_id, || format!("no cluster '{cluster_id}' for this key"))?;
    let reported = state.registry.executors(cluster_id).into_iter().next().and_then(|e| e.access);
    if let Some(a) = reported
        && !a.namespaces.iter().any(|n| n == "*")
    {
        let mut names = a.namespaces;
        names.sort();
        return Ok((names, Source::ExecutorAccess));
    }
    let key = (caller.service.clone(), cluster_id.to_string());
    if let Some(names) = state.namespaces.get(&key) {
        return Ok((names, Source::Listed));
    }
    let req = CommandRequest {
        cluster_id: cluster_id.to_string(),
        command_type: "get".into(),
        args: vec!["namespaces".into(), "-o".into(), "name".into()],
        timeout_seconds: Some(LIST_TIMEOUT_SECONDS),
        ..Default::default()
    };
    let prepared = input::prepare(state, caller, AgentHeaders::default(), req)?;
    let outcome = commands::execute(state, caller, prepared).await?;
    if outcome.status != CommandStatus::Success {
        return Err(AppError::BadRequest(format!(
            "cannot list the namespaces of '{cluster_id}': {}",
            outcome.error.unwrap_or_else(|| outcome.status.to_string())
        )));
    }
    let mut names: Vec<String> = outcome
        .output
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("namespace/"))
        .map(str::to_string)
        .collect();
    names.sort();
    state.namespaces.put(key, names.clone());
    Ok((names, Source::Listed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_forgets_the_oldest_beyond_its_size() {
        let cache = NamespaceCache::default();
        for i in 0..=MAX_ENTRIES {
            cache.put((format!("svc{i}"), "c".into()), vec![format!("ns{i}")]);
        }
        assert_eq!(cache.lock().len(), MAX_ENTRIES);
        assert_eq!(cache.get(&("svc0".into(), "c".into())), None, "the oldest went first");
        assert_eq!(
            cache.get(&(format!("svc{MAX_ENTRIES}"), "c".into())),
            Some(vec![format!("ns{MAX_ENTRIES}")])
        );
    }
}
