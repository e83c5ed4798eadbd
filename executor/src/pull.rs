//! The pull loop: long-polls the cluster's durable consumer for as many commands as there are
//! free slots, fast or slow as the cluster-active watch says, and hands each command to the
//! [`Worker`] in its own task.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::PullConsumer;
use futures::StreamExt;
use kubently_shared::protocol::FetchMode;
use tokio::sync::{Semaphore, watch};

use crate::health::HealthState;
use crate::worker::Worker;

/// Long-polls for up to as many commands as there are free slots. A poll is never abandoned
/// (the server would still deliver to it, and those commands would wait for redelivery), so a mode
/// change applies from the next poll and shutdown waits for the current one: that is what the
/// fast/slow interval bounds. A command arriving during a poll is picked up at once either way.
/// Whether polls succeed is readiness's "consumer" check.
#[allow(clippy::too_many_arguments)]
pub async fn fetch_loop(
    consumer: PullConsumer,
    worker: Arc<Worker>,
    slots: Arc<Semaphore>,
    mode: watch::Receiver<FetchMode>,
    stop: watch::Receiver<bool>,
    fast: Duration,
    slow: Duration,
    health: Arc<HealthState>,
) {
    while !*stop.borrow() {
        // Never take more commands than free slots: the rest stay available to other replicas.
        let Ok(first) = slots.clone().acquire_owned().await else { return };
        let want = slots.available_permits() + 1;
        let expires = if *mode.borrow() == FetchMode::Fast { fast } else { slow };
        let mut batch = match consumer.fetch().max_messages(want).expires(expires).messages().await {
            Ok(b) => {
                health.set_consumer(Ok(()));
                b
            }
            Err(e) => {
                tracing::warn!(error = %e, "fetch failed; retrying");
                health.set_consumer(Err(e.to_string()));
                drop(first);
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let mut permit = Some(first);
        while let Some(msg) = batch.next().await {
            let msg = match msg {
                Ok(m) => m,
                Err(e) => {
                    tracing::debug!(error = %e, "fetch ended");
                    break;
                }
            };
            let slot = match permit.take() {
                Some(p) => p,
                None => match slots.clone().acquire_owned().await {
                    Ok(p) => p,
                    Err(_) => return,
                },
            };
            let worker = worker.clone();
            tokio::spawn(async move {
                worker.handle(msg).await;
                drop(slot);
            });
        }
    }
}
