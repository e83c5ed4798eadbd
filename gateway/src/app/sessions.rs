//! Debug sessions: open (the cluster turns active for the session's TTL), read, keep alive with
//! every command, close. A session belongs to the caller that opened it.

use std::time::Duration;

use kubently_shared::protocol::{Event, EventType, SessionRecord};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::access;
use super::headers::AgentHeaders;
use super::input::{check_cluster_id, check_correlation_id, finish};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{AppError, AppResult, FieldError};
use crate::session_store::{NewSession, SessionStatus};

pub const TTL_MIN: u32 = 60;
pub const TTL_MAX: u32 = 3600;
pub const TTL_DEFAULT: u32 = 300;

/// A session as a caller asks for it.
#[derive(Debug, Clone)]
pub struct SessionRequest {
    pub cluster_id: String,
    pub user_id: Option<String>,
    /// Overridden by the `X-Correlation-ID` header.
    pub correlation_id: Option<String>,
    /// Overridden by the `X-Service-Identity` header.
    pub service_identity: Option<String>,
    pub ttl_seconds: u32,
}

impl SessionRequest {
    fn validate(&self) -> AppResult<()> {
        let mut errors = Vec::new();
        check_cluster_id(&self.cluster_id, &mut errors);
        check_correlation_id(self.correlation_id.as_deref(), &mut errors);
        if !(TTL_MIN..=TTL_MAX).contains(&self.ttl_seconds) {
            errors.push(FieldError::new(
                &["body", "ttl_seconds"],
                "range",
                format!("ttl_seconds must be between {TTL_MIN} and {TTL_MAX}"),
                json!(self.ttl_seconds),
            ));
        }
        finish(errors)
    }
}

/// A session as every door shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = SessionResponse)]
pub struct SessionView {
    pub session_id: String,
    pub cluster_id: String,
    pub status: SessionStatus,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Moves forward on every execute in the session.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
    pub ttl_seconds: u32,
    pub correlation_id: Option<String>,
    pub service_identity: Option<String>,
    pub command_count: u64,
}

impl SessionView {
    pub fn of(r: &SessionRecord) -> Self {
        Self {
            session_id: r.session_id.clone(),
            cluster_id: r.cluster_id.clone(),
            status: SessionStatus::of(r, OffsetDateTime::now_utc()),
            created_at: r.created_at,
            expires_at: r.expires_at,
            ttl_seconds: r.ttl_seconds,
            correlation_id: r.correlation_id.clone(),
            service_identity: r.service_identity.clone(),
            command_count: r.command_count,
        }
    }
}

/// Validates and opens a session; the cluster is marked active (executor in fast mode) for its TTL.
pub async fn open(
    state: &AppState,
    caller: &Caller,
    headers: AgentHeaders,
    req: SessionRequest,
) -> AppResult<SessionView> {
    req.validate()?;
    access::ensure_cluster(state, caller, &req.cluster_id)?;
    let record = state
        .sessions
        .create(NewSession {
            cluster_id: req.cluster_id,
            owner: caller.service.clone(),
            user_id: req.user_id,
            correlation_id: headers.correlation_id.or(req.correlation_id),
            service_identity: headers
                .service_identity
                .or(req.service_identity)
                .or_else(|| Some(caller.service.clone())),
            ttl_seconds: req.ttl_seconds,
        })
        .await
        .map_err(AppError::internal("creating the session"))?;
    state.activity.mark(&record.cluster_id, Duration::from_secs(u64::from(record.ttl_seconds)));
    let data = json!({"session_id": record.session_id, "owner": record.owner, "ttl_seconds": record.ttl_seconds, "correlation_id": record.correlation_id});
    let event = Event::new(EventType::SessionCreated, &record.cluster_id, data, OffsetDateTime::now_utc());
    state.events.publish(event.by(&record.owner));
    tracing::info!(session_id = %record.session_id, cluster_id = %record.cluster_id, ttl_seconds = record.ttl_seconds, "session created");
    Ok(SessionView::of(&record))
}

/// The caller's session, whatever its status.
pub async fn get(state: &AppState, caller: &Caller, id: &str) -> AppResult<SessionView> {
    Ok(SessionView::of(&access::session(state, caller, id).await?))
}

/// Ends the caller's session; it stays readable with status `ended` for the retention period.
pub async fn close(state: &AppState, caller: &Caller, id: &str) -> AppResult<SessionView> {
    let record = access::session(state, caller, id).await?;
    if record.ended_at.is_some() {
        return Err(AppError::NotFound("Session not found (already ended)".into()));
    }
    let record = state.sessions.end(record).await.map_err(AppError::internal("ending the session"))?;
    let data = json!({"session_id": record.session_id, "owner": record.owner, "command_count": record.command_count});
    let event = Event::new(EventType::SessionClosed, &record.cluster_id, data, OffsetDateTime::now_utc());
    state.events.publish(event.by(&record.owner));
    Ok(SessionView::of(&record))
}

/// The caller's active session `id` on `cluster_id`, for running a command in it.
pub async fn active(
    state: &AppState,
    caller: &Caller,
    id: &str,
    cluster_id: &str,
) -> AppResult<SessionRecord> {
    let record = access::session(state, caller, id).await?;
    match SessionStatus::of(&record, OffsetDateTime::now_utc()) {
        SessionStatus::Active => {}
        status => {
            return Err(AppError::NotFound(format!(
                "Session not found: session {id} has {}",
                status.as_str()
            )));
        }
    }
    if record.cluster_id != cluster_id {
        return Err(AppError::BadRequest(format!(
            "Session cluster mismatch: session {id} is for cluster '{}', not '{cluster_id}'",
            record.cluster_id
        )));
    }
    Ok(record)
}

/// One more command in the session: `expires_at` moves on (a failure only costs the keep-alive).
pub async fn keep_alive(state: &AppState, session: Option<SessionRecord>) {
    if let Some(record) = session
        && let Err(e) = state.sessions.touch(record).await
    {
        tracing::warn!(error = %crate::error::chain(&e), "session keep-alive failed");
    }
}
