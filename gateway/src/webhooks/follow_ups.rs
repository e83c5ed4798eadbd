//! Async commands' follow-up: the gateway that accepts an async command queues a job on the
//! callbacks work queue; whichever gateway pulls it waits for the command's final result (or its
//! deadline), reading from the results stream's leader and counting a record it cannot see yet
//! as pending, so it never gives up early. A command nobody answered by then gets its timeout
//! stored as its result (write-once: a late answer cannot replace it) and its `command.timeout`
//! event; with a `callback_url` the same page `GET /debug/result/{id}` shows is posted, signed
//! with the job's secret, retrying like subscriptions. A job survives gateway restarts: until it is acked, the server hands it to
//! another replica. A2A push notifications ride the same work queue (`PushJob`).

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::{self, AckKind};
use futures::StreamExt;
use kubently_shared::names::HEADER_MSG_ID;
use kubently_shared::protocol::{CommandResult, CommandStatus, Event, EventType, PROTOCOL_VERSION};
use kubently_shared::provision;
use kubently_shared::results::{self, Stored};
use kubently_shared::retry;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::delivery::{ack, pull_each};
use super::sender::{self, Outcome};
use super::signing::SigningSecret;
use super::store::DeliveryStatus;
use super::{Result, WebhookError, Webhooks};
use crate::outcome::{PENDING_GRACE, ResultPage, Taken, page_of, timeout_reason};

/// Jobs one gateway works on at once (most of them just wait for their command).
const CONCURRENCY: usize = 256;
/// While a job waits for its command, the gateway tells the server it is still working this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);
/// How long queueing a job rides out a JetStream leader election.
const QUEUE_PATIENCE: Duration = Duration::from_secs(10);
/// The delivery log records dead callbacks under `callback.<command_id>`.
pub const CALLBACK_LOG: &str = "callback";

/// One async command's follow-up.
#[derive(Clone, Serialize, Deserialize)]
pub struct CallbackJob {
    pub command_id: Uuid,
    pub cluster_id: String,
    /// For the timeout event.
    pub caller: String,
    /// The bearer-token caller's issuer and subject, for the timeout event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_token: Option<kubently_shared::protocol::TokenIdentity>,
    pub verb: String,
    pub correlation_id: Option<String>,
    /// Where to post the result; `None`: only the timeout event.
    pub callback: Option<CallbackTarget>,
    /// The command's deadline: the callback reports a timeout if no result came by then.
    #[serde(with = "time::serde::rfc3339")]
    pub deadline: OffsetDateTime,
    /// Output page size (the command's budget).
    pub page_bytes: u64,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct CallbackTarget {
    pub url: String,
    /// `whsec_…`
    pub secret: String,
}

/// An A2A push notification: one task event for one push config, posted with the config's
/// token and credentials, retried like callbacks.
#[derive(Clone, Serialize, Deserialize)]
pub struct PushJob {
    /// `<task>.<config>.<event number>`: the message id (dedup) and the log key.
    pub id: String,
    pub url: String,
    /// Header name → value (`A2A-Notification-Token`, `Authorization`).
    pub headers: Vec<(String, String)>,
    /// The `StreamResponse` JSON.
    pub body: String,
}

/// What the callbacks work queue holds.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum FollowUp {
    Command(CallbackJob),
    Push(PushJob),
}

/// Subject token of A2A push jobs on the callbacks stream (they belong to no cluster).
const PUSH_SUBJECT_TOKEN: &str = "a2a-push";

impl Webhooks {
    /// Queues `job` (deduplicated by command id); returns once the stream stored it.
    pub async fn queue_callback(&self, job: &CallbackJob) -> Result<()> {
        self.queue(&job.cluster_id.clone(), &job.command_id.to_string(), FollowUp::Command(job.clone())).await
    }

    /// Queues an A2A push notification.
    pub async fn queue_push(&self, job: PushJob) -> Result<()> {
        self.queue(PUSH_SUBJECT_TOKEN, &job.id.clone(), FollowUp::Push(job)).await
    }

