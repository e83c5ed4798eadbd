//! `POST /debug/session`, `GET|DELETE /debug/session/{id}`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kubently_shared::protocol::{Event, EventType, SessionRecord};
use serde_json::json;
use time::OffsetDateTime;

use crate::api::headers::AgentHeaders;
use crate::api::models::{CreateSessionRequest, SessionResponse};
use crate::auth::Caller;
use crate::commands;
use crate::error::{ApiError, ApiResult};
use crate::sessions::{NewSession, SessionStatus};
use crate::AppState;

pub fn response(r: &SessionRecord) -> SessionResponse {
    SessionResponse {
        session_id: r.session_id.clone(),
        cluster_id: r.cluster_id.clone(),
        status: SessionStatus::of(r, OffsetDateTime::now_utc()).as_str().into(),
        created_at: r.created_at,
        expires_at: r.expires_at,
        ttl_seconds: r.ttl_seconds,
        correlation_id: r.correlation_id.clone(),
        service_identity: r.service_identity.clone(),
        command_count: r.command_count,
    }
}

/// Opens a debug session; the cluster is marked active (executor in fast mode) for its TTL.
#[utoipa::path(post, path = "/debug/session", tag = "sessions", request_body = CreateSessionRequest,
    responses((status = 201, body = SessionResponse), (status = 404, description = "unknown cluster"), (status = 422, description = "validation error")),
    security(("api_key" = [])))]
pub async fn create(State(state): State<Arc<AppState>>, caller: Caller, headers: AgentHeaders, body: Result<Json<CreateSessionRequest>, axum::extract::rejection::JsonRejection>) -> ApiResult<(StatusCode, Json<SessionResponse>)> {
    let Json(req) = body?;
    let record = open(&state, &caller, headers, req).await?;
    Ok((StatusCode::CREATED, Json(response(&record))))
}

/// Validates and opens a session (every door).
pub async fn open(state: &AppState, caller: &Caller, headers: AgentHeaders, req: CreateSessionRequest) -> ApiResult<SessionRecord> {
    req.validate()?;
    commands::ensure_cluster(state, caller, &req.cluster_id)?;
    let record = state
        .sessions
        .create(NewSession {
            cluster_id: req.cluster_id.clone(),
            owner: caller.service.clone(),
            user_id: req.user_id,
            correlation_id: headers.correlation_id.or(req.correlation_id),
            service_identity: headers.service_identity.or(req.service_identity).or_else(|| Some(caller.service.clone())),
            ttl_seconds: req.ttl_seconds,
        })
        .await
        .map_err(|e| ApiError::internal("creating the session", e))?;
    state.activity.mark(&record.cluster_id, Duration::from_secs(u64::from(record.ttl_seconds)));
    let data = json!({"session_id": record.session_id, "owner": record.owner, "ttl_seconds": record.ttl_seconds, "correlation_id": record.correlation_id});
    state.events.publish(Event::new(EventType::SessionCreated, &record.cluster_id, data, OffsetDateTime::now_utc()));
    tracing::info!(session_id = %record.session_id, cluster_id = %record.cluster_id, ttl_seconds = record.ttl_seconds, "session created");
    Ok(record)
}

pub async fn owned(state: &AppState, caller: &Caller, id: &str) -> ApiResult<SessionRecord> {
    state
        .sessions
        .get(id)
        .await
        .map_err(|e| ApiError::internal("reading the session", e))?
        .filter(|r| caller.may_read_owned_by(&r.owner))
        .ok_or_else(|| ApiError::NotFound("Session not found".into()))
}

/// A session's real status (`active`, `expired`, `ended`); `expires_at` moves with each execute.
#[utoipa::path(get, path = "/debug/session/{session_id}", tag = "sessions",
    params(("session_id" = String, Path)), responses((status = 200, body = SessionResponse), (status = 404, description = "not found or not yours")),
    security(("api_key" = [])))]
pub async fn get(State(state): State<Arc<AppState>>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<SessionResponse>> {
    Ok(Json(response(&owned(&state, &caller, &id).await?)))
}

/// Ends a session (204); it stays readable with status `ended` for the retention period.
#[utoipa::path(delete, path = "/debug/session/{session_id}", tag = "sessions",
    params(("session_id" = String, Path)), responses((status = 204), (status = 404, description = "not found, not yours, or already ended")),
    security(("api_key" = [])))]
pub async fn delete(State(state): State<Arc<AppState>>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    close(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends the caller's session (every door).
pub async fn close(state: &AppState, caller: &Caller, id: &str) -> ApiResult<SessionRecord> {
    let record = owned(state, caller, id).await?;
    if record.ended_at.is_some() {
        return Err(ApiError::NotFound("Session not found (already ended)".into()));
    }
    let record = state.sessions.end(record).await.map_err(|e| ApiError::internal("ending the session", e))?;
    let data = json!({"session_id": record.session_id, "command_count": record.command_count});
    state.events.publish(Event::new(EventType::SessionClosed, &record.cluster_id, data, OffsetDateTime::now_utc()));
    Ok(record)
}
