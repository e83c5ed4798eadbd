//! Which executors are connected, kept current by watching the executors bucket (per-key TTL:
//! an executor that stops heartbeating expires). Also the set of clusters ever seen, for 404s
//! that list the known clusters. Emits `cluster.connected` / `cluster.disconnected`; several
//! gateway replicas emit the same event with the same `Nats-Msg-Id`, so JetStream keeps one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use async_nats::jetstream::kv::{self, Operation};
use futures::StreamExt;
use kubently_shared::protocol::{self, Event, EventType, ExecutorInfo};
use serde_json::json;

use crate::metrics::Metrics;
use kubently_shared::events::EventPublisher;

#[derive(Default)]
struct Inner {
    /// cluster → executor id → latest heartbeat.
    live: BTreeMap<String, BTreeMap<String, ExecutorInfo>>,
    /// Every cluster with a record in the clusters bucket (or a live executor).
    known: BTreeSet<String>,
}

#[derive(Clone, Default)]
pub struct Registry {
    inner: Arc<RwLock<Inner>>,
}

impl Registry {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn is_connected(&self, cluster: &str) -> bool {
        self.read().live.get(cluster).is_some_and(|e| !e.is_empty())
    }

    pub fn is_known(&self, cluster: &str) -> bool {
        let inner = self.read();
        inner.known.contains(cluster) || inner.live.contains_key(cluster)
    }

    pub fn known_clusters(&self) -> Vec<String> {
        let inner = self.read();
        inner.known.iter().chain(inner.live.keys()).cloned().collect::<BTreeSet<_>>().into_iter().collect()
    }

    /// Live executors of a cluster, newest heartbeat first.
    pub fn executors(&self, cluster: &str) -> Vec<ExecutorInfo> {
        let mut list: Vec<ExecutorInfo> =
            self.read().live.get(cluster).map(|m| m.values().cloned().collect()).unwrap_or_default();
        list.sort_by_key(|e| std::cmp::Reverse(e.last_seen));
        list
    }

    pub fn connected_count(&self) -> usize {
        self.read().live.values().map(BTreeMap::len).sum()
    }

    /// Follows the clusters bucket (every cluster ever seen).
    pub async fn watch_clusters(self, clusters: kv::Store) {
        let mut watch = match clusters.watch_with_history(">").await {
            Ok(w) => w,
            Err(e) => {
                return tracing::error!(error = %e, "cannot watch the clusters bucket; 404s will not list clusters");
            }
        };
        while let Some(entry) = watch.next().await {
            match entry {
                Ok(e) if e.operation == Operation::Put => {
                    self.write().known.insert(e.key);
                }
                Ok(e) => {
                    self.write().known.remove(&e.key);
                }
                Err(e) => tracing::warn!(error = %e, "clusters watch error"),
            }
        }
    }

    /// Follows executor heartbeats; keys are `<cluster>.<executor id>`.
    pub async fn watch_executors(self, executors: kv::Store, events: EventPublisher, metrics: Arc<Metrics>) {
        let mut watch = match executors.watch_with_history(">").await {
            Ok(w) => w,
            Err(e) => {
                return tracing::error!(error = %e, "cannot watch the executors bucket; clusters will look disconnected");
            }
        };
        while let Some(entry) = watch.next().await {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!(error = %e, "executors watch error");
                    continue;
                }
            };
            let Some((cluster, executor_id)) = entry.key.split_once('.') else { continue };
            let (cluster, executor_id) = (cluster.to_string(), executor_id.to_string());
            let change = match entry.operation {
                Operation::Put => match protocol::decode::<ExecutorInfo>(&entry.value) {
                    Ok(info) => self.update(&cluster, executor_id, Some(info)),
                    Err(e) => {
                        tracing::warn!(key = %entry.key, error = %e, "undecodable executor heartbeat");
                        None
                    }
                },
                Operation::Delete | Operation::Purge => self.update(&cluster, executor_id, None),
            };
            metrics.connected_executors.set(self.connected_count() as i64);
            if let Some(event_type) = change {
                tracing::info!(cluster_id = %cluster, event = event_type.as_str(), "cluster presence changed");
                let event = Event::new(
                    event_type,
                    &cluster,
                    json!({"cluster_id": cluster, "revision": entry.revision}),
                    time::OffsetDateTime::now_utc(),
                );
                // Same revision on every replica → the same message id → one event.
                events.publish_deduplicated(
                    event,
                    format!("{}.{}.{}", event_type.as_str(), cluster, entry.revision),
                );
            }
        }
    }

    /// Applies one heartbeat or departure; returns the presence event it causes, if any.
    fn update(&self, cluster: &str, executor_id: String, info: Option<ExecutorInfo>) -> Option<EventType> {
        let mut inner = self.write();
        let was_connected = inner.live.get(cluster).is_some_and(|e| !e.is_empty());
        match info {
            Some(info) => {
                inner.known.insert(cluster.to_string());
                inner.live.entry(cluster.to_string()).or_default().insert(executor_id, info);
            }
            None => {
                if let Some(execs) = inner.live.get_mut(cluster) {
                    execs.remove(&executor_id);
                }
            }
        }
        let connected = inner.live.get(cluster).is_some_and(|e| !e.is_empty());
        match (was_connected, connected) {
            (false, true) => Some(EventType::ClusterConnected),
            (true, false) => Some(EventType::ClusterDisconnected),
            _ => None,
        }
    }
}
