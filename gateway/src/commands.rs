//! Running one command: policy → session → publish to JetStream → wait for the executor's reply
//! → audit, metrics, events. The REST handler (and later MCP and A2A) call [`execute`].

use std::future::IntoFuture;
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use kubently_shared::names::{HEADER_COMMAND_ID, HEADER_CORRELATION_ID, HEADER_MSG_ID};
use kubently_shared::policy::KubectlRequest;
use kubently_shared::protocol::{self, Caller as WireCaller, Command, CommandResult, Event, EventType, ResultStatus};
use serde_json::json;
use time::OffsetDateTime;
use tracing::Instrument;
use uuid::Uuid;

use crate::api::models::{CommandResponse, OutputInfo};
use crate::audit::AuditEntry;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::sessions::SessionStatus;
use crate::webhooks::callbacks::{CallbackJob, CallbackTarget};
use crate::webhooks::signing::SigningSecret;
use crate::AppState;

/// Time the gateway keeps waiting after the deadline for a result already on its way.
const REPLY_GRACE: Duration = Duration::from_millis(500);

pub struct ExecuteInput {
    pub cluster_id: String,
    pub session_id: Option<String>,
    pub correlation_id: Option<String>,
    pub request: KubectlRequest,
    /// The command as the caller typed it (audit).
    pub typed: String,
    pub timeout: Duration,
    /// Bytes; the deployment's default when `None`.
    pub output_budget: Option<u64>,
    /// Async only: post the final result here.
    pub callback: Option<Callback>,
}

/// Where and how to post an async command's final result.
pub struct Callback {
    pub url: String,
    pub secret: SigningSecret,
    /// The gateway made the secret (the 202 shows it once).
    pub generated: bool,
}

/// Runs `input` for `caller`; timeouts are a normal response (`status: "timeout"`), not an error.
pub async fn execute(state: &AppState, caller: &Caller, input: ExecuteInput) -> Result<CommandResponse, ApiError> {
    let started = Instant::now();
    let (command, session) = prepare(state, caller, &input).await?;
    let span = command_span(&command);
    async move {
        // Keep-alive runs alongside the command and is done when the response leaves, so a
        // follow-up GET of the session already shows the new `expires_at`.
        let keep_alive = async {
            if let Some(record) = session
                && let Err(e) = state.sessions.touch(record).await
            {
                tracing::warn!(error = %e, "session keep-alive failed");
            }
        };
        state.metrics.in_flight.inc();
        let (outcome, ()) = tokio::join!(publish_and_wait(state, &command), keep_alive);
        state.metrics.in_flight.dec();
        let response = respond(state, &command, outcome, started)?;
        finish(state, caller, &command, &input, &response, started);
        Ok(response)
    }
    .instrument(span)
    .await
}

