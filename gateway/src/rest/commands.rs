//! `POST /debug/execute`, `POST /debug/execute/async`, `POST /debug/execute/fanout`,
//! `GET /debug/result/{command_id}`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use kubently_shared::protocol::CommandStatus;
use serde::Deserialize;

use super::models::{AsyncAccepted, ExecuteRequest, FanoutExecuteRequest};
use super::{Body, PathParam, QueryOf};
use crate::AppState;
use crate::app::commands::{self, CommandOutcome};
use crate::app::fanout::{self, FanoutOutcome};
use crate::app::headers::AgentHeaders;
use crate::app::result_search::SearchRequest;
use crate::app::{input, results};
use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::outcome::ResultPage;

/// Runs one read-only command and waits for its result (`status` `success`, `failure` or
/// `timeout`; a timeout says whether no executor was connected or the executor was too slow).
#[utoipa::path(post, path = "/debug/execute", tag = "commands", request_body = ExecuteRequest,
    params(
        ("X-Correlation-ID" = Option<String>, Header, description = "Overrides the body's correlation_id; returned and audited", pattern = r"^[ -~]*$", max_length = 256),
        ("X-Service-Identity" = Option<String>, Header, description = "Overrides the body's service_identity", pattern = r"^[ -~]*$", max_length = 256),
        ("X-Request-Timeout" = Option<u64>, Header, description = "Seconds, 1–60; overrides timeout_seconds", minimum = 1, maximum = 60)),
    responses((status = 200, body = CommandOutcome), (status = 400, description = "session of another cluster", body = super::models::ErrorBody),
        (status = 403, description = "the key may not use this cluster", body = super::models::ErrorBody),
        (status = 404, description = "unknown cluster or session", body = super::models::ErrorBody),
        (status = 422, description = "refused by the read-only policy, or invalid", body = super::models::ValidationErrorBody),
        (status = 503, description = "NATS did not do its part (retry)", body = super::models::ErrorBody)),
    security(("api_key" = [])))]
pub async fn execute(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: AgentHeaders,
    body: Body<ExecuteRequest>,
) -> AppResult<Json<CommandOutcome>> {
    let Json(req) = body?;
    let input = input::prepare(&state, &caller, headers, req.into())?;
    if input.callback.is_some() {
        return Err(AppError::field(
            &["body", "callback_url"],
            "async_only",
            "callback_url is only for POST /debug/execute/async (this endpoint answers with the result)",
            serde_json::Value::Null,
        ));
    }
    Ok(Json(commands::execute(&state, &caller, input).await?))
}

/// Runs one read-only command on many clusters (`cluster_ids`, or `"*"` for every cluster the key
/// may use) and answers with each cluster's result, the clusters with identical answers grouped,
/// and the clusters skipped with why (not permitted, unknown, not connected). Partial results
/// are a normal 200: only a request that is wrong in itself is an error.
#[utoipa::path(post, path = "/debug/execute/fanout", tag = "commands", request_body = FanoutExecuteRequest,
    params(
        ("X-Correlation-ID" = Option<String>, Header, description = "Overrides the body's correlation_id; every cluster's audit record carries it", pattern = r"^[ -~]*$", max_length = 256),
        ("X-Service-Identity" = Option<String>, Header, description = "Overrides the body's service_identity", pattern = r"^[ -~]*$", max_length = 256),
        ("X-Request-Timeout" = Option<u64>, Header, description = "Seconds, 1–60; each cluster's deadline; overrides timeout_seconds", minimum = 1, maximum = 60)),
    responses((status = 200, body = FanoutOutcome),
        (status = 422, description = "refused by the read-only policy, or invalid (empty, duplicate or too many cluster_ids)", body = super::models::ValidationErrorBody)),
    security(("api_key" = [])))]
pub async fn execute_fanout(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: AgentHeaders,
    body: Body<FanoutExecuteRequest>,
) -> AppResult<Json<FanoutOutcome>> {
    let Json(req) = body?;
    Ok(Json(fanout::run(&state, &caller, headers, req.into()).await?))
}

