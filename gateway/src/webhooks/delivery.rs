//! The delivery loop of one subscription: pull events from its durable consumer, post each,
//! then ack (2xx), unsubscribe (410), nak with the backoff delay, or dead-letter after the last
//! attempt. Every replica runs the loop on the same consumer, so they share the work and an
//! event is only re-sent if an attempt failed or its gateway died before acking.

use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::{self, AckKind};
use futures::TryStreamExt;
use kubently_shared::protocol::{self, Event};
use kubently_shared::provision;
use time::OffsetDateTime;

use super::patterns::{self, TooManyFilters};
use super::sender::{self, Attempt, Outcome};
use super::signing::{SigningSecret, random_fraction};
use super::store::{self, DeliveryRecord, DeliveryStatus, Subscription};
use super::{Result, WebhookError, Webhooks};

impl Webhooks {
    /// The subscription's consumer: new events matching its filters, explicit acks, an ack wait
    /// longer than any attempt, and a hard cap on redeliveries a crash loop could cause.
    pub fn consumer_config(&self, sub: &Subscription) -> Result<pull::Config, TooManyFilters> {
        let name = self.names().webhook_consumer(&sub.id);
        let timeout = Duration::from_secs(self.settings().timeout_seconds);
        Ok(pull::Config {
            durable_name: Some(name.clone()),
            name: Some(name),
            description: Some(format!("Kubently webhook subscription {} of {}", sub.id, sub.owner)),
            deliver_policy: DeliverPolicy::New,
            ack_policy: AckPolicy::Explicit,
            ack_wait: timeout * 2 + Duration::from_secs(5),
            max_deliver: i64::from(self.max_attempts()) + 3,
            filter_subjects: patterns::filter_subjects(self.names(), &sub.events, &sub.clusters)?,
            max_ack_pending: self.settings().max_pending as i64,
            ..Default::default()
        })
    }

    /// Creates the subscription's consumer (before the subscription is stored, so no event
    /// after the 201 is missed).
    pub async fn create_consumer(&self, sub: &Subscription) -> Result<()> {
        let config = self.consumer_config(sub)?;
        provision::ensure_consumer(
            self.js(),
            self.inner.provision.events_stream_config(self.names()),
            config,
        )
        .await?;
        Ok(())
    }

    /// Runs until the subscription is removed; reconnects with backoff on errors.
    pub(super) async fn deliver_subscription(self, sub: Subscription) {
        let secret = match SigningSecret::parse(&sub.secret) {
            Ok(s) => s,
            Err(e) => {
                return tracing::error!(subscription = %sub.id, error = %e, "subscription has an unusable secret; not delivering");
            }
        };
        let mut delay = Duration::from_millis(500);
        loop {
            match self.consume(&sub, &secret).await {
                Ok(()) => tracing::debug!(subscription = %sub.id, "webhook message stream ended"),
                Err(e) => {
                    tracing::warn!(subscription = %sub.id, error = crate::error::chain(&e), "webhook delivery loop failed")
                }
            }
            match store::read::<Subscription>(self.subscriptions(), &sub.id).await {
                Ok(None) => {
                    return tracing::info!(subscription = %sub.id, "subscription gone; delivery loop ends");
                }
                Ok(Some(_)) => {}
                Err(e) => {
                    tracing::warn!(subscription = %sub.id, error = crate::error::chain(&e), "cannot re-read subscription")
                }
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(30));
        }
    }

    async fn consume(&self, sub: &Subscription, secret: &SigningSecret) -> Result<()> {
        let config = self.consumer_config(sub)?;
        let consumer = provision::ensure_consumer(
            self.js(),
            self.inner.provision.events_stream_config(self.names()),
            config,
        )
        .await?;
        let in_flight = self.settings().max_in_flight;
        pull_each(consumer, in_flight, in_flight, |msg| self.deliver_one(sub, secret, msg)).await
    }

