//! Running one command: cluster and session checks → publish to JetStream → wait for the
//! executor's reply → audit, metrics, events. Every door runs commands through [`execute`] (or
//! [`execute_async`]) with an input from [`super::input::prepare`].
//!
//! Queueing rides out a JetStream leader election (retried until the deadline, deduplicated by
//! the command id). A command nobody answered by its deadline gets its timeout stored as its
//! result (write-once, [`kubently_shared::results`]), so an executor answering later cannot
//! contradict what the caller was told; an answer stored in the last instant wins instead.

use std::time::{Duration, Instant};

use async_nats::{HeaderMap, HeaderValue};
use kubently_shared::names::{HEADER_COMMAND_ID, HEADER_CORRELATION_ID, HEADER_MSG_ID};
use kubently_shared::protocol::{
    self, Command, CommandResult, CommandStatus, Event, EventType, SessionRecord,
};
use kubently_shared::results::{self, Stored, fit_to_budget};
use kubently_shared::{kv_ttl, retry};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use tracing::Instrument;
use utoipa::ToSchema;
use uuid::Uuid;

use super::input::ExecuteInput;
use super::{access, sessions};
use crate::AppState;
use crate::audit::AuditEntry;
use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::outcome::{Taken, TimeoutCause};
use crate::replies::Via;
use crate::webhooks::follow_ups::{CallbackJob, CallbackTarget};

/// Time the gateway keeps waiting after the deadline for a result already on its way.
const REPLY_GRACE: Duration = Duration::from_millis(500);
/// How long storing a timeout (or an async command's pending record) is retried.
const STORE_PATIENCE: Duration = Duration::from_secs(10);

/// How a command ended, as every door reports it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = CommandResponse)]
pub struct CommandOutcome {
    pub command_id: String,
    pub session_id: Option<String>,
    pub cluster_id: String,
    /// `success`, `failure` or `timeout`.
    pub status: CommandStatus,
    pub correlation_id: Option<String>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub execution_time_ms: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub executed_at: OffsetDateTime,
    /// What the output is and whether it was cut (absent on timeouts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<OutputInfo>,
}

/// Says what an output is, how big, and whether (and where) the rest is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OutputInfo {
    pub verb: String,
    /// `Pod`, `Pod,Service`, `Log`, `Version`, …
    pub kind: Option<String>,
    pub rows: Option<u64>,
    /// Size and line count of the full output.
    pub bytes: u64,
    pub lines: u64,
    /// Size of `output` as returned, and its rough token cost (bytes / 4).
    pub returned_bytes: u64,
    pub tokens_estimate: u64,
    pub truncated: bool,
    /// Where the full output can be paged (`?offset=&limit=`).
    pub result_url: String,
    /// What kubectl would have written to stderr besides the output, e.g. `Found 3 pods, using
    /// pod/web-1` for `logs deploy/web` (never inside `output`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
}

/// A command's outcome and, when this gateway stored its timeout, why nobody answered.
pub struct Finished {
    pub outcome: CommandOutcome,
    pub timeout: Option<TimeoutCause>,
}

/// Runs `input` for `caller`; timeouts are a normal outcome (`status: "timeout"`), not an error.
pub async fn execute(state: &AppState, caller: &Caller, input: ExecuteInput) -> AppResult<CommandOutcome> {
    Ok(execute_explained(state, caller, input).await?.outcome)
}

/// [`execute`], saying why when the command timed out (fan-out tells "not connected" apart).
pub async fn execute_explained(
    state: &AppState,
    caller: &Caller,
    input: ExecuteInput,
) -> AppResult<Finished> {
    let started = Instant::now();
    let (command, session) = prepare(state, caller, &input).await?;
    let span = command_span(&command);
    async move {
        // Keep-alive runs alongside the command and is done when the response leaves, so a
        // follow-up read of the session already shows the new `expires_at`.
        let keep_alive = sessions::keep_alive(state, session);
        let in_flight = state.metrics.in_flight();
        let (reply, ()) = tokio::join!(publish_and_wait(state, &command), keep_alive);
        let (result, timeout) = match reply? {
            Some(result) => (result, None),
            None => settle_timeout(state, &command, started).await,
        };
        drop(in_flight);
        let outcome = outcome_of(&command, result);
        finish(state, &command, &input, &outcome, timeout.is_some(), started);
        Ok(Finished { outcome, timeout })
    }
    .instrument(span)
    .await
}

