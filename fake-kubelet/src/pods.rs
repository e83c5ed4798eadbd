//! Pods bound to the node: write their status per scenario behaviour, emit events, finish deletions.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::Notify;
use tracing::{debug, info, warn};

use super::events::create_pod_events;
use super::status::{IpPool, existing_pod_ip, needs_status, pod_status};
use crate::behaviour::{Behaviour, behaviour_for};

/// Don't repeat an action on the same pod more often than this (the watch may lag behind our writes).
const RETRY_AFTER: Duration = Duration::from_secs(3);
/// Resync even without watch events, so failed actions are retried.
const RESYNC_EVERY: Duration = Duration::from_secs(1);
/// Pods handled concurrently per pass.
const CONCURRENCY: usize = 8;

/// What we know about one pod (by uid).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Record {
    /// When we last tried to act on the pod.
    pub last_attempt: Option<Instant>,
    /// Whether all the pod's events exist.
    pub events_done: bool,
}

/// The next thing to do for a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Being deleted: finish the deletion like a kubelet after killing the containers.
    Delete,
    /// Write the status (first time, or it was reset), then the events.
    Apply,
    /// Status already written (e.g. before a restart of the fake kubelet): just remember it.
    Adopt,
    /// Status written but some events failed: retry them.
    Events,
    Nothing,
}

/// Pure decision for one pod.
pub(crate) fn decide(pod: &Pod, record: Option<&Record>, now: Instant) -> Action {
    let cooling =
        record.and_then(|r| r.last_attempt).is_some_and(|t| now.saturating_duration_since(t) < RETRY_AFTER);
    if pod.metadata.deletion_timestamp.is_some() {
        return if cooling { Action::Nothing } else { Action::Delete };
    }
    if needs_status(pod) {
        return if cooling { Action::Nothing } else { Action::Apply };
    }
    match record {
        None => Action::Adopt,
        Some(r) if !r.events_done && !cooling => Action::Events,
        Some(_) => Action::Nothing,
    }
}

struct Reconciler {
    client: kube::Client,
    node: String,
    records: HashMap<String, Record>,
    ips: IpPool,
}

fn uid_of(pod: &Pod) -> Option<&str> {
    pod.metadata.uid.as_deref()
}

fn pod_api(client: &kube::Client, pod: &Pod) -> Api<Pod> {
    Api::namespaced(client.clone(), pod.metadata.namespace.as_deref().unwrap_or("default"))
}

fn pod_key(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.name.as_deref().unwrap_or_default()
    )
}

/// Delete with grace 0 and a uid precondition (a recreated pod of the same name is left alone).
async fn finish_deletion(client: &kube::Client, pod: &Pod) -> anyhow::Result<()> {
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions { uid: pod.metadata.uid.clone(), resource_version: None }),
        ..DeleteParams::default()
    };
    match pod_api(client, pod).delete(name, &params).await {
        Ok(_) => {
            info!(pod = %pod_key(pod), "pod terminated and deleted");
            Ok(())
        }
        Err(kube::Error::Api(status)) if status.is_not_found() || status.is_conflict() => Ok(()),
        Err(err) => Err(err.into()),
    }
}

