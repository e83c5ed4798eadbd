//! Reading the audit trail: the caller's own commands (an admin key sees everyone's), newest
//! first, over the stream's whole retention, paged with a cursor.

use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::access;
use crate::AppState;
use crate::audit::{AuditEntry, AuditQuery};
use crate::auth::Caller;
use crate::error::{AppError, AppResult};

/// Which records to read.
#[derive(Debug, Default)]
pub struct AuditRequest {
    /// `command_executed` or `command_rejected`.
    pub event_type: Option<String>,
    pub cluster_id: Option<String>,
    pub session_id: Option<String>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// 1–1000, default 100.
    pub limit: Option<usize>,
    /// The previous page's `next_cursor`: continue with older records.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub count: usize,
    pub entries: Vec<AuditEntry>,
    /// Whose records these are (the caller).
    pub service_identity: String,
    /// Pass as `cursor` for the next (older) page; absent when there is none.
    pub next_cursor: Option<String>,
}

pub async fn read(state: &AppState, caller: &Caller, req: AuditRequest) -> AppResult<AuditPage> {
    let limit = req.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::field(
            &["query", "limit"],
            "range",
            "limit must be between 1 and 1000",
            json!(limit),
        ));
    }
    let page = |entries: Vec<AuditEntry>, next: Option<u64>| AuditPage {
        count: entries.len(),
        entries,
        service_identity: caller.service.clone(),
        next_cursor: next.map(|n| n.to_string()),
    };
    let before = match req.cursor.as_deref().map(str::parse::<u64>) {
        None => None,
        Some(Ok(n)) if n > 0 => Some(n),
        Some(_) => {
            return Err(AppError::field(
                &["query", "cursor"],
                "value_error",
                "cursor must be a page's next_cursor (a positive integer)",
                json!(req.cursor),
            ));
        }
    };
    if let Some(c) = &req.cluster_id
        && kubently_shared::names::validate_cluster_id(c).is_err()
    {
        return Ok(page(Vec::new(), None));
    }
    let query = AuditQuery {
        cluster_id: req.cluster_id,
        session_id: req.session_id,
        event_type: req.event_type,
        since: req.since,
        until: req.until,
        scope: access::audit_scope(caller),
        limit,
        before,
    };
    let records = state.audit.query(&query).await.map_err(AppError::internal("reading the audit log"))?;
    Ok(page(records.entries, records.next_before))
}
