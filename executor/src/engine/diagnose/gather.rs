//! Reading the cluster for `diagnose`: every list it needs, at once (`futures::join!`), each
//! bounded by the command's deadline, through discovery (the versions a server serves differ:
//! CronJob is `batch/v1beta1` on 1.20, HPA conditions need `autoscaling/v2` or `v2beta2`) and the
//! executor's policy. A list that fails (forbidden, not served, restricted, too slow) becomes a
//! [`Gap`] and the rest is still analysed. Only GET requests are made; Secrets are never read.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Event, Node, PersistentVolumeClaim, Pod, ResourceQuota, Service};
use kube::api::{Api, LogParams};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::super::context::Context;
use super::super::{EngineError, http};
use super::finding::{Checked, Gap};

/// Stop waiting for the API server this long before the command's deadline, so that the
/// findings (and what could not be checked) still make it back.
const ANSWER_MARGIN: Duration = Duration::from_millis(800);
/// Without a deadline (tests, tools), give the lists this long.
const DEFAULT_PATIENCE: Duration = Duration::from_secs(20);
/// Lines of a container's log read for evidence (compacted and cut further before printing).
pub const LOG_TAIL_LINES: i64 = 60;
const LOG_LIMIT_BYTES: i64 = 64 * 1024;
/// Logs read at most per diagnose (the rest of the findings point at `logs`).
pub const MAX_LOG_READS: usize = 6;

/// Everything the analyzers look at.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub pods: Vec<Pod>,
    pub events: Vec<Event>,
    pub deployments: Vec<Deployment>,
    pub statefulsets: Vec<StatefulSet>,
    pub daemonsets: Vec<DaemonSet>,
    pub replicasets: Vec<ReplicaSet>,
    pub jobs: Vec<Job>,
    pub cronjobs: Vec<CronJob>,
    /// As JSON: `autoscaling/v2`, `v2beta2` or `v1` (whose conditions are an annotation).
    pub hpas: Vec<Value>,
    pub services: Vec<Service>,
    /// As JSON: `networking.k8s.io/v1` or the older `v1beta1` shapes.
    pub ingresses: Vec<Value>,
    pub pvcs: Vec<PersistentVolumeClaim>,
    pub quotas: Vec<ResourceQuota>,
    pub nodes: Vec<Node>,
    /// Container logs read for evidence.
    pub logs: HashMap<LogKey, Result<String, String>>,
    pub checked: Vec<Checked>,
    pub gaps: Vec<Gap>,
}

/// One container log read for evidence.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogKey {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    /// `--previous`: the run that crashed.
    pub previous: bool,
}

/// Which API resource to list: group, plural, and the versions to prefer (empty: the server's
/// preferred one).
struct Spec {
    group: &'static str,
    plural: &'static str,
    versions: &'static [&'static str],
}

const fn spec(group: &'static str, plural: &'static str, versions: &'static [&'static str]) -> Spec {
    Spec { group, plural, versions }
}

/// When to stop waiting: shortly before the command's deadline.
pub fn patience(ctx: &Context<'_>) -> Instant {
    match ctx.opts.deadline {
        Some(deadline) => {
            let left = deadline.saturating_duration_since(Instant::now());
            deadline - ANSWER_MARGIN.min(left / 4)
        }
        None => Instant::now() + DEFAULT_PATIENCE,
    }
}

