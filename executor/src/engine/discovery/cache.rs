//! The engine's discovery cache: read once, reused by every command, refreshed when it is old or
//! when a name does not resolve (a CRD installed since), at most once per miss. Reads go through
//! the client of the command that needs them (on an impersonating cluster, as its caller).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::{ApiResourceInfo, ResourceIndex, fetch, reported_name};
use crate::engine::EngineError;

/// An index older than this is re-read before use.
const MAX_AGE: Duration = Duration::from_secs(600);
/// A miss re-reads discovery only if the index is at least this old, so a burst of typos does
/// not turn into a burst of discovery reads.
const MIN_REFRESH_AGE: Duration = Duration::from_secs(2);

#[derive(Debug)]
struct Snapshot {
    index: Arc<ResourceIndex>,
    read_at: Instant,
}

/// Shared, lazily filled discovery for one cluster. Refreshes are single-flight.
#[derive(Default)]
pub struct DiscoveryCache {
    current: Mutex<Option<Snapshot>>,
}

impl std::fmt::Debug for DiscoveryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscoveryCache").finish_non_exhaustive()
    }
}

impl DiscoveryCache {
    /// The current index, read from the server first if there is none or it is too old.
    pub async fn index(&self, client: &kube::Client) -> Result<Arc<ResourceIndex>, EngineError> {
        let mut current = self.current.lock().await;
        match current.as_ref() {
            Some(s) if s.read_at.elapsed() < MAX_AGE => Ok(s.index.clone()),
            _ => read(client, &mut current).await,
        }
    }

    /// Re-reads discovery if `seen` is still the current index and old enough; returns the
    /// (possibly) newer index.
    pub async fn refresh(
        &self,
        client: &kube::Client,
        seen: &Arc<ResourceIndex>,
    ) -> Result<Arc<ResourceIndex>, EngineError> {
        let mut current = self.current.lock().await;
        match current.as_ref() {
            Some(s) if !Arc::ptr_eq(&s.index, seen) || s.read_at.elapsed() < MIN_REFRESH_AGE => {
                Ok(s.index.clone())
            }
            _ => read(client, &mut current).await,
        }
    }

    /// Resolves a typed resource name, refreshing once on a miss.
    pub async fn resolve(&self, client: &kube::Client, typed: &str) -> Result<ApiResourceInfo, EngineError> {
        self.lookup(client, |index| index.resolve(typed).cloned())
            .await?
            .ok_or_else(|| EngineError::UnknownResource { resource: reported_name(typed) })
    }

    /// Runs `f` on the index; when it finds nothing, refreshes once and runs it again.
    pub async fn lookup<T>(
        &self,
        client: &kube::Client,
        f: impl Fn(&ResourceIndex) -> Option<T>,
    ) -> Result<Option<T>, EngineError> {
        let index = self.index(client).await?;
        if let Some(found) = f(&index) {
            return Ok(Some(found));
        }
        let index = self.refresh(client, &index).await?;
        Ok(f(&index))
    }
}

async fn read(client: &kube::Client, slot: &mut Option<Snapshot>) -> Result<Arc<ResourceIndex>, EngineError> {
    let index = Arc::new(fetch::discover(client).await?);
    *slot = Some(Snapshot { index: index.clone(), read_at: Instant::now() });
    Ok(index)
}
