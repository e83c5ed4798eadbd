//! Marks clusters active in the cluster-active bucket (per-key TTL), which switches their
//! executors to the fast fetch interval at once. Writes are skipped while the key we last wrote
//! still has more than half its TTL left, and never shorten a longer TTL we wrote (a sessionless
//! call during a long session), so the hot path rarely touches NATS for this.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv};
use kubently_shared::kv_ttl;
use serde_json::json;

#[derive(Clone)]
pub struct ClusterActivity {
    js: jetstream::Context,
    store: kv::Store,
    /// cluster → (written at, TTL written).
    written: Arc<Mutex<HashMap<String, (Instant, Duration)>>>,
}

impl ClusterActivity {
    pub fn new(js: jetstream::Context, store: kv::Store) -> Self {
        Self { js, store, written: Arc::default() }
    }

    /// Ensures `cluster` stays active for at least `ttl`; the write (if any) runs in the background.
    pub fn mark(&self, cluster: &str, ttl: Duration) {
        let now = Instant::now();
        {
            let mut written = self.written.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            // Remaining ≥ ttl/2: either fresh enough, or longer than `ttl` (writing would shorten it).
            if let Some((at, old_ttl)) = written.get(cluster)
                && *at + *old_ttl >= now + ttl / 2
            {
                return;
            }
            written.insert(cluster.to_string(), (now, ttl));
        }
        let (js, store, cluster) = (self.js.clone(), self.store.clone(), cluster.to_string());
        tokio::spawn(async move {
            let value = json!({"active_until_unix": time::OffsetDateTime::now_utc().unix_timestamp() + ttl.as_secs() as i64}).to_string();
            if let Err(e) = kv_ttl::put_with_ttl(&js, &store, &cluster, value.into(), ttl).await {
                tracing::warn!(cluster_id = %cluster, error = %e, "could not mark the cluster active");
            }
        });
    }
}