    async fn queue(&self, subject_token: &str, msg_id: &str, job: FollowUp) -> Result<()> {
        let payload = serde_json::to_vec(&job)
            .map_err(|source| WebhookError::Encode { what: format!("follow-up job {msg_id}"), source })?;
        let mut headers = HeaderMap::new();
        headers.insert(HEADER_MSG_ID, msg_id);
        let subject = self.names().callback_subject(subject_token);
        let payload = bytes::Bytes::from(payload);
        // Deduplicated by the message id, so a retry after a lost ack stores one job.
        retry::until(tokio::time::Instant::now() + QUEUE_PATIENCE, "queue a follow-up job", || async {
            self.js().publish_with_headers(subject.clone(), headers.clone(), payload.clone()).await?.await
        })
        .await
        .map_err(WebhookError::nats("queueing the job"))?;
        Ok(())
    }

    fn follow_ups_consumer_config(&self) -> pull::Config {
        let name = kubently_shared::names::CALLBACKS_CONSUMER.to_string();
        pull::Config {
            durable_name: Some(name.clone()),
            name: Some(name),
            description: Some("Kubently gateways delivering async commands' callbacks".into()),
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::Explicit,
            ack_wait: Duration::from_secs(self.settings().timeout_seconds) * 2 + PROGRESS_EVERY * 3,
            max_deliver: i64::from(self.max_attempts()) + 3,
            max_ack_pending: 10_000,
            ..Default::default()
        }
    }

    pub(super) async fn run_follow_ups(self) {
        let mut delay = Duration::from_millis(500);
        loop {
            match self.consume_follow_ups().await {
                Ok(()) => tracing::debug!("callback stream ended"),
                Err(e) => tracing::warn!(error = crate::error::chain(&e), "callback delivery loop failed"),
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(30));
        }
    }

    async fn consume_follow_ups(&self) -> Result<()> {
        let consumer = provision::ensure_consumer(
            self.js(),
            self.inner.provision.callbacks_stream_config(self.names()),
            self.follow_ups_consumer_config(),
        )
        .await?;
        pull_each(consumer, 64, CONCURRENCY, |msg| self.deliver_follow_up(msg)).await
    }

    async fn deliver_follow_up(&self, msg: jetstream::Message) {
        let attempt = msg.info().map(|i| i.delivered).unwrap_or(1).max(1) as u32;
        match serde_json::from_slice::<FollowUp>(&msg.payload) {
            Ok(FollowUp::Command(job)) => self.deliver_callback(msg, job, attempt).await,
            Ok(FollowUp::Push(job)) => self.deliver_push(msg, job, attempt).await,
            Err(e) => {
                tracing::error!(error = %e, "undecodable follow-up job; dropped");
                ack(&msg, AckKind::Term).await
            }
        }
    }

    async fn deliver_push(&self, msg: jetstream::Message, job: PushJob, attempt: u32) {
        let span = tracing::info_span!("a2a_push", push = %job.id, attempt);
        let _enter = span.enter();
        let headers: Vec<(&str, String)> = job.headers.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let result = self.sender().post(&job.url, &headers, job.body.into()).await;
        self.record_attempt("a2a_push", &result);
        match result.outcome {
            Outcome::Delivered | Outcome::Gone => ack(&msg, AckKind::Ack).await,
            Outcome::Retry => self.settle_failure(&msg, self.retry_in(attempt), &result, "A2A push").await,
        }
    }

