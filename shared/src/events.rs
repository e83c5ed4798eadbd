//! Publishing events (`KUBENTLY_EVENTS`): transient failures (a leader election) are retried for
//! up to [`EVENT_PATIENCE`] with the same message id. [`EventPublisher::publish_deduplicated`]
//! awaits the JetStream ack in a background task and logs what still fails, so a slow stream
//! never slows a command; [`EventPublisher::store_deduplicated`] returns once the event is stored,
//! for a writer that must not finish its work (ack a command) before its event is stored.

use crate::names::{HEADER_MSG_ID, Names};
use crate::protocol::{self, Event};
use async_nats::HeaderMap;
use async_nats::jetstream;

/// How long an event is retried.
pub const EVENT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Clone)]
pub struct EventPublisher {
    js: jetstream::Context,
    names: Names,
}

impl EventPublisher {
    pub fn new(js: jetstream::Context, names: Names) -> Self {
        Self { js, names }
    }

    pub fn publish(&self, event: Event) {
        let id = event.id.to_string();
        self.publish_deduplicated(event, id);
    }

    /// `msg_id` becomes `Nats-Msg-Id`: the stream stores one event per id within its window.
    pub fn publish_deduplicated(&self, event: Event, msg_id: String) {
        let this = self.clone();
        tokio::spawn(async move { this.store_deduplicated(event, msg_id).await });
    }

    /// As [`Self::publish_deduplicated`], but returns once the stream stored the event (or the
    /// retries gave up, which is logged).
    pub async fn store_deduplicated(&self, event: Event, msg_id: String) {
        let subject = event.subject_in(&self.names);
        let payload = match protocol::encode(&event) {
            Ok(p) => p,
            Err(e) => return tracing::error!(error = %e, "cannot encode event"),
        };
        let give_up_at = tokio::time::Instant::now() + EVENT_PATIENCE;
        let ack = crate::retry::until(give_up_at, "store an event", || async {
            let mut headers = HeaderMap::new();
            headers.insert(HEADER_MSG_ID, msg_id.as_str());
            self.js.publish_with_headers(subject.clone(), headers, payload.clone()).await?.await
        })
        .await;
        if let Err(e) = ack {
            tracing::warn!(%subject, error = %e, "event not stored");
        }
    }
}
