//! `GET /audit`: the caller's own commands (an admin key sees everyone's), newest first.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::QueryOf;
use crate::AppState;
use crate::app::audit::{self, AuditPage, AuditRequest};
use crate::auth::Caller;
use crate::error::{AppError, AppResult};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// `command_executed` or `command_rejected`.
    pub event_type: Option<String>,
    pub cluster_id: Option<String>,
    pub session_id: Option<String>,
    /// ISO 8601; without an offset it is UTC.
    pub since: Option<String>,
    pub until: Option<String>,
    /// 1–1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// The previous page's `next_cursor`: the next (older) records.
    pub cursor: Option<String>,
}

fn parse_time(name: &str, value: &str) -> AppResult<OffsetDateTime> {
    use time::format_description::well_known::Iso8601;
    OffsetDateTime::parse(value, &Iso8601::DEFAULT)
        .or_else(|_| PrimitiveDateTime::parse(value, &Iso8601::DEFAULT).map(PrimitiveDateTime::assume_utc))
        .map_err(|_| AppError::BadRequest(format!("Invalid {name}: expected ISO 8601, got '{value}'")))
}

/// Audit records: who ran what on which cluster, the outcome and correlation id — never output.
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditParams),
    responses((status = 200, body = AuditPage), (status = 400, description = "`since` or `until` is not ISO 8601", body = super::models::ErrorBody),
        (status = 422, description = "a limit out of range, or a query string that does not parse", body = super::models::ValidationErrorBody)),
    security(("api_key" = [])))]
pub async fn audit(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    query: QueryOf<AuditParams>,
) -> AppResult<Json<AuditPage>> {
    let Query(p) = query?;
    let req = AuditRequest {
        event_type: p.event_type,
        cluster_id: p.cluster_id,
        session_id: p.session_id,
        since: p.since.as_deref().map(|v| parse_time("since", v)).transpose()?,
        until: p.until.as_deref().map(|v| parse_time("until", v)).transpose()?,
        limit: p.limit,
        cursor: p.cursor,
    };
    Ok(Json(audit::read(&state, &caller, req).await?))
}