/// Lists everything in `namespace` (`None`: all namespaces) at once.
pub async fn read(ctx: &Context<'_>, namespace: Option<&str>, until: Instant) -> Snapshot {
    let ns = namespace;
    let (pods, events, deployments, statefulsets, daemonsets, replicasets, jobs) = futures::join!(
        list::<Pod>(ctx, spec("", "pods", &["v1"]), ns, until),
        list::<Event>(ctx, spec("", "events", &["v1"]), ns, until),
        list::<Deployment>(ctx, spec("apps", "deployments", &["v1"]), ns, until),
        list::<StatefulSet>(ctx, spec("apps", "statefulsets", &["v1"]), ns, until),
        list::<DaemonSet>(ctx, spec("apps", "daemonsets", &["v1"]), ns, until),
        list::<ReplicaSet>(ctx, spec("apps", "replicasets", &["v1"]), ns, until),
        list::<Job>(ctx, spec("batch", "jobs", &["v1"]), ns, until),
    );
    let (cronjobs, hpas, services, ingresses, pvcs, quotas, nodes) = futures::join!(
        list::<CronJob>(ctx, spec("batch", "cronjobs", &["v1", "v1beta1"]), ns, until),
        list::<Value>(
            ctx,
            spec("autoscaling", "horizontalpodautoscalers", &["v2", "v2beta2", "v1"]),
            ns,
            until
        ),
        list::<Service>(ctx, spec("", "services", &["v1"]), ns, until),
        list::<Value>(ctx, spec("networking.k8s.io", "ingresses", &["v1", "v1beta1"]), ns, until),
        list::<PersistentVolumeClaim>(ctx, spec("", "persistentvolumeclaims", &["v1"]), ns, until),
        list::<ResourceQuota>(ctx, spec("", "resourcequotas", &["v1"]), ns, until),
        list::<Node>(ctx, spec("", "nodes", &["v1"]), None, until),
    );
    let mut s = Snapshot::default();
    s.pods = take(&mut s, pods);
    s.events = take(&mut s, events);
    s.deployments = take(&mut s, deployments);
    s.statefulsets = take(&mut s, statefulsets);
    s.daemonsets = take(&mut s, daemonsets);
    s.replicasets = take(&mut s, replicasets);
    s.jobs = take(&mut s, jobs);
    s.cronjobs = take(&mut s, cronjobs);
    s.hpas = take(&mut s, hpas);
    s.services = take(&mut s, services);
    s.ingresses = take(&mut s, ingresses);
    s.pvcs = take(&mut s, pvcs);
    s.quotas = take(&mut s, quotas);
    s.nodes = take(&mut s, nodes);
    s
}

/// One list's outcome.
struct Listed<T> {
    resource: &'static str,
    items: Result<Vec<T>, String>,
    /// Items that did not decode (counted, not fatal).
    undecodable: usize,
}

fn take<T>(s: &mut Snapshot, listed: Listed<T>) -> Vec<T> {
    if listed.undecodable > 0 {
        s.gaps.push(Gap {
            what: listed.resource.to_string(),
            reason: format!("{} objects could not be decoded and were skipped", listed.undecodable),
        });
    }
    match listed.items {
        Ok(items) => {
            s.checked.push(Checked { resource: listed.resource, count: items.len() });
            items
        }
        Err(reason) => {
            s.gaps.push(Gap { what: listed.resource.to_string(), reason });
            Vec::new()
        }
    }
}

async fn list<T: DeserializeOwned>(
    ctx: &Context<'_>,
    spec: Spec,
    namespace: Option<&str>,
    until: Instant,
) -> Listed<T> {
    let resource = spec.plural;
    let work = async {
        let found = find(ctx, &spec).await?;
        let Some(info) = found else {
            return Err("not served by this API server".to_string());
        };
        if !info.supports("list") {
            return Err("the API server does not allow listing it".to_string());
        }
        let path = http::collection_path(&info, namespace).map_err(|e| e.to_string())?;
        let body = http::get_json(ctx.client, &path, http::ACCEPT_JSON).await.map_err(|e| reason_of(&e))?;
        Ok(body)
    };
    let body = match tokio::time::timeout_at(until.into(), work).await {
        Ok(Ok(body)) => body,
        Ok(Err(reason)) => return Listed { resource, items: Err(reason), undecodable: 0 },
        Err(_) => {
            return Listed {
                resource,
                items: Err("the API server did not answer before the command's deadline".into()),
                undecodable: 0,
            };
        }
    };
    let (items, undecodable) = decode_items(body);
    Listed { resource, items: Ok(items), undecodable }
}

/// The items of a list body, each without `apiVersion`/`kind` (so that a `v1beta1` CronJob reads
/// as the `v1` shape it shares).
fn decode_items<T: DeserializeOwned>(body: Value) -> (Vec<T>, usize) {
    let Value::Object(mut body) = body else { return (Vec::new(), 0) };
    let Some(Value::Array(items)) = body.remove("items") else { return (Vec::new(), 0) };
    let mut out = Vec::with_capacity(items.len());
    let mut bad = 0;
    for mut item in items {
        if let Value::Object(map) = &mut item {
            map.remove("apiVersion");
            map.remove("kind");
        }
        match serde_json::from_value(item) {
            Ok(v) => out.push(v),
            Err(_) => bad += 1,
        }
    }
    (out, bad)
}