/// `POST /debug/execute/async`: the command is queued and a pending record stored under its id;
/// the executor's result replaces the record, and `GET /debug/result/{id}` reads it.
pub async fn execute_async(state: &AppState, caller: &Caller, input: ExecuteInput) -> Result<Uuid, ApiError> {
    let (command, session) = prepare(state, caller, &input).await?;
    let span = command_span(&command);
    async move {
        if let Some(record) = session
            && let Err(e) = state.sessions.touch(record).await
        {
            tracing::warn!(error = %e, "session keep-alive failed");
        }
        // Created before the command is published, so the executor's result always comes after
        // (and replaces) it.
        let pending = protocol::encode(&CommandResult::pending(&command, OffsetDateTime::now_utc())).map_err(|e| ApiError::internal("encoding the pending result", e))?;
        state.buckets.results.create(command.id.to_string(), pending).await.map_err(|e| ApiError::Unavailable(format!("cannot record the command (NATS): {e}")))?;
        // Follow-up job: the timeout event if nobody answers, and the callback if asked for.
        let job = CallbackJob {
            command_id: command.id,
            cluster_id: command.cluster_id.clone(),
            caller: caller.service.clone(),
            verb: command.request.verb().to_string(),
            correlation_id: command.correlation_id.clone(),
            callback: input.callback.as_ref().map(|cb| CallbackTarget { url: cb.url.clone(), secret: cb.secret.encoded() }),
            deadline: command.deadline,
            page_bytes: command.output_budget_bytes.unwrap_or(state.settings.commands.output_budget_bytes),
        };
        state.webhooks.queue_callback(&job).await.map_err(|e| ApiError::Unavailable(format!("cannot queue the async command's follow-up (NATS): {e}")))?;
        let ack = publish(state, &command).await?;
        ack.await.map_err(|e| ApiError::Unavailable(format!("the command queue did not accept the command (NATS): {e}")))?;
        state.metrics.record_command(&command.cluster_id, command.request.verb(), "accepted", 0.0);
        state.audit.record(audit_entry(caller, &command, &input, "accepted", None));
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
async fn prepare(state: &AppState, caller: &Caller, input: &ExecuteInput) -> Result<(Command, Option<kubently_shared::protocol::SessionRecord>), ApiError> {
    ensure_cluster(state, caller, &input.cluster_id)?;
    let session = match &input.session_id {
        Some(id) => Some(load_session(state, caller, id, &input.cluster_id).await?),
        None => None,
    };
    let active_for = session.as_ref().map_or(Duration::from_secs(state.settings.commands.cluster_active_ttl_seconds), |s| s.ttl());
    state.activity.mark(&input.cluster_id, active_for);

    let mut command = Command::new(
        input.cluster_id.clone(),
        input.request.clone(),
        WireCaller { service: caller.service.clone() },
        String::new(),
        OffsetDateTime::now_utc(),
        input.timeout,
    );
    command.reply_to = state.names.reply_subject(&state.instance_id, command.id);
    command.correlation_id = input.correlation_id.clone();
    command.session_id = input.session_id.clone();
    command.output_budget_bytes = Some(input.output_budget.unwrap_or(state.settings.commands.output_budget_bytes));
    Ok((command, session))
}

/// The one cluster `caller` may use, for doors where naming it is optional (MCP, A2A).
pub fn only_cluster(state: &AppState, caller: &Caller) -> Result<String, ApiError> {
    match crate::api::clusters::visible(state, caller).as_slice() {
        [only] => Ok(only.clone()),
        [] => Err(ApiError::NotFound("No cluster is available to this key yet (no executor has connected)".into())),
        many => Err(ApiError::BadRequest(format!("This key may use several clusters; say which one (cluster_id): {}", many.join(", ")))),
    }
}

/// The caller may use the cluster and an executor has served it at some point (else 404 with the
/// known clusters).
pub fn ensure_cluster(state: &AppState, caller: &Caller, cluster_id: &str) -> Result<(), ApiError> {
    if !caller.may_use_cluster(cluster_id) {
        return Err(ApiError::Forbidden(format!(
            "API key of service '{}' may not use cluster '{cluster_id}'; it may use: {}",
            caller.service,
            caller.clusters.join(", ")
        )));
    }
    if state.registry.is_known(cluster_id) {
        return Ok(());
    }
    let known = state.registry.known_clusters();
    Err(ApiError::NotFound(if known.is_empty() {
        format!("Cluster '{cluster_id}' not found. No clusters are currently registered (no executor has connected yet).")
    } else {
        format!("Cluster '{cluster_id}' not found. Available clusters: {}", known.join(", "))
    }))
}

/// The caller's own, active session for `cluster_id`.
pub async fn load_session(state: &AppState, caller: &Caller, id: &str, cluster_id: &str) -> Result<kubently_shared::protocol::SessionRecord, ApiError> {
    let record = state.sessions.get(id).await.map_err(|e| ApiError::internal("reading the session", e))?;
    let record = record.filter(|r| caller.may_read_owned_by(&r.owner)).ok_or_else(|| ApiError::NotFound("Session not found".into()))?;
    match SessionStatus::of(&record, OffsetDateTime::now_utc()) {
        SessionStatus::Active => {}
        status => return Err(ApiError::NotFound(format!("Session not found: session {id} has {}", status.as_str()))),
    }
    if record.cluster_id != cluster_id {
        return Err(ApiError::BadRequest(format!("Session cluster mismatch: session {id} is for cluster '{}', not '{cluster_id}'", record.cluster_id)));
    }
    Ok(record)
}

/// The executor's result, or `None` if none arrived by the deadline.
async fn publish_and_wait(state: &AppState, command: &Command) -> Result<Option<CommandResult>, ApiError> {
    let deadline = tokio::time::Instant::now() + command.remaining(OffsetDateTime::now_utc()).unwrap_or_default() + REPLY_GRACE;
    let waiter = state.dispatcher.register(command.id);
    let ack = publish(state, command).await?;
    // The stream's ack and the executor's reply are awaited together (one round trip less): a
    // refused publish still fails the request, and a reply can only follow a stored command.
    let (ack, reply) = (ack.into_future(), waiter.wait(deadline));
    tokio::pin!(ack, reply);
    let mut acked = false;
    loop {
        tokio::select! {
            stored = &mut ack, if !acked => {
                stored.map_err(|e| ApiError::Unavailable(format!("the command queue did not accept the command (NATS): {e}")))?;
                acked = true;
            }
            result = &mut reply => return Ok(result),
        }
    }
}

fn respond(state: &AppState, command: &Command, outcome: Result<Option<CommandResult>, ApiError>, started: Instant) -> Result<CommandResponse, ApiError> {
    let base = |status: &str, output: Option<String>, error: Option<String>, ms: u64, at: OffsetDateTime| CommandResponse {
        command_id: command.id.to_string(),
        session_id: command.session_id.clone(),
        cluster_id: command.cluster_id.clone(),
        status: status.into(),
        correlation_id: command.correlation_id.clone(),
        output,
        error,
        execution_time_ms: ms,
        executed_at: at,
        meta: None,
    };
    Ok(match outcome? {
        Some(r) => {
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
            });
            CommandResponse { meta, ..base(status_str(r.status), Some(r.output), r.error, r.execution_time_ms, r.executed_at) }
        }
        None => {
            let waited = started.elapsed();
            let secs = (command.deadline - command.issued_at).whole_seconds();
            let error = if state.registry.is_connected(&command.cluster_id) {
                format!("executor did not answer within {secs} s (cluster '{}' has a connected executor; the command may be slow — raise timeout_seconds or narrow the query)", command.cluster_id)
            } else {
                format!("no executor connected for cluster '{}': the command waited {secs} s in the queue and was not run (it expires there, it will not run later)", command.cluster_id)
            };
            base("timeout", None, Some(error), waited.as_millis() as u64, OffsetDateTime::now_utc())
        }
    })
}

