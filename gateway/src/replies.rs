//! Replies from executors: one subscription on `kubently.reply.*.<instance>.*` for the whole
//! gateway, and one on `kubently.stored.>`, where nats-server republishes every record the results
//! bucket accepts (so a final result reaches the gateway one hop after it is stored, and only if
//! it was stored: an executor told `reply_from_store` sends no reply of its own). Both are routed
//! to the waiting request by command id. Registering before publishing means a reply can never
//! arrive before its waiter exists.
//!
//! A reply counts only if it comes from the command's cluster: its subject names the cluster
//! (`kubently.reply.<cluster>.…`, which NATS lets only that cluster's executors publish to) and
//! the result names the same cluster and command, and echoes the signature of the very message
//! this gateway published. An executor of another cluster cannot answer for this one, and an
//! executor's refusal of a forged or replayed copy does not end the real command.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use kubently_shared::names;
use kubently_shared::protocol::{self, CommandResult};
use tokio::sync::oneshot;
use uuid::Uuid;

struct Pending {
    cluster_id: String,
    signature: String,
    tx: oneshot::Sender<Answer>,
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The executor's own reply, already fitted to the command's output budget.
    Reply,
    /// The final result as the results bucket stored and republished it: the full output (up to
    /// [`kubently_shared::budget::MAX_STORED_BYTES`]), to be fitted to the budget.
    Store,
}

/// A command's final result and where it came from.
#[derive(Debug)]
pub struct Answer {
    pub result: CommandResult,
    pub via: Via,
}

#[derive(Clone, Default)]
pub struct ReplyRouter {
    waiting: Arc<Mutex<HashMap<Uuid, Pending>>>,
}

/// Removes its entry if the request gives up (timeout, client gone) before the reply arrives.
pub struct Waiter {
    id: Uuid,
    rx: oneshot::Receiver<Answer>,
    router: ReplyRouter,
}

impl Waiter {
    /// The executor's result, or `None` when `deadline` passes first.
    pub async fn wait(mut self, deadline: tokio::time::Instant) -> Option<Answer> {
        tokio::time::timeout_at(deadline, &mut self.rx).await.ok().and_then(Result::ok)
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.router.lock().remove(&self.id);
    }
}

impl ReplyRouter {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Pending>> {
        // A poisoned map only means a panic elsewhere mid-insert; the map itself is still sound.
        self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for the reply to command `id` of `cluster_id`, published with `signature`.
    pub fn register(&self, cluster_id: &str, id: Uuid, signature: &str) -> Waiter {
        let (tx, rx) = oneshot::channel();
        let pending = Pending { cluster_id: cluster_id.to_string(), signature: signature.to_string(), tx };
        self.lock().insert(id, pending);
        Waiter { id, rx, router: self.clone() }
    }

    pub fn waiting(&self) -> usize {
        self.lock().len()
    }

    /// Routes replies and republished results (when subscribed) until the subscriptions end.
    pub async fn run(self, replies: async_nats::Subscriber, stored: Option<async_nats::Subscriber>) {
        let replies = replies.map(|msg| (Via::Reply, msg));
        let stored = futures::stream::iter(stored).flatten().map(|msg| (Via::Store, msg));
        let mut both = futures::stream::select(replies, stored);
        while let Some((via, msg)) = both.next().await {
            self.route(via, &msg);
        }
        tracing::warn!("reply subscriptions ended");
    }

    fn route(&self, via: Via, msg: &async_nats::Message) {
        let sender = match via {
            Via::Reply => names::reply_subject_cluster(&msg.subject),
            Via::Store => {
                let Some((cluster, id)) = names::stored_subject_key(&msg.subject) else { return };
                // Most records are awaited by nobody here (pending records, expiry markers, other
                // gateways' commands): they are skipped before anything is decoded.
                let awaited = Uuid::parse_str(id).is_ok_and(|id| self.lock().contains_key(&id));
                if !awaited || msg.payload.is_empty() {
                    return;
                }
                Some(cluster)
            }
        };
        let result = match protocol::decode::<CommandResult>(&msg.payload) {
            Ok(result) => result,
            Err(e) => {
                tracing::warn!(subject = %msg.subject, error = %e, "undecodable reply");
                return;
            }
        };
        if via == Via::Store && !result.status.is_final() {
            return;
        }
        let mut waiting = self.lock();
        match waiting.get(&result.command_id) {
            Some(p)
                if sender == Some(p.cluster_id.as_str())
                    && result.cluster_id == p.cluster_id
                    && result.command_signature.as_deref() == Some(p.signature.as_str()) =>
            {
                if let Some(p) = waiting.remove(&result.command_id) {
                    let _ = p.tx.send(Answer { result, via });
                }
            }
            // A stored record without this signature: an older executor's (it replies itself).
            Some(_) if via == Via::Store => {
                tracing::debug!(command_id = %result.command_id, "stored result without this gateway's signature")
            }
            Some(p) => tracing::warn!(
                subject = %msg.subject,
                command_id = %result.command_id,
                expected_cluster = %p.cluster_id,
                result_cluster = %result.cluster_id,
                error = result.error.as_deref().unwrap_or(""),
                "ignored a reply that does not answer the message this gateway signed (another \
                 cluster's, or the refusal of a forged or replayed copy)"
            ),
            None => {
                tracing::debug!(command_id = %result.command_id, "reply for a request that is no longer waiting")
            }
        }
    }
}