async fn find(ctx: &Context<'_>, spec: &Spec) -> Result<Option<super::super::ApiResourceInfo>, String> {
    for version in spec.versions {
        let found = ctx
            .resolver
            .find(|r| r.group == spec.group && r.plural == spec.plural && r.version == *version)
            .await
            .map_err(|e| reason_of(&e))?;
        if found.is_some() {
            return Ok(found);
        }
    }
    ctx.resolver.find(|r| r.group == spec.group && r.plural == spec.plural).await.map_err(|e| reason_of(&e))
}

/// Why a read failed, in a few words an agent can act on.
fn reason_of(e: &EngineError) -> String {
    match e {
        EngineError::Api { code: 403, message, .. } => format!("forbidden (RBAC): {message}"),
        EngineError::Restricted(_) => "restricted by the executor's policy (restricted_resources)".into(),
        EngineError::DeadlineExceeded => "the API server did not answer before the command's deadline".into(),
        other => other.to_string(),
    }
}

/// Whether `namespace` exists: `Some(false)` only when the API server says NotFound (a
/// namespace the identity may not read, or a slow answer, is `None`: not known).
pub async fn namespace_exists(ctx: &Context<'_>, namespace: &str, until: Instant) -> Option<bool> {
    ctx.resolver.check("namespaces", "").ok()?;
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(ctx.client.clone());
    match tokio::time::timeout_at(until.into(), api.get_opt(namespace)).await {
        Ok(Ok(found)) => Some(found.is_some()),
        _ => None,
    }
}

/// Reads the logs `wanted` (at most [`MAX_LOG_READS`]) at once, each the last
/// [`LOG_TAIL_LINES`] lines, into the snapshot; failures are kept as the reason.
pub async fn read_logs(ctx: &Context<'_>, snapshot: &mut Snapshot, wanted: Vec<LogKey>, until: Instant) {
    if wanted.is_empty() {
        return;
    }
    if let Err(e) = ctx.resolver.check("pods", "") {
        for key in wanted {
            snapshot.logs.insert(key, Err(reason_of(&e)));
        }
        return;
    }
    let reads = wanted.into_iter().take(MAX_LOG_READS).map(|key| async move {
        let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &key.namespace);
        let params = LogParams {
            container: Some(key.container.clone()),
            previous: key.previous,
            tail_lines: Some(LOG_TAIL_LINES),
            limit_bytes: Some(LOG_LIMIT_BYTES),
            ..LogParams::default()
        };
        let text = match tokio::time::timeout_at(until.into(), api.logs(&key.pod, &params)).await {
            Ok(Ok(text)) => Ok(text),
            Ok(Err(e)) => Err(reason_of(&EngineError::from(e))),
            Err(_) => Err("the API server did not answer before the command's deadline".to_string()),
        };
        (key, text)
    });
    for (key, text) in futures::future::join_all(reads).await {
        snapshot.logs.insert(key, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_items_decode_whatever_version_named_them() {
        let body = json!({"kind": "CronJobList", "items": [
            {"apiVersion": "batch/v1beta1", "kind": "CronJob", "metadata": {"name": "a"}, "spec": {"schedule": "* * * * *", "jobTemplate": {}}},
            {"metadata": {"name": "b"}},
            {"metadata": "not an object"},
        ]});
        let (items, bad) = decode_items::<CronJob>(body);
        let names: Vec<_> = items.iter().filter_map(|c| c.metadata.name.as_deref()).collect();
        assert_eq!((names, bad), (vec!["a", "b"], 1));
        assert_eq!(decode_items::<CronJob>(json!("x")).0.len(), 0);
    }

    #[test]
    fn reasons_name_rbac_and_policy() {
        let e =
            EngineError::Api { code: 403, reason: "Forbidden".into(), message: "nodes is forbidden".into() };
        assert_eq!(reason_of(&e), "forbidden (RBAC): nodes is forbidden");
        assert!(reason_of(&EngineError::DeadlineExceeded).contains("deadline"));
    }
}
