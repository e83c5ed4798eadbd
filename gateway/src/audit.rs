//! The audit trail: one record per command on `KUBENTLY_AUDIT` (`kubently.audit.<cluster>`) —
//! who, which cluster, the command as typed, outcome, correlation id. Never the output.
//!
//! Queries reach the whole retention window: `since`/`until` are turned into stream sequences
//! (JetStream finds the first record at or after a time), and the range between is read newest
//! first, a window of sequences at a time, until `limit` records match; the page's cursor is the
//! sequence to continue below. A query waits (briefly) for this gateway's audit writes still in
//! flight, so a query right after a command sees its record, and a read that stalls is an error,
//! never a silently short page.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use futures::StreamExt;
use kubently_shared::names::{HEADER_MSG_ID, Names};
use kubently_shared::protocol::Command;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::RwLock;
use utoipa::ToSchema;

/// Sequences read per window while paging backwards.
const WINDOW: u64 = 2_000;
/// How long a query waits for this gateway's audit writes in flight.
const DRAIN_WAIT: Duration = Duration::from_secs(2);
/// A read of the stream that delivers nothing for this long has stalled (an error).
const READ_STALL: Duration = Duration::from_secs(5);
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
    /// For a bearer-token caller: the issuer that vouched for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// For a bearer-token caller: its subject (`sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
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
            issuer: command.caller.token.as_ref().map(|t| t.issuer.clone()),
            subject: command.caller.token.as_ref().map(|t| t.subject.clone()),
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
        caller: &kubently_shared::protocol::Caller,
        cluster_id: &str,
        typed: String,
        correlation_id: Option<String>,
        error: &str,
    ) -> Self {
        Self {
            timestamp: OffsetDateTime::now_utc(),
            entry_type: "command_rejected".into(),
            service_identity: caller.service.clone(),
            issuer: caller.token.as_ref().map(|t| t.issuer.clone()),
            subject: caller.token.as_ref().map(|t| t.subject.clone()),
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
    /// Continue below this stream sequence (the previous page's cursor).
    pub before: Option<u64>,
}

/// A page of audit records, newest first.
#[derive(Debug, Default)]
pub struct AuditRecords {
    pub entries: Vec<AuditEntry>,
    /// Where the next (older) page starts: `None` when there is nothing older.
    pub next_before: Option<u64>,
}

#[derive(Clone)]
pub struct AuditLog {
    js: jetstream::Context,
    names: Names,
    /// Held (shared) by every write in flight; a query takes it exclusively to wait for them.
    writes: Arc<RwLock<()>>,
}

impl AuditLog {
    pub fn new(js: jetstream::Context, names: Names) -> Self {
        Self { js, names, writes: Arc::default() }
    }

    /// Stores `entry` in the background (the ack is awaited there; transient failures are
    /// retried for [`kubently_shared::events::EVENT_PATIENCE`] under one message id, so a leader
    /// election stores it once; what still fails is logged).
    pub fn record(&self, entry: AuditEntry) {
        let subject = self.names.audit_subject(&entry.cluster_id);
        let js = self.js.clone();
        let Ok(in_flight) = self.writes.clone().try_read_owned() else {
            // A query is draining the writes before it: this one waits its turn in the background.
            let log = self.clone();
            tokio::spawn(async move {
                let _ = log.writes.read().await;
                log.record(entry);
            });
            return;
        };
        tokio::spawn(async move {
            let _in_flight = in_flight;
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

    /// Newest first, at most `query.limit`, continuing below `query.before`.
    pub async fn query(&self, query: &AuditQuery) -> Result<AuditRecords, AuditReadError> {
        // This gateway's writes still in flight land first (bounded: a write retrying through an
        // outage does not hold queries up).
        let _ = tokio::time::timeout(DRAIN_WAIT, self.writes.write()).await;
        self.scan(query).await.map_err(AuditReadError)
    }

    async fn scan(&self, query: &AuditQuery) -> Result<AuditRecords, async_nats::Error> {
        let mut stream = self.js.get_stream(self.names.audit_stream()).await?;
        let state = stream.info().await?.state.clone();
        if state.messages == 0 {
            return Ok(AuditRecords::default());
        }
        let filter = query
            .cluster_id
            .as_deref()
            .map(|c| self.names.audit_subject(c))
            .unwrap_or_else(|| self.names.audit_subjects());
        // The sequence range [low, high] the time bounds and the cursor allow.
        let mut high = state.last_sequence;
        if let Some(until) = query.until
            && let Some(after) =
                self.first_at_or_after(&stream, &filter, until + time::Duration::nanoseconds(1)).await?
        {
            high = high.min(after.saturating_sub(1));
        }
        if let Some(before) = query.before {
            high = high.min(before.saturating_sub(1));
        }
        let low = match query.since {
            Some(since) => match self.first_at_or_after(&stream, &filter, since).await? {
                Some(seq) => seq,
                None => return Ok(AuditRecords::default()),
            },
            None => state.first_sequence.max(1),
        };
        let mut found: Vec<(u64, AuditEntry)> = Vec::new();
        while high >= low && found.len() < query.limit {
            let start = high.saturating_sub(WINDOW - 1).max(low);
            let mut window = self.read_range(&stream, &filter, start, high, query).await?;
            window.reverse();
            found.extend(window);
            high = start.saturating_sub(1);
            if start == 0 {
                break;
            }
        }
        found.truncate(query.limit);
        let next_before = match found.last() {
            Some((seq, _)) if found.len() == query.limit && *seq > low => Some(*seq),
            _ => None,
        };
        Ok(AuditRecords { entries: found.into_iter().map(|(_, e)| e).collect(), next_before })
    }

    /// The first record on `filter` stored at or after `at`, if any.
    async fn first_at_or_after(
        &self,
        stream: &jetstream::stream::Stream,
        filter: &str,
        at: OffsetDateTime,
    ) -> Result<Option<u64>, async_nats::Error> {
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: filter.to_string(),
                deliver_policy: consumer::DeliverPolicy::ByStartTime { start_time: at },
                ..Default::default()
            })
            .await?;
        let mut info = consumer.clone();
        if info.info().await?.num_pending == 0 {
            return Ok(None);
        }
        let mut messages = consumer.messages().await?;
        match tokio::time::timeout(READ_STALL, messages.next()).await {
            Ok(Some(msg)) => Ok(Some(msg?.info()?.stream_sequence)),
            Ok(None) => Ok(None),
            Err(_) => Err("the audit stream stalled while seeking by time".into()),
        }
    }

    /// The records on `filter` with sequences in `[start, end]` that match `query`, oldest first.
    async fn read_range(
        &self,
        stream: &jetstream::stream::Stream,
        filter: &str,
        start: u64,
        end: u64,
        query: &AuditQuery,
    ) -> Result<Vec<(u64, AuditEntry)>, async_nats::Error> {
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: filter.to_string(),
                deliver_policy: consumer::DeliverPolicy::ByStartSequence { start_sequence: start },
                ..Default::default()
            })
            .await?;
        let mut info = consumer.clone();
        if info.info().await?.num_pending == 0 {
            return Ok(Vec::new());
        }
        let mut messages = consumer.messages().await?;
        let mut found = Vec::new();
        loop {
            let msg = match tokio::time::timeout(READ_STALL, messages.next()).await {
                Ok(Some(msg)) => msg?,
                Ok(None) => break,
                Err(_) => return Err("the audit stream stalled while reading a range".into()),
            };
            let info = msg.info()?;
            let (seq, pending) = (info.stream_sequence, info.pending);
            if seq > end {
                break;
            }
            if let Ok(entry) = serde_json::from_slice::<AuditEntry>(&msg.payload)
                && matches(query, &entry)
            {
                found.push((seq, entry));
            }
            if pending == 0 || seq == end {
                break;
            }
        }
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
