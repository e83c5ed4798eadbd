//! `POST /debug/session`, `GET|DELETE /debug/session/{id}`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::models::CreateSessionRequest;
use super::{Body, PathParam};
use crate::AppState;
use crate::app::headers::AgentHeaders;
use crate::app::sessions::{self, SessionView};
use crate::auth::Caller;
use crate::error::AppResult;

/// Opens a debug session; the cluster is marked active (executor in fast mode) for its TTL.
#[utoipa::path(post, path = "/debug/session", tag = "sessions", request_body = CreateSessionRequest,
    params(
        ("X-Correlation-ID" = Option<String>, Header, description = "Overrides the body's correlation_id; returned and audited", pattern = r"^[ -~]*$", max_length = 256),
        ("X-Service-Identity" = Option<String>, Header, description = "Overrides the body's service_identity", pattern = r"^[ -~]*$", max_length = 256),
        ("X-Request-Timeout" = Option<u64>, Header, description = "Seconds, 1–60; overrides timeout_seconds", minimum = 1, maximum = 60)),
    responses((status = 201, body = SessionView),
        (status = 403, description = "the key may not use this cluster", body = super::models::ErrorBody),
        (status = 404, description = "unknown cluster (no executor ever connected for it)", body = super::models::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: AgentHeaders,
    body: Body<CreateSessionRequest>,
) -> AppResult<(StatusCode, Json<SessionView>)> {
    let Json(req) = body?;
    Ok((StatusCode::CREATED, Json(sessions::open(&state, &caller, headers, req.into()).await?)))
}

/// A session's real status (`active`, `expired`, `ended`); `expires_at` moves with each execute.
#[utoipa::path(get, path = "/debug/session/{session_id}", tag = "sessions",
    params(("session_id" = uuid::Uuid, Path, description = "A session id (UUID); anything else is a 404")),
    responses((status = 200, body = SessionView), (status = 404, description = "not found or not yours", body = super::models::ErrorBody)),
    security(("api_key" = [])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<String>,
) -> AppResult<Json<SessionView>> {
    Ok(Json(sessions::get(&state, &caller, &id).await?))
}

/// Ends a session (204); it stays readable with status `ended` for the retention period.
#[utoipa::path(delete, path = "/debug/session/{session_id}", tag = "sessions",
    params(("session_id" = uuid::Uuid, Path, description = "A session id (UUID); anything else is a 404")),
    responses((status = 204, description = "ended"), (status = 404, description = "not found, not yours, or already ended", body = super::models::ErrorBody)),
    security(("api_key" = [])))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<String>,
) -> AppResult<StatusCode> {
    sessions::close(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