/// Queues one read-only command and returns at once (202); the result is read later from
/// `result_url` (`pending` until the executor answers; `timeout` if nobody did by the deadline).
#[utoipa::path(post, path = "/debug/execute/async", tag = "commands", request_body = ExecuteRequest,
    params(
        ("X-Correlation-ID" = Option<String>, Header, description = "Overrides the body's correlation_id; returned and audited", pattern = r"^[ -~]*$", max_length = 256),
        ("X-Service-Identity" = Option<String>, Header, description = "Overrides the body's service_identity", pattern = r"^[ -~]*$", max_length = 256),
        ("X-Request-Timeout" = Option<u64>, Header, description = "Seconds, 1–60; overrides timeout_seconds", minimum = 1, maximum = 60)),
    responses((status = 202, body = AsyncAccepted), (status = 400, description = "session of another cluster", body = super::models::ErrorBody),
        (status = 403, description = "the key may not use this cluster", body = super::models::ErrorBody),
        (status = 404, description = "unknown cluster or session", body = super::models::ErrorBody),
        (status = 422, description = "refused by the read-only policy, or invalid (a callback_url the deployment does not allow)", body = super::models::ValidationErrorBody),
        (status = 503, description = "NATS did not do its part (retry)", body = super::models::ErrorBody)),
    security(("api_key" = [])))]
pub async fn execute_async(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: AgentHeaders,
    body: Body<ExecuteRequest>,
) -> AppResult<(StatusCode, Json<AsyncAccepted>)> {
    let Json(req) = body?;
    let input = input::prepare(&state, &caller, headers, req.into())?;
    let callback_secret = input.callback.as_ref().filter(|c| c.generated).map(|c| c.secret.encoded());
    let id = commands::execute_async(&state, &caller, input).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(AsyncAccepted {
            command_id: id.to_string(),
            status: CommandStatus::Pending,
            result_url: format!("/debug/result/{id}"),
            callback_secret,
        }),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Byte offset into the full output (the truncation note gives the first one).
    #[param(minimum = 0)]
    pub offset: Option<u64>,
    /// Page size in bytes, 1–1048576 (default: the deployment's output budget).
    #[param(minimum = 1, maximum = 1048576)]
    pub limit: Option<u64>,
    /// Only the lines matching this regular expression (Rust `regex` syntax, linear time; at most
    /// 512 bytes; `(?i)` for case-insensitive), numbered as `grep -n` does (`12:` a match, `11-` a
    /// context line). `offset`, `limit`, `next_offset` and `total_bytes` then page these lines.
    #[param(max_length = 512)]
    pub grep: Option<String>,
    /// Lines of context before and after each match, 0–20 (with `grep`).
    #[param(minimum = 0, maximum = 20)]
    pub context: Option<u32>,
    /// Only count the matching lines (with `grep`): `matches`, and one line saying how many.
    pub count: Option<bool>,
}

/// A page of a command's full output (kept for an hour); only the caller that ran it (or an
/// admin) may read it.
#[utoipa::path(get, path = "/debug/result/{command_id}", tag = "commands", params(("command_id" = uuid::Uuid, Path, description = "A command id (UUID); anything else is a 404"), PageParams),
    responses((status = 200, body = ResultPage), (status = 404, description = "unknown, expired (1 h), or not yours", body = super::models::ErrorBody),
        (status = 422, description = "a limit or context out of range, a grep that is not a regular expression (or too long), context or count without grep, or a query string that does not parse", body = super::models::ValidationErrorBody)),
    security(("api_key" = [])))]
pub async fn result(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<String>,
    query: QueryOf<PageParams>,
) -> AppResult<Json<ResultPage>> {
    let Query(p) = query?;
    let search = SearchRequest { grep: p.grep, context: p.context, count: p.count }.check("query")?;
    Ok(Json(results::search(&state, &caller, &id, p.offset, p.limit, search.as_ref()).await?))
}