    async fn deliver_one(&self, sub: &Subscription, secret: &SigningSecret, msg: jetstream::Message) {
        let attempt = msg.info().map(|i| i.delivered).unwrap_or(1).max(1) as u32;
        let event: Event = match protocol::decode(&msg.payload) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(subscription = %sub.id, subject = %msg.subject, error = %e, "undecodable event; dropped");
                return ack(&msg, AckKind::Term).await;
            }
        };
        if !sub.receives(&event) {
            // Another tenant's session or command: not this subscriber's to see.
            return ack(&msg, AckKind::Ack).await;
        }
        let result =
            self.sender().send(&sub.url, secret, &event.id.to_string(), sender::event_body(&event)).await;
        self.record_attempt("subscription", &result);
        let span = tracing::info_span!("webhook", subscription = %sub.id, event_id = %event.id, event_type = %event.event_type, attempt);
        let _enter = span.enter();
        match result.outcome {
            Outcome::Delivered => {
                if attempt > 1 {
                    self.log_delivery(&sub.id, &event, attempt, &result, DeliveryStatus::Delivered, None)
                        .await;
                }
                ack(&msg, AckKind::Ack).await;
            }
            Outcome::Gone => {
                tracing::info!("receiver answered 410 Gone; removing the subscription");
                if let Err(e) = self.remove(&sub.id).await {
                    tracing::warn!(
                        error = crate::error::chain(&e),
                        "cannot remove the subscription after 410"
                    );
                }
                ack(&msg, AckKind::Ack).await;
            }
            Outcome::Retry => {
                let retry_in = self.retry_in(attempt);
                let status = if retry_in.is_some() { DeliveryStatus::Retrying } else { DeliveryStatus::Dead };
                self.log_delivery(&sub.id, &event, attempt, &result, status, retry_in).await;
                self.settle_failure(&msg, retry_in, &result, "webhook").await;
            }
        }
    }

    /// After failed attempt number `attempt`: the jittered wait before the next one, or `None`
    /// when it was the last.
    pub(super) fn retry_in(&self, attempt: u32) -> Option<Duration> {
        (attempt < self.max_attempts())
            .then(|| sender::backoff(&self.inner.schedule, attempt, random_fraction()))
    }

    /// Naks `msg` for a retry after `retry_in`, or gives it up (terms it, counts a dead letter).
    /// Whatever must be recorded about the failure is written before this.
    pub(super) async fn settle_failure(
        &self,
        msg: &jetstream::Message,
        retry_in: Option<Duration>,
        result: &Attempt,
        what: &str,
    ) {
        let error = result.error.as_deref().unwrap_or("");
        match retry_in {
            Some(wait) => {
                tracing::info!(
                    error,
                    status = result.status_code,
                    retry_in_ms = wait.as_millis() as u64,
                    "{what} attempt failed; retrying"
                );
                ack(msg, AckKind::Nak(Some(wait))).await;
            }
            None => {
                tracing::warn!(error, status = result.status_code, "{what} given up after the last attempt");
                self.inner.metrics.webhook_dead_letters.inc();
                ack(msg, AckKind::Term).await;
            }
        }
    }

    pub(super) fn record_attempt(&self, kind: &str, attempt: &Attempt) {
        self.inner.metrics.record_webhook(kind, attempt.outcome.as_str(), attempt.duration.as_secs_f64());
    }

    /// Records a delivery that failed at least once (under `<subscription_id>.<event_id>`).
    pub(super) async fn log_delivery(
        &self,
        subscription_id: &str,
        event: &Event,
        attempts: u32,
        result: &Attempt,
        status: DeliveryStatus,
        next: Option<Duration>,
    ) {
        let now = OffsetDateTime::now_utc();
        let record = DeliveryRecord {
            subscription_id: subscription_id.to_string(),
            status,
            attempts,
            last_status_code: result.status_code,
            last_error: result.error.clone(),
            last_attempt_at: now,
            next_attempt_at: next.map(|d| now + d),
            event: event.clone(),
        };
        if let Err(e) =
            store::write_delivery(self.js(), self.deliveries(), &record, self.settings().log_retention())
                .await
        {
            tracing::warn!(error = crate::error::chain(&e), "cannot record the webhook delivery");
        }
    }
}

/// Pulls `consumer` in batches of `batch` and runs `handle` on up to `concurrency` messages at
/// once, until the pull fails (consumer deleted, connection lost).
pub(super) async fn pull_each<F, Fut>(
    consumer: PullConsumer,
    batch: usize,
    concurrency: usize,
    handle: F,
) -> Result<()>
where
    F: Fn(jetstream::Message) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let messages = consumer
        .stream()
        .max_messages_per_batch(batch)
        .heartbeat(Duration::from_secs(5))
        .expires(Duration::from_secs(30))
        .messages()
        .await
        .map_err(WebhookError::nats(format!("pulling from {}", consumer.cached_info().name)))?;
    messages
        .map_err(|e| WebhookError::Nats { action: "pulling".into(), source: e.into() })
        .try_for_each_concurrent(concurrency, |msg| {
            let done = handle(msg);
            async move {
                done.await;
                Ok(())
            }
        })
        .await
}

/// How long an ack is re-sent until the server confirms it: an ack lost in a stream-leader
/// election has the message redelivered, and its callback or event posted a second time.
const ACK_PATIENCE: Duration = Duration::from_secs(5);

/// Acks (confirmed, see [`ACK_PATIENCE`]), naks or terms a message; a failed ack only means a
/// redelivery, so it is logged.
pub(super) async fn ack(msg: &jetstream::Message, kind: AckKind) {
    let acked = if matches!(kind, AckKind::Ack) {
        let give_up_at = tokio::time::Instant::now() + ACK_PATIENCE;
        loop {
            match msg.double_ack().await {
                Err(e) if tokio::time::Instant::now() < give_up_at => {
                    tracing::debug!(error = %e, "ack not confirmed; sending it again");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                done => break done,
            }
        }
    } else {
        msg.ack_with(kind).await
    };
    if let Err(e) = acked {
        tracing::warn!(subject = %msg.subject, error = %e, "cannot acknowledge a webhook message; it will be redelivered");
    }
}
