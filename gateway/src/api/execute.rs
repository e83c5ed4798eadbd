//! `POST /debug/execute`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kubently_shared::policy::{self, CommandInput};

use crate::api::headers::AgentHeaders;
use crate::api::models::{AsyncAccepted, CommandResponse, ExecuteRequest};
use crate::auth::Caller;
use crate::commands::{self, Callback, ExecuteInput};
use crate::webhooks::signing::SigningSecret;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::AppState;

/// Runs one read-only command and waits for its result (`status` `success`, `failure` or
/// `timeout`; a timeout says whether no executor was connected or the executor was too slow).
#[utoipa::path(post, path = "/debug/execute", tag = "commands", request_body = ExecuteRequest,
    responses((status = 200, body = CommandResponse), (status = 400, description = "session of another cluster"),
        (status = 404, description = "unknown cluster or session"), (status = 422, description = "refused by the read-only policy or invalid")),
    security(("api_key" = [])))]
pub async fn execute(State(state): State<Arc<AppState>>, caller: Caller, headers: AgentHeaders, body: Result<Json<ExecuteRequest>, axum::extract::rejection::JsonRejection>) -> ApiResult<Json<CommandResponse>> {
    let Json(req) = body?;
    let input = parse_input(&state, &caller, headers, req)?;
    if input.callback.is_some() {
        return Err(ApiError::field(&["body", "callback_url"], "async_only", "callback_url is only for POST /debug/execute/async (this endpoint answers with the result)", serde_json::Value::Null));
    }
    Ok(Json(commands::execute(&state, &caller, input).await?))
}

/// Queues one read-only command and returns at once (202); the result is read later from
/// `result_url` (`pending` until the executor answers; `timeout` if nobody did by the deadline).
#[utoipa::path(post, path = "/debug/execute/async", tag = "commands", request_body = ExecuteRequest,
    responses((status = 202, body = AsyncAccepted), (status = 400, description = "session of another cluster"),
        (status = 404, description = "unknown cluster or session"), (status = 422, description = "refused by the read-only policy or invalid")),
    security(("api_key" = [])))]
pub async fn execute_async(State(state): State<Arc<AppState>>, caller: Caller, headers: AgentHeaders, body: Result<Json<ExecuteRequest>, axum::extract::rejection::JsonRejection>) -> ApiResult<(StatusCode, Json<AsyncAccepted>)> {
    let Json(req) = body?;
    let input = parse_input(&state, &caller, headers, req)?;
    let generated_secret = input.callback.as_ref().filter(|c| c.generated).map(|c| c.secret.encoded());
    let id = commands::execute_async(&state, &caller, input).await?;
    Ok((StatusCode::ACCEPTED, Json(AsyncAccepted { command_id: id.to_string(), status: "pending".into(), result_url: format!("/debug/result/{id}"), callback_secret: generated_secret })))
}

/// Validation and the read-only policy, shared by every door (422s name the field).
pub fn parse_input(state: &AppState, caller: &Caller, headers: AgentHeaders, req: ExecuteRequest) -> ApiResult<ExecuteInput> {
    let max = state.settings.commands.max_timeout_seconds;
    req.validate(max)?;
    let extra = req.extra_args.clone().unwrap_or_default();
    let correlation_id = headers.correlation_id.or(req.correlation_id.clone());
    let input = CommandInput { command_type: &req.command_type, args: &req.args, extra_args: &extra, namespace: req.namespace.as_deref() };
    let request = match policy::parse(&input, &state.policy) {
        Ok(r) => r,
        Err(e) => {
            commands::audit_rejected(state, caller, &req.cluster_id, &typed_command(&req, &extra), correlation_id, &e.to_string());
            let loc = e.location();
            let mut path = vec!["body".to_string(), loc.field.as_str().to_string()];
            if let Some(i) = loc.index {
                path.push(i.to_string());
            }
            return Err(ApiError::Validation(vec![FieldError { kind: "policy", loc: path, msg: e.to_string(), input: serde_json::Value::Null }]));
        }
    };
    // Audited as it runs: the canonical kubectl words of the typed request.
    let typed = policy::to_argv(&request).join(" ");
    let callback = parse_callback(state, &req)?;
    let timeout = headers.request_timeout.or(req.timeout_seconds).unwrap_or(state.settings.commands.default_timeout_seconds);
    Ok(ExecuteInput { cluster_id: req.cluster_id, session_id: req.session_id, correlation_id, request, typed, timeout: Duration::from_secs(timeout), output_budget: req.output_budget, callback })
}

/// `callback_url` (checked like a subscription's URL) and its secret (given or generated).
fn parse_callback(state: &AppState, req: &ExecuteRequest) -> ApiResult<Option<Callback>> {
    let Some(raw) = &req.callback_url else {
        if req.callback_secret.is_some() {
            return Err(ApiError::field(&["body", "callback_secret"], "missing_url", "callback_secret needs a callback_url", serde_json::Value::Null));
        }
        return Ok(None);
    };
    let url = state.webhooks.sender().policy().check_url(raw).map_err(|e| ApiError::field(&["body", "callback_url"], "url", format!("callback_url {e}"), serde_json::json!(raw)))?;
    let (secret, generated) = match &req.callback_secret {
        Some(s) => (SigningSecret::parse(s).map_err(|e| ApiError::field(&["body", "callback_secret"], "secret", format!("callback_secret {e}"), serde_json::Value::Null))?, false),
        None => (SigningSecret::generate(), true),
    };
    Ok(Some(Callback { url: url.to_string(), secret, generated }))
}

/// A refused command as the caller typed it, for the audit log.
fn typed_command(req: &ExecuteRequest, extra: &[String]) -> String {
    let mut words = vec![req.command_type.clone()];
    words.extend(req.args.iter().cloned());
    words.extend(extra.iter().cloned());
    if let Some(ns) = &req.namespace {
        words.push(format!("(namespace {ns})"));
    }
    words.join(" ")
}
