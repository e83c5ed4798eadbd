//! The audit trail: one record per command on `KUBENTLY_AUDIT` (`kubently.audit.<cluster>`) —
//! who, which cluster, the command as typed, outcome, correlation id. Never the output.

use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use futures::StreamExt;
use kubently_shared::names::{HEADER_MSG_ID, Names};
use kubently_shared::protocol::Command;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Upstream's scan depth: the newest 10 000 records are searched.
const SCAN_DEPTH: u64 = 10_000;
const ERROR_CHARS: usize = 200;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub timestamp: OffsetDateTime,
    /// `command_executed`.
    #[serde(rename = "type")]
    pub entry_type: String,
    pub service_identity: String,
    pub cluster_id: String,
    pub session_id: Option<String>,
    pub command_id: String,
    /// The command as the caller typed it, e.g. `get pods -n demo-shop`.
    pub command: String,
    /// `success`, `failure`, `timeout` or `rejected`.
    pub outcome: String,
    /// First 200 characters of the error, if any.
    pub error: Option<String>,
    pub correlation_id: Option<String>,
}

/// Why the audit log could not be read.
#[derive(Debug, thiserror::Error)]
#[error("reading the audit stream: {0}")]
pub struct AuditReadError(#[source] async_nats::Error);

impl AuditEntry {
    /// A command that ran (or was accepted, or timed out).
    pub fn executed(command: &Command, typed: &str, outcome: &str, error: Option<&str>) -> Self {
        Self {
            timestamp: OffsetDateTime::now_utc(),
            entry_type: "command_executed".into(),
            service_identity: command.caller.service.clone(),
            cluster_id: command.cluster_id.clone(),
            session_id: command.session_id.clone(),
            command_id: command.id.to_string(),
            command: typed.to_string(),
            outcome: outcome.to_string(),
            error: truncate(error),
            correlation_id: command.correlation_id.clone(),
        }
    }

    /// A command the policy refused (it never reached NATS).
    pub fn rejected(
        service: &str,
        cluster_id: &str,
        typed: String,
        correlation_id: Option<String>,
        error: &str,
    ) -> Self {
        Self {
            timestamp: OffsetDateTime::now_utc(),
            entry_type: "command_rejected".into(),
            service_identity: service.to_string(),
            cluster_id: cluster_id.to_string(),
            session_id: None,
            command_id: uuid::Uuid::nil().to_string(),
            command: typed,
            outcome: "rejected".into(),
            error: truncate(Some(error)),
            correlation_id,
        }
    }
}

fn truncate(error: Option<&str>) -> Option<String> {
    error.map(|e| e.chars().take(ERROR_CHARS).collect())
}

#[derive(Debug, Default, Clone)]
pub struct AuditQuery {
    pub cluster_id: Option<String>,
    pub session_id: Option<String>,
    pub event_type: Option<String>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// Only this caller's records on these clusters (empty: every cluster); `None` = admin:
    /// everyone's everywhere.
    pub scope: Option<(String, Vec<String>)>,
    pub limit: usize,
}

#[derive(Clone)]
pub struct AuditLog {
    js: jetstream::Context,
    names: Names,
}

impl AuditLog {
    pub fn new(js: jetstream::Context, names: Names) -> Self {
        Self { js, names }
    }

    /// Stores `entry` in the background (the ack is awaited there; transient failures are
    /// retried for [`kubently_shared::events::EVENT_PATIENCE`] under one message id, so a leader
    /// election stores it once; what still fails is logged).
    pub fn record(&self, entry: AuditEntry) {
        let subject = self.names.audit_subject(&entry.cluster_id);
        let js = self.js.clone();
        tokio::spawn(async move {
            let payload = match serde_json::to_vec(&entry) {
                Ok(p) => bytes::Bytes::from(p),
                Err(e) => return tracing::error!(error = %e, "cannot encode audit entry"),
            };
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(HEADER_MSG_ID, uuid::Uuid::new_v4().to_string().as_str());
            let give_up_at = tokio::time::Instant::now() + kubently_shared::events::EVENT_PATIENCE;
            let stored = kubently_shared::retry::until(give_up_at, "store an audit record", || async {
                js.publish_with_headers(subject.clone(), headers.clone(), payload.clone()).await?.await
            })
            .await;
            if let Err(e) = stored {
                tracing::error!(command_id = %entry.command_id, error = %e, "audit record not stored");
            }
        });
    }

    /// Newest first, at most `query.limit`.
    pub async fn query(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, AuditReadError> {
        self.scan(query).await.map_err(AuditReadError)
    }

    async fn scan(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, async_nats::Error> {
        let mut stream = self.js.get_stream(self.names.audit_stream()).await?;
        let info = stream.info().await?;
        let (first, last) = (info.state.first_sequence, info.state.last_sequence);
        if info.state.messages == 0 {
            return Ok(Vec::new());
        }
        let start = last.saturating_sub(SCAN_DEPTH - 1).max(first).max(1);
        let filter = query
            .cluster_id
            .as_deref()
            .map(|c| self.names.audit_subject(c))
            .unwrap_or_else(|| self.names.audit_subjects());
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: filter,
                deliver_policy: consumer::DeliverPolicy::ByStartSequence { start_sequence: start },
                ..Default::default()
            })
            .await?;
        let mut messages = consumer.messages().await?;
        let mut found = Vec::new();
        loop {
            let next = tokio::time::timeout(Duration::from_millis(500), messages.next()).await;
            let Ok(Some(msg)) = next else { break };
            let msg = msg?;
            let info = msg.info()?;
            let (seq, pending) = (info.stream_sequence, info.pending);
            if let Ok(entry) = serde_json::from_slice::<AuditEntry>(&msg.payload)
                && matches(query, &entry)
            {
                found.push(entry);
            }
            if pending == 0 || seq >= last {
                break;
            }
        }
        found.reverse();
        found.truncate(query.limit);
        Ok(found)
    }
}

fn matches(q: &AuditQuery, e: &AuditEntry) -> bool {
    q.scope.as_ref().is_none_or(|(service, clusters)| {
        *service == e.service_identity && (clusters.is_empty() || clusters.contains(&e.cluster_id))
    }) && q.session_id.as_deref().is_none_or(|s| Some(s) == e.session_id.as_deref())
        && q.event_type.as_deref().is_none_or(|t| t == e.entry_type)
        && q.since.is_none_or(|t| e.timestamp >= t)
        && q.until.is_none_or(|t| e.timestamp <= t)
}
