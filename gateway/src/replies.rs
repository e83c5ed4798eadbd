//! Replies from executors: one subscription on `kubently.reply.<instance>.*` for the whole
//! gateway, routed to the waiting request by command id. Registering before publishing means a
//! reply can never arrive before its waiter exists.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use kubently_shared::protocol::{self, CommandResult};
use tokio::sync::oneshot;
use uuid::Uuid;

#[derive(Clone, Default)]
pub struct ReplyRouter {
    waiting: Arc<Mutex<HashMap<Uuid, oneshot::Sender<CommandResult>>>>,
}

/// Removes its entry if the request gives up (timeout, client gone) before the reply arrives.
pub struct Waiter {
    id: Uuid,
    rx: oneshot::Receiver<CommandResult>,
    router: ReplyRouter,
}

impl Waiter {
    /// The executor's result, or `None` when `deadline` passes first.
    pub async fn wait(mut self, deadline: tokio::time::Instant) -> Option<CommandResult> {
        tokio::time::timeout_at(deadline, &mut self.rx).await.ok().and_then(Result::ok)
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.router.lock().remove(&self.id);
    }
}

impl ReplyRouter {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, oneshot::Sender<CommandResult>>> {
        // A poisoned map only means a panic elsewhere mid-insert; the map itself is still sound.
        self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn register(&self, id: Uuid) -> Waiter {
        let (tx, rx) = oneshot::channel();
        self.lock().insert(id, tx);
        Waiter { id, rx, router: self.clone() }
    }

    pub fn waiting(&self) -> usize {
        self.lock().len()
    }

    /// Routes replies until the subscription ends.
    pub async fn run(self, mut replies: async_nats::Subscriber) {
        while let Some(msg) = replies.next().await {
            match protocol::decode::<CommandResult>(&msg.payload) {
                Ok(result) => match self.lock().remove(&result.command_id) {
                    Some(tx) => {
                        let _ = tx.send(result);
                    }
                    None => {
                        tracing::debug!(command_id = %result.command_id, "reply for a request that is no longer waiting")
                    }
                },
                Err(e) => tracing::warn!(subject = %msg.subject, error = %e, "undecodable reply"),
            }
        }
        tracing::warn!("reply subscription ended");
    }
}
