//! Debug sessions in the sessions bucket. A record carries its own `expires_at`, so `GET` can
//! tell `active`, `expired` and `ended` apart; the per-key TTL (the session's TTL plus the
//! retention period) only garbage-collects it. Every execute in a session moves `expires_at`.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use kubently_shared::kv_ttl;
use kubently_shared::protocol::{self, PROTOCOL_VERSION, SessionRecord};
use time::OffsetDateTime;

/// `active`, `expired` or `ended`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    Active,
    Expired,
    Ended,
}

impl SessionStatus {
    pub fn of(record: &SessionRecord, now: OffsetDateTime) -> Self {
        if record.ended_at.is_some() {
            Self::Ended
        } else if record.is_expired(now) {
            Self::Expired
        } else {
            Self::Active
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Ended => "ended",
        }
    }
}

/// Why the sessions bucket could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("reading session {key}: {source}")]
    Read {
        key: String,
        #[source]
        source: kv::EntryError,
    },
    #[error(transparent)]
    Shared(#[from] kubently_shared::Error),
}

pub struct NewSession {
    pub cluster_id: String,
    pub owner: String,
    pub user_id: Option<String>,
    pub correlation_id: Option<String>,
    pub service_identity: Option<String>,
    pub ttl_seconds: u32,
}

#[derive(Clone)]
pub struct SessionStore {
    js: jetstream::Context,
    store: kv::Store,
    retention: Duration,
}

impl SessionStore {
    pub fn new(js: jetstream::Context, store: kv::Store, retention: Duration) -> Self {
        Self { js, store, retention }
    }

    pub async fn create(&self, new: NewSession) -> Result<SessionRecord, StoreError> {
        let now = OffsetDateTime::now_utc();
        let ttl = time::Duration::seconds(i64::from(new.ttl_seconds));
        let record = SessionRecord {
            v: PROTOCOL_VERSION,
            session_id: uuid::Uuid::new_v4().to_string(),
            cluster_id: new.cluster_id,
            owner: new.owner,
            user_id: new.user_id,
            correlation_id: new.correlation_id,
            service_identity: new.service_identity,
            created_at: now,
            ttl_seconds: new.ttl_seconds,
            last_activity: now,
            expires_at: now + ttl,
            command_count: 0,
            ended_at: None,
        };
        self.save(&record, now).await?;
        Ok(record)
    }

    pub async fn get(&self, session_id: &str) -> Result<Option<SessionRecord>, StoreError> {
        if uuid::Uuid::parse_str(session_id).is_err() {
            return Ok(None); // not a key we could have written (and maybe not a valid KV key)
        }
        match self
            .store
            .get(session_id)
            .await
            .map_err(|source| StoreError::Read { key: session_id.to_string(), source })?
        {
            Some(bytes) => Ok(Some(protocol::decode(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Keep-alive: one more command, `expires_at` = now + TTL.
    pub async fn touch(&self, mut record: SessionRecord) -> Result<SessionRecord, StoreError> {
        let now = OffsetDateTime::now_utc();
        record.last_activity = now;
        record.expires_at = now + time::Duration::seconds(i64::from(record.ttl_seconds));
        record.command_count += 1;
        self.save(&record, now).await?;
        Ok(record)
    }

    pub async fn end(&self, mut record: SessionRecord) -> Result<SessionRecord, StoreError> {
        let now = OffsetDateTime::now_utc();
        record.ended_at = Some(now);
        self.save(&record, now).await?;
        Ok(record)
    }

    /// Written with a per-key TTL that outlives the session by the retention period.
    async fn save(&self, record: &SessionRecord, now: OffsetDateTime) -> Result<(), StoreError> {
        let alive =
            if record.ended_at.is_some() { Duration::ZERO } else { (record.expires_at - now).unsigned_abs() };
        let value = protocol::encode(record)?;
        kv_ttl::put_with_ttl(&self.js, &self.store, &record.session_id, value, alive + self.retention)
            .await?;
        Ok(())
    }
}

impl SessionStore {
    /// Keeps the active-sessions gauge current across gateway replicas by following the bucket.
    pub async fn watch_active(self, metrics: std::sync::Arc<crate::metrics::Metrics>) {
        use futures::StreamExt;
        let mut watch = match self.store.watch_with_history(">").await {
            Ok(w) => w,
            Err(e) => {
                return tracing::error!(error = %e, "cannot watch sessions; the active-sessions gauge stays 0");
            }
        };
        let mut live: std::collections::HashMap<String, SessionRecord> = std::collections::HashMap::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                entry = watch.next() => match entry {
                    Some(Ok(e)) if e.operation == kv::Operation::Put => {
                        if let Ok(record) = protocol::decode::<SessionRecord>(&e.value) {
                            live.insert(e.key, record);
                        }
                    }
                    Some(Ok(e)) => { live.remove(&e.key); }
                    Some(Err(e)) => tracing::warn!(error = %e, "sessions watch error"),
                    None => return,
                },
                _ = tick.tick() => {}
            }
            let now = OffsetDateTime::now_utc();
            live.retain(|_, r| SessionStatus::of(r, now) == SessionStatus::Active);
            metrics.active_sessions.set(live.len() as i64);
        }
    }
}
