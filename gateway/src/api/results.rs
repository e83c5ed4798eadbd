//! `GET /debug/result/{command_id}?offset=&limit=`: stored results (kept for an hour), paged, so
//! an agent can read an output that was cut to its budget piece by piece, and async commands'
//! results (`pending` until the executor answers).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::Json;
use kubently_shared::budget;
use kubently_shared::protocol::{self, CommandResult, ResultStatus};
use time::OffsetDateTime;
use serde::Deserialize;
use serde_json::json;

use crate::api::models::ResultPage;
use crate::auth::Caller;
use crate::commands::status_str;
use crate::error::{ApiError, ApiResult};
use crate::registry::Registry;
use crate::AppState;

/// How long after its deadline a pending command still counts as pending (the executor's answer
/// may be on its way).
pub const PENDING_GRACE: time::Duration = time::Duration::seconds(2);

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageParams {
    /// Byte offset into the full output (the truncation note gives the first one).
    pub offset: Option<u64>,
    /// Page size in bytes (default: the deployment's output budget; at most 1 MiB).
    pub limit: Option<u64>,
}

/// A page of a command's full output; only the caller that ran it (or an admin) may read it.
#[utoipa::path(get, path = "/debug/result/{command_id}", tag = "commands", params(("command_id" = String, Path), PageParams),
    responses((status = 200, body = ResultPage), (status = 404, description = "unknown, expired (1 h), or not yours"), (status = 422, description = "bad limit")),
    security(("api_key" = [])))]
pub async fn get(State(state): State<Arc<AppState>>, caller: Caller, Path(id): Path<String>, Query(p): Query<PageParams>) -> ApiResult<Json<ResultPage>> {
    Ok(Json(read(&state, &caller, &id, p.offset, p.limit).await?))
}

/// A page of the caller's result `id` (every door).
pub async fn read(state: &AppState, caller: &Caller, id: &str, offset: Option<u64>, limit: Option<u64>) -> ApiResult<ResultPage> {
    let limit = limit.unwrap_or(state.settings.commands.output_budget_bytes);
    if !(1..=budget::MAX_BUDGET_BYTES as u64).contains(&limit) {
        return Err(ApiError::field(&["query", "limit"], "range", format!("limit must be between 1 and {} bytes", budget::MAX_BUDGET_BYTES), json!(limit)));
    }
    let not_found = || ApiError::NotFound(format!("No result for command {id} (results are kept for 1 hour and only for the caller that ran the command)"));
    let uuid = uuid::Uuid::parse_str(id).map_err(|_| not_found())?;
    let bytes = state.buckets.results.get(uuid.to_string()).await.map_err(|e| ApiError::internal("reading the result", e))?.ok_or_else(not_found)?;
    let result: CommandResult = protocol::decode(&bytes).map_err(|e| ApiError::internal("decoding the result", e))?;
    if !result.caller.as_deref().is_some_and(|owner| caller.may_read_owned_by(owner)) {
        return Err(not_found());
    }
    Ok(page_of(&state.registry, &result, offset.unwrap_or(0), limit))
}

/// A page of `result` as `GET /debug/result/{id}` (and an async command's callback) shows it: a
/// pending record past its deadline is a timeout that says whether any executor was connected
/// (the executor answers a late command with an explicit expiry, which would have replaced it).
pub fn page_of(registry: &Registry, result: &CommandResult, offset: u64, limit: u64) -> ResultPage {
    let (status, error) = match result.status {
        ResultStatus::Pending if result.deadline.is_some_and(|d| OffsetDateTime::now_utc() > d + PENDING_GRACE) => {
            let why = if registry.is_connected(&result.cluster_id) {
                format!("executor did not answer by the command's deadline (cluster '{}' has a connected executor)", result.cluster_id)
            } else {
                format!("no executor connected for cluster '{}': the command was not run", result.cluster_id)
            };
            ("timeout", Some(why))
        }
        s => (status_str(s), result.error.clone()),
    };
    let (page, next) = budget::page(&result.output, usize::try_from(offset).unwrap_or(usize::MAX), limit as usize);
    ResultPage {
        command_id: result.command_id.to_string(),
        cluster_id: result.cluster_id.clone(),
        status: status.into(),
        verb: result.verb.clone(),
        error,
        execution_time_ms: result.execution_time_ms,
        executed_at: result.executed_at,
        output: page.to_string(),
        offset,
        next_offset: next.map(|n| n as u64),
        total_bytes: result.output.len() as u64,
        stored_truncated: result.meta.as_ref().is_some_and(|m| m.truncated),
    }
}