async fn apply_status(
    client: &kube::Client,
    pod: &Pod,
    behaviour: Behaviour,
    ip: std::net::Ipv4Addr,
) -> anyhow::Result<Pod> {
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let now = OffsetDateTime::now_utc();
    let patch = json!({ "status": pod_status(pod, behaviour, Some(ip), now) });
    let updated =
        pod_api(client, pod).patch_status(name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
    info!(pod = %pod_key(pod), ?behaviour, %ip, "pod status written");
    Ok(updated)
}

/// Outcome of one action, folded back into the records.
struct Outcome {
    uid: String,
    events_done: bool,
}

impl Reconciler {
    fn new(client: kube::Client, node: String) -> Self {
        Self { client, node, records: HashMap::new(), ips: IpPool::default() }
    }

    /// Forget pods that are gone; plan the actions for the rest.
    fn plan(&mut self, pods: &[Arc<Pod>]) -> Vec<(Action, Arc<Pod>, Option<std::net::Ipv4Addr>)> {
        let live: HashSet<String> = pods.iter().filter_map(|p| uid_of(p).map(str::to_owned)).collect();
        self.records.retain(|uid, _| live.contains(uid));
        self.ips.retain(&live);
        let now = Instant::now();
        let mut work = Vec::new();
        for pod in pods {
            let Some(uid) = uid_of(pod) else { continue };
            match decide(pod, self.records.get(uid), now) {
                Action::Nothing => {}
                Action::Adopt => {
                    if let Some(ip) = existing_pod_ip(pod) {
                        self.ips.reserve(uid, ip);
                    }
                    self.records.insert(uid.to_owned(), Record { last_attempt: None, events_done: true });
                    debug!(pod = %pod_key(pod), "adopted pod with existing status");
                }
                action => {
                    let ip = (action == Action::Apply).then(|| match existing_pod_ip(pod) {
                        Some(ip) => {
                            self.ips.reserve(uid, ip);
                            ip
                        }
                        None => self.ips.allocate(uid),
                    });
                    let record = self.records.entry(uid.to_owned()).or_default();
                    record.last_attempt = Some(now);
                    work.push((action, Arc::clone(pod), ip));
                }
            }
        }
        work
    }

    async fn act(
        client: kube::Client,
        node: String,
        action: Action,
        pod: Arc<Pod>,
        ip: Option<std::net::Ipv4Addr>,
    ) -> Option<Outcome> {
        let uid = uid_of(&pod)?.to_owned();
        let behaviour = behaviour_for(&pod);
        let result = match (action, ip) {
            (Action::Delete, _) => finish_deletion(&client, &pod).await.map(|()| None),
            (Action::Apply, Some(ip)) => match apply_status(&client, &pod, behaviour, ip).await {
                Ok(updated) => Ok(Some(
                    create_pod_events(&client, &updated, behaviour, &node, OffsetDateTime::now_utc()).await,
                )),
                Err(err) => Err(err),
            },
            (Action::Events, _) => {
                Ok(Some(create_pod_events(&client, &pod, behaviour, &node, OffsetDateTime::now_utc()).await))
            }
            _ => Ok(None),
        };
        match result {
            Ok(Some(Ok(()))) => Some(Outcome { uid, events_done: true }),
            Ok(Some(Err(err))) => {
                warn!(pod = %pod_key(&pod), error = %format!("{err:#}"), "creating events failed; will retry");
                Some(Outcome { uid, events_done: false })
            }
            Ok(None) => None,
            Err(err) => {
                warn!(pod = %pod_key(&pod), ?action, error = %format!("{err:#}"), "pod action failed; will retry");
                None
            }
        }
    }

    async fn reconcile(&mut self, pods: &[Arc<Pod>]) {
        let work = self.plan(pods);
        if work.is_empty() {
            return;
        }
        let outcomes: Vec<Option<Outcome>> = stream::iter(work)
            .map(|(action, pod, ip)| Self::act(self.client.clone(), self.node.clone(), action, pod, ip))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for outcome in outcomes.into_iter().flatten() {
            if let Some(record) = self.records.get_mut(&outcome.uid) {
                record.events_done = outcome.events_done;
            }
        }
    }
}

/// Watch this node's pods and drive them, forever. Watch errors back off and restart.
pub(crate) async fn pod_loop(client: kube::Client, node: String) {
    let api: Api<Pod> = Api::all(client.clone());
    let config = watcher::Config::default().fields(&format!("spec.nodeName={node}"));
    let (store, writer) = reflector::store::<Pod>();
    let changed = Arc::new(Notify::new());
    let notify = Arc::clone(&changed);
    let watch = watcher(api, config).default_backoff().reflect(writer).for_each(move |event| {
        if let Err(err) = event {
            warn!(error = %err, "pod watch error; restarting watch");
        }
        notify.notify_one();
        futures::future::ready(())
    });
    let drive = drive_pods(store, changed, Reconciler::new(client, node));
    tokio::join!(watch, drive);
}

async fn drive_pods(store: Store<Pod>, changed: Arc<Notify>, mut reconciler: Reconciler) {
    loop {
        tokio::select! {
            () = changed.notified() => {}
            () = tokio::time::sleep(RESYNC_EVERY) => {}
        }
        reconciler.reconcile(&store.state()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(status: serde_json::Value, deleting: bool) -> Pod {
        let mut meta = json!({ "name": "p", "namespace": "default", "uid": "u1" });
        if deleting {
            meta["deletionTimestamp"] = json!("2026-11-21T17:00:00Z");
        }
        serde_json::from_value(
            json!({ "metadata": meta, "spec": { "containers": [{ "name": "c" }] }, "status": status }),
        )
        .expect("valid pod")
    }

    fn applied() -> serde_json::Value {
        json!({ "phase": "Running", "hostIP": "127.0.0.1", "containerStatuses": [{ "name": "c", "image": "x", "imageID": "", "ready": true, "restartCount": 0 }] })
    }

    #[test]
    fn new_pods_get_a_status() {
        let now = Instant::now();
        let fresh = pod(json!({ "phase": "Pending", "qosClass": "BestEffort" }), false);
        assert_eq!(decide(&fresh, None, now), Action::Apply);
        let recent = Record { last_attempt: Some(now), events_done: true };
        assert_eq!(decide(&fresh, Some(&recent), now), Action::Nothing, "waits for the watch to catch up");
        assert_eq!(
            decide(&fresh, Some(&recent), now + RETRY_AFTER),
            Action::Apply,
            "re-applies a reset status"
        );
    }

    #[test]
    fn applied_pods_are_left_alone_or_adopted() {
        let now = Instant::now();
        let done = pod(applied(), false);
        assert_eq!(decide(&done, None, now), Action::Adopt);
        let ok = Record { last_attempt: Some(now), events_done: true };
        assert_eq!(decide(&done, Some(&ok), now + RETRY_AFTER), Action::Nothing);
        let missing_events = Record { last_attempt: Some(now), events_done: false };
        assert_eq!(decide(&done, Some(&missing_events), now), Action::Nothing);
        assert_eq!(decide(&done, Some(&missing_events), now + RETRY_AFTER), Action::Events);
    }

    #[test]
    fn deleting_pods_are_deleted() {
        let now = Instant::now();
        let gone = pod(applied(), true);
        assert_eq!(decide(&gone, None, now), Action::Delete);
        let tried = Record { last_attempt: Some(now), events_done: true };
        assert_eq!(decide(&gone, Some(&tried), now), Action::Nothing);
        assert_eq!(decide(&gone, Some(&tried), now + RETRY_AFTER), Action::Delete);
    }
}