/// Async execute: the command is queued and a pending record stored under its id; the
/// executor's result replaces the record, and [`super::results::read`] reads it.
pub async fn execute_async(state: &AppState, caller: &Caller, input: ExecuteInput) -> AppResult<Uuid> {
    let (command, session) = prepare(state, caller, &input).await?;
    let span = command_span(&command);
    async move {
        sessions::keep_alive(state, session).await;
        // Created before the command is published, so the executor's result always comes after
        // (and replaces) it.
        let pending = protocol::encode(&CommandResult::pending(&command, OffsetDateTime::now_utc()))
            .map_err(AppError::internal("encoding the pending result"))?;
        let key = results::key(&command.cluster_id, command.id);
        let until = tokio::time::Instant::now() + STORE_PATIENCE;
        // A create: an attempt whose ack was lost finds its own record and succeeds.
        retry::until(until, "record the async command", || {
            kv_ttl::create(&state.js, &state.buckets.results, &key, pending.clone())
        })
        .await
        .map_err(AppError::nats("cannot record the command"))?;
        // Follow-up job: the timeout event if nobody answers, and the callback if asked for.
        let job = CallbackJob {
            command_id: command.id,
            cluster_id: command.cluster_id.clone(),
            caller: caller.service.clone(),
            caller_token: caller.token.clone(),
            verb: command.request.verb().to_string(),
            correlation_id: command.correlation_id.clone(),
            callback: input
                .callback
                .as_ref()
                .map(|cb| CallbackTarget { url: cb.url.clone(), secret: cb.secret.encoded() }),
            deadline: command.deadline,
            page_bytes: command.output_budget_bytes.unwrap_or(state.settings.commands.output_budget_bytes),
        };
        state
            .webhooks
            .queue_callback(&job)
            .await
            .map_err(AppError::nats("cannot queue the async command's follow-up"))?;
        queue(state, &Signed::new(state, &command)?, deadline_instant(&command)).await?;
        state.metrics.record_command(&command.cluster_id, command.request.verb(), "accepted", 0.0);
        state.audit.record(AuditEntry::executed(&command, &input.typed, "accepted", None));
        tracing::info!("async command accepted");
        Ok(command.id)
    }
    .instrument(span)
    .await
}

fn command_span(command: &Command) -> tracing::Span {
    tracing::info_span!("command", command_id = %command.id, correlation_id = command.correlation_id.as_deref().unwrap_or(""), cluster_id = %command.cluster_id, verb = command.request.verb())
}

/// Checks the cluster and session, marks the cluster active, and builds the command.
async fn prepare(
    state: &AppState,
    caller: &Caller,
    input: &ExecuteInput,
) -> AppResult<(Command, Option<SessionRecord>)> {
    access::ensure_cluster(state, caller, &input.cluster_id)?;
    let session = match &input.session_id {
        Some(id) => Some(sessions::active(state, caller, id, &input.cluster_id).await?),
        None => None,
    };
    let active_for = session
        .as_ref()
        .map_or(Duration::from_secs(state.settings.commands.cluster_active_ttl_seconds), |s| s.ttl());
    state.activity.mark(&input.cluster_id, active_for);

    let mut command = Command::new(
        input.cluster_id.clone(),
        input.request.clone(),
        caller.wire(),
        String::new(),
        OffsetDateTime::now_utc(),
        input.timeout,
    );
    command.reply_to = state.names.reply_subject(&command.cluster_id, &state.instance_id, command.id);
    command.correlation_id = input.correlation_id.clone();
    command.session_id = input.session_id.clone();
    command.output_budget_bytes =
        Some(input.output_budget.unwrap_or(state.settings.commands.output_budget_bytes));
    command.reply_from_store = state.settings.commands.reply_from_store;
    Ok((command, session))
}

/// `command`'s deadline on the tokio clock.
fn deadline_instant(command: &Command) -> tokio::time::Instant {
    tokio::time::Instant::now() + command.remaining(OffsetDateTime::now_utc()).unwrap_or_default()
}

/// The executor's result, or `None` if none arrived by the deadline.
async fn publish_and_wait(state: &AppState, command: &Command) -> AppResult<Option<CommandResult>> {
    let deadline = deadline_instant(command);
    let signed = Signed::new(state, command)?;
    let waiter = state.replies.register(&command.cluster_id, command.id, &signed.signature);
    // The stream's ack and the executor's reply are awaited together (one round trip less): a
    // refused publish still fails the request, and a reply can only follow a stored command.
    let (queued, reply) = (queue(state, &signed, deadline), waiter.wait(deadline + REPLY_GRACE));
    tokio::pin!(queued, reply);
    let mut acked = false;
    loop {
        tokio::select! {
            stored = &mut queued, if !acked => {
                stored?;
                acked = true;
            }
            answer = &mut reply => return Ok(answer.map(|a| match a.via {
                Via::Reply => a.result,
                Via::Store => fit_to_budget(command, &a.result).0,
            })),
        }
    }
}

