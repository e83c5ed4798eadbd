//! Fast or slow fetching, following the cluster-active key: the gateway sets it (per-key TTL) on
//! every session and execute; its expiry or deletion switches back to slow at once.

use std::time::Duration;

use async_nats::jetstream::kv::{self, Operation};
use futures::StreamExt;
use kubently_shared::protocol::FetchMode;
use tokio::sync::watch;

/// Watches `cluster_id`'s key and publishes the mode; retries the watch if it breaks.
pub async fn follow(store: kv::Store, cluster_id: String, tx: watch::Sender<FetchMode>) {
    loop {
        match store.watch_with_history(&cluster_id).await {
            Ok(mut w) => {
                while let Some(entry) = w.next().await {
                    let mode = match entry {
                        Ok(e) if e.operation == Operation::Put => FetchMode::Fast,
                        Ok(_) => FetchMode::Slow,
                        Err(e) => {
                            tracing::warn!(error = %e, "cluster-active watch error");
                            continue;
                        }
                    };
                    if *tx.borrow() != mode {
                        tracing::info!(?mode, "fetch mode changed");
                    }
                    tx.send_replace(mode);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot watch the cluster-active key; retrying"),
        }
        if tx.is_closed() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
