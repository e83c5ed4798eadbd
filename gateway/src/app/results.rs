//! Stored results (kept for an hour), paged, so an agent can read an output that was cut to its
//! budget piece by piece, or search it ([`super::result_search`]), and async commands' results
//! (`pending` until the executor answers).

use kubently_shared::budget;
use kubently_shared::results;
use serde_json::json;

use super::access;
use super::result_search::Search;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::outcome::{ResultPage, Taken, is_overdue, searched_page_of};

/// A page of the caller's result `id`: `limit` bytes (default: the deployment's output budget)
/// from byte `offset`.
pub async fn read(
    state: &AppState,
    caller: &Caller,
    id: &str,
    offset: Option<u64>,
    limit: Option<u64>,
) -> AppResult<ResultPage> {
    search(state, caller, id, offset, limit, None).await
}

/// [`read`] the lines of the caller's result `id` that `search` finds (paged the same way), or
/// all of it without a search.
pub async fn search(
    state: &AppState,
    caller: &Caller,
    id: &str,
    offset: Option<u64>,
    limit: Option<u64>,
    search: Option<&Search>,
) -> AppResult<ResultPage> {
    let limit = limit.unwrap_or(state.settings.commands.output_budget_bytes);
    if !(1..=budget::MAX_BUDGET_BYTES as u64).contains(&limit) {
        return Err(AppError::field(
            &["query", "limit"],
            "range",
            format!("limit must be between 1 and {} bytes", budget::MAX_BUDGET_BYTES),
            json!(limit),
        ));
    }
    let not_found = || {
        AppError::NotFound(format!(
            "No result for command {id} (results are kept for 1 hour and only for the caller that ran the command)"
        ))
    };
    let Ok(uuid) = uuid::Uuid::parse_str(id) else {
        return Err(AppError::NotFound("No result for that command id (command ids are UUIDs)".into()));
    };
    let result = results::find(&state.buckets.results, uuid)
        .await
        .map_err(AppError::internal("reading the result"))?
        .ok_or_else(not_found)?;
    if !access::may_read_result(caller, result.caller.as_deref(), &result.cluster_id) {
        return Err(not_found());
    }
    let taken = if is_overdue(&result) {
        Taken::read(&state.buckets.claims, &result.cluster_id, result.command_id).await
    } else {
        Taken::Unknown
    };
    Ok(searched_page_of(&state.registry, &result, offset.unwrap_or(0), limit, &taken, search))
}