    async fn deliver_callback(&self, msg: jetstream::Message, job: CallbackJob, attempt: u32) {
        let span = tracing::info_span!("callback", command_id = %job.command_id, attempt);
        let _enter = span.enter();
        let (page, timed_out_here) = match self.final_page(&job, &msg).await {
            Ok(settled) => settled,
            Err(e) => {
                tracing::warn!(
                    error = crate::error::chain(&e),
                    "cannot read the command's result; retrying the callback"
                );
                return ack(&msg, AckKind::Nak(Some(Duration::from_secs(1)))).await;
            }
        };
        let event_type = EventType::for_status(page.status).unwrap_or(EventType::CommandTimeout);
        // The command's one terminal event comes from whoever stored its final result.
        if timed_out_here {
            let data = json!({"command_id": job.command_id, "verb": job.verb, "status": page.status, "error": page.error, "correlation_id": job.correlation_id, "caller": job.caller, "caller_token": job.caller_token});
            let event =
                Event::new(EventType::CommandTimeout, &job.cluster_id, data, OffsetDateTime::now_utc())
                    .by(&job.caller);
            self.inner.events.publish_deduplicated(event, format!("command.{}", job.command_id));
        }
        let Some(target) = &job.callback else { return ack(&msg, AckKind::Ack).await };
        let secret = match SigningSecret::parse(&target.secret) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "callback job has an unusable secret; dropped");
                return ack(&msg, AckKind::Term).await;
            }
        };
        let data = serde_json::to_value(&page).unwrap_or_default();
        let body = sender::body(event_type.as_str(), OffsetDateTime::now_utc(), data.clone());
        let result = self.sender().send(&target.url, &secret, &job.command_id.to_string(), body).await;
        self.record_attempt("callback", &result);
        match result.outcome {
            Outcome::Delivered | Outcome::Gone => ack(&msg, AckKind::Ack).await,
            Outcome::Retry => {
                let retry_in = self.retry_in(attempt);
                if retry_in.is_none() {
                    // Logged under `callback.<command_id>`; the result stays readable at /debug/result.
                    let mut event = Event::new(event_type, &job.cluster_id, data, OffsetDateTime::now_utc());
                    event.id = job.command_id;
                    self.log_delivery(CALLBACK_LOG, &event, attempt, &result, DeliveryStatus::Dead, None)
                        .await;
                }
                self.settle_failure(&msg, retry_in, &result, "callback").await;
            }
        }
    }

    /// Waits until the command's result is final or its deadline (plus grace) passed, then
    /// stores the timeout unless a final result is stored (write-once). Returns the final
    /// result's first page and whether it is the timeout stored here.
    async fn final_page(&self, job: &CallbackJob, msg: &jetstream::Message) -> Result<(ResultPage, bool)> {
        let give_up_at = job.deadline + PENDING_GRACE + time::Duration::milliseconds(100);
        // Only final results are paged here, so the claim is never needed for the wording.
        let page = |result: &CommandResult| {
            page_of(&self.inner.registry, result, 0, job.page_bytes, &Taken::Unknown)
        };
        let mut watch = None;
        loop {
            let current = results::read(&self.inner.results, &job.cluster_id, job.command_id).await?;
            if let Some(result) = current.as_ref().filter(|r| r.status.is_final()) {
                return Ok((page(result), false));
            }
            let now = OffsetDateTime::now_utc();
            if now > give_up_at {
                // Read after the deadline: no claim now means the command never runs.
                let taken = Taken::read(&self.inner.claims, &job.cluster_id, job.command_id).await;
                let timeout = self.timeout_of(job, current, now, &taken);
                return Ok(match results::store_final(self.js(), &self.inner.results, &timeout).await? {
                    Stored::Written => (page(&timeout), true),
                    Stored::AlreadyFinal(answer) => (page(&answer), false),
                });
            }
            if watch.is_none() {
                // Watch from now on, then re-read: a result written in between is not missed.
                let key = job.command_id.to_string();
                watch = Some(
                    self.inner
                        .results
                        .watch(&key)
                        .await
                        .map_err(WebhookError::nats("watching the result"))?,
                );
                continue;
            }
            let wait = Duration::try_from(give_up_at - now).unwrap_or_default().min(PROGRESS_EVERY);
            if let Some(w) = watch.as_mut() {
                match tokio::time::timeout(wait, w.next()).await {
                    Err(_) => ack(msg, AckKind::Progress).await,
                    Ok(None) => watch = None,
                    Ok(Some(_)) => {}
                }
            }
        }
    }

    /// The timeout result of a command nobody answered (from its pending record when readable).
    fn timeout_of(
        &self,
        job: &CallbackJob,
        pending: Option<CommandResult>,
        now: OffsetDateTime,
        taken: &Taken,
    ) -> CommandResult {
        let accepted_at = pending.as_ref().map_or(now, |p| p.executed_at);
        let error = Some(timeout_reason(
            &self.inner.registry,
            &job.cluster_id,
            (job.deadline - accepted_at).whole_seconds().max(0),
            taken,
        ));
        match pending {
            Some(pending) => {
                CommandResult { status: CommandStatus::Timeout, error, executed_at: now, ..pending }
            }
            None => CommandResult {
                v: PROTOCOL_VERSION,
                command_id: job.command_id,
                cluster_id: job.cluster_id.clone(),
                status: CommandStatus::Timeout,
                output: String::new(),
                error,
                execution_time_ms: 0,
                executed_at: now,
                executor_id: String::new(),
                meta: None,
                caller: Some(job.caller.clone()),
                verb: Some(job.verb.clone()),
                deadline: Some(job.deadline),
                command_signature: None,
            },
        }
    }
}
