//! Presence: a heartbeat into the executors bucket (per-key TTL = 3 beats, so a dead executor
//! disappears by itself), the cluster's entry in the clusters bucket, and a clean goodbye
//! (delete) on shutdown so the gateway reports the disconnect at once.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use kubently_shared::kv_ttl;
use kubently_shared::protocol::{self, ExecutorInfo, FetchMode};
use kubently_shared::provision::ExecutorBuckets;
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::{Semaphore, watch};

pub struct Presence {
    pub js: jetstream::Context,
    pub buckets: ExecutorBuckets,
    pub key: String,
    pub info: ExecutorInfo,
    pub interval: Duration,
    pub concurrency: usize,
}

impl Presence {
    /// Records the cluster as known (first writer wins; later executors leave it alone).
    pub async fn register_cluster(&self) {
        let value = json!({"cluster_id": self.info.cluster_id, "first_seen": protocol_time(OffsetDateTime::now_utc())}).to_string();
        match kv_ttl::create(&self.js, &self.buckets.clusters, &self.info.cluster_id, value.into()).await {
            Ok(_) => tracing::info!(cluster_id = %self.info.cluster_id, "registered a new cluster"),
            Err(kubently_shared::Error::KeyExists { .. }) => {}
            Err(e) => tracing::warn!(error = %e, "could not register the cluster"),
        }
    }

    async fn beat(&self, info: &ExecutorInfo) {
        let ttl = self.interval * 3;
        match protocol::encode(info) {
            Ok(value) => {
                if let Err(e) =
                    kv_ttl::put_with_ttl(&self.js, &self.buckets.executors, &self.key, value, ttl).await
                {
                    tracing::warn!(error = %e, "heartbeat failed");
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot encode the heartbeat"),
        }
    }

    /// Beats every interval (and at once on a mode change) until `stop` is set, then says
    /// goodbye. If its owner vanishes instead (a crash), it just ends: the key expires by itself.
    pub async fn run(
        self,
        mut mode: watch::Receiver<FetchMode>,
        slots: Arc<Semaphore>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut info = self.info.clone();
        let mut tick = tokio::time::interval(self.interval);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                changed = mode.changed() => if changed.is_err() { return },
                changed = stop.changed() => match changed {
                    Ok(()) if *stop.borrow() => break,
                    Ok(()) => continue,
                    Err(_) => return,
                },
            }
            info.last_seen = OffsetDateTime::now_utc();
            info.mode = *mode.borrow();
            info.in_flight = (self.concurrency - slots.available_permits()) as u32;
            self.beat(&info).await;
        }
        match kv_ttl::delete(&self.js, &self.buckets.executors, &self.key).await {
            Ok(()) => tracing::info!("left the executors registry"),
            Err(e) => tracing::warn!(error = %e, "could not leave the registry; it will expire"),
        }
    }
}

fn protocol_time(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}