/// Sends the command to its cluster's queue (deduplicated by id); the returned future is the
/// stream's acknowledgement.
async fn publish(state: &AppState, command: &Command) -> Result<async_nats::jetstream::context::PublishAckFuture, ApiError> {
    let payload = protocol::encode(command).map_err(|e| ApiError::internal("encoding the command", e))?;
    let mut headers = HeaderMap::new();
    let id = command.id.to_string();
    headers.insert(HEADER_MSG_ID, id.as_str());
    headers.insert(HEADER_COMMAND_ID, id.as_str());
    if let Some(c) = &command.correlation_id {
        headers.insert(HEADER_CORRELATION_ID, c.as_str());
    }
    state
        .js
        .publish_with_headers(state.names.command_subject(&command.cluster_id), headers, payload)
        .await
        .map_err(|e| ApiError::Unavailable(format!("cannot queue the command (NATS): {e}")))
}

/// The REST status word of a result.
pub fn status_str(status: ResultStatus) -> &'static str {
    match status {
        ResultStatus::Success => "success",
        ResultStatus::Failure => "failure",
        ResultStatus::Expired => "timeout",
        ResultStatus::Pending => "pending",
    }
}

/// Metrics, audit and the timeout event (the executor emits completed/failed).
fn finish(state: &AppState, caller: &Caller, command: &Command, input: &ExecuteInput, response: &CommandResponse, started: Instant) {
    let verb = command.request.verb();
    state.metrics.record_command(&command.cluster_id, verb, &response.status, started.elapsed().as_secs_f64());
    tracing::info!(status = %response.status, elapsed_ms = started.elapsed().as_millis() as u64, "command finished");
    if response.status == "timeout" {
        let data = json!({"command_id": command.id, "verb": verb, "error": response.error, "correlation_id": command.correlation_id});
        state.events.publish(Event::new(EventType::CommandTimeout, &command.cluster_id, data, OffsetDateTime::now_utc()));
    }
    state.audit.record(audit_entry(caller, command, input, &response.status, response.error.as_deref()));
}

fn audit_entry(caller: &Caller, command: &Command, input: &ExecuteInput, outcome: &str, error: Option<&str>) -> AuditEntry {
    AuditEntry {
        timestamp: OffsetDateTime::now_utc(),
        entry_type: "command_executed".into(),
        service_identity: caller.service.clone(),
        cluster_id: command.cluster_id.clone(),
        session_id: command.session_id.clone(),
        command_id: command.id.to_string(),
        command: input.typed.clone(),
        outcome: outcome.to_string(),
        error: AuditEntry::truncate_error(error),
        correlation_id: command.correlation_id.clone(),
    }
}

/// Audit record for a command the policy refused (it never reaches NATS).
pub fn audit_rejected(state: &AppState, caller: &Caller, cluster_id: &str, typed: &str, correlation_id: Option<String>, error: &str) {
    state.audit.record(AuditEntry {
        timestamp: OffsetDateTime::now_utc(),
        entry_type: "command_rejected".into(),
        service_identity: caller.service.clone(),
        cluster_id: cluster_id.to_string(),
        session_id: None,
        command_id: Uuid::nil().to_string(),
        command: typed.to_string(),
        outcome: "rejected".into(),
        error: AuditEntry::truncate_error(Some(error)),
        correlation_id,
    });
}