/// Nobody answered by the deadline: the timeout is stored as the command's result. Returns the
/// command's result (the timeout, or an answer stored first) and, when it is this timeout, why.
async fn settle_timeout(
    state: &AppState,
    command: &Command,
    started: Instant,
) -> (CommandResult, Option<TimeoutCause>) {
    let waited = (command.deadline - command.issued_at).whole_seconds();
    // Read after the deadline: no claim now means the command never runs.
    let taken = Taken::read(&state.buckets.claims, &command.cluster_id, command.id).await;
    let cause = TimeoutCause::of(&state.registry, &command.cluster_id, &taken);
    let timeout = CommandResult {
        error: Some(cause.reason(&command.cluster_id, waited)),
        execution_time_ms: started.elapsed().as_millis() as u64,
        ..CommandResult::new(command, CommandStatus::Timeout, "", OffsetDateTime::now_utc())
    };
    let until = tokio::time::Instant::now() + STORE_PATIENCE;
    let stored = retry::until(until, "store the timeout", || {
        results::store_final(&state.js, &state.buckets.results, &timeout)
    })
    .await;
    match stored {
        Ok(Stored::Written) => (timeout, Some(cause)),
        Ok(Stored::AlreadyFinal(answer)) => {
            tracing::info!(
                status = answer.status.as_str(),
                "the executor's answer was stored just before the deadline"
            );
            (fit_to_budget(command, &answer).0, None)
        }
        Err(e) => {
            tracing::warn!(error = %e, "the timeout could not be stored; a late answer may still be stored");
            (timeout, Some(cause))
        }
    }
}

fn outcome_of(command: &Command, r: CommandResult) -> CommandOutcome {
    let meta = r.meta.as_ref().map(|m| OutputInfo {
        verb: command.request.verb().to_string(),
        kind: m.kind.clone(),
        rows: m.rows,
        bytes: m.bytes,
        lines: m.lines,
        returned_bytes: m.returned_bytes,
        tokens_estimate: m.tokens_estimate,
        truncated: m.truncated,
        result_url: format!("/debug/result/{}", command.id),
        notices: m.notices.clone(),
    });
    let output = (r.status != CommandStatus::Timeout || !r.output.is_empty()).then_some(r.output);
    CommandOutcome {
        command_id: command.id.to_string(),
        session_id: command.session_id.clone(),
        cluster_id: command.cluster_id.clone(),
        status: r.status,
        correlation_id: command.correlation_id.clone(),
        output,
        error: r.error,
        execution_time_ms: r.execution_time_ms,
        executed_at: r.executed_at,
        meta,
    }
}

/// Sends the command to its cluster's queue (deduplicated by id) and waits for the stream to
/// store it, retrying transient failures until `give_up_at`.
/// A command message as published: payload, headers, and the signature over the payload.
struct Signed {
    subject: String,
    payload: bytes::Bytes,
    headers: HeaderMap,
    signature: String,
}

impl Signed {
    fn new(state: &AppState, command: &Command) -> AppResult<Self> {
        let payload = protocol::encode(command).map_err(AppError::internal("encoding the command"))?;
        // Fallible constructors: a value that cannot be a header is an error, never a panic (input
        // validation refuses such values before they get here).
        let value =
            |v: &str| v.parse::<HeaderValue>().map_err(AppError::internal("building the command's headers"));
        let mut headers = HeaderMap::new();
        let id = value(&command.id.to_string())?;
        headers.insert(HEADER_MSG_ID, id.clone());
        headers.insert(HEADER_COMMAND_ID, id);
        if let Some(c) = &command.correlation_id {
            headers.insert(HEADER_CORRELATION_ID, value(c)?);
        }
        let signature = state.signer.sign_into(&payload, &mut headers);
        Ok(Self { subject: state.names.command_subject(&command.cluster_id), payload, headers, signature })
    }
}

async fn queue(state: &AppState, signed: &Signed, give_up_at: tokio::time::Instant) -> AppResult<()> {
    retry::until(give_up_at, "queue the command", || async {
        state
            .js
            .publish_with_headers(signed.subject.clone(), signed.headers.clone(), signed.payload.clone())
            .await?
            .await
    })
    .await
    .map(|_| ())
    .map_err(AppError::nats("the command queue did not accept the command"))
}

/// Metrics, audit and the timeout event when this gateway stored the timeout.
fn finish(
    state: &AppState,
    command: &Command,
    input: &ExecuteInput,
    outcome: &CommandOutcome,
    timed_out_here: bool,
    started: Instant,
) {
    let verb = command.request.verb();
    let status = outcome.status.as_str();
    state.metrics.record_command(&command.cluster_id, verb, status, started.elapsed().as_secs_f64());
    tracing::info!(status, elapsed_ms = started.elapsed().as_millis() as u64, "command finished");
    // The command's one terminal event comes from whoever stored its final result.
    if timed_out_here {
        let data = json!({"command_id": command.id, "verb": verb, "status": status, "error": outcome.error, "correlation_id": command.correlation_id, "session_id": command.session_id, "caller": command.caller.service, "caller_token": command.caller.token});
        let event =
            Event::new(EventType::CommandTimeout, &command.cluster_id, data, OffsetDateTime::now_utc());
        state
            .events
            .publish_deduplicated(event.by(&command.caller.service), format!("command.{}", command.id));
    }
    state.audit.record(AuditEntry::executed(command, &input.typed, status, outcome.error.as_deref()));
}
