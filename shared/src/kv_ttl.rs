//! Per-key TTL writes, compare-and-set writes and consistent reads of KV buckets, which
//! async-nats 0.51 lacks or gets wrong.
//!
//! * Its reads use direct get when the bucket allows it, and any replica of an R3 bucket answers
//!   those, a lagging follower included: a key written a millisecond ago can read as absent.
//!   [`latest`] asks the stream leader, so it sees every acknowledged write; every
//!   compare-and-set loop here reads through it.
//! * There is no `put_with_ttl`: [`put_with_ttl`] publishes to `$KV.<bucket>.<key>` through
//!   JetStream with a `Nats-TTL: <n>s` header and waits for the ack.
//! * `Store::create_with_ttl` over a delete/purge/expiry marker falls back to a plain `update`
//!   and silently drops the TTL: [`create_with_ttl`] is a compare-and-set publish
//!   (`Nats-Expected-Last-Subject-Sequence` = 0 for a fresh key, or the marker's revision) that
//!   always carries the TTL.
//! * TTLs are whole seconds, at least 1 s: shorter or fractional TTLs are rounded *up*.
//! * Every request waits at most [`ATTEMPT_TIMEOUT`] for its answer, not the client's 10 s: a
//!   request sent while the stream elects a new leader is never answered, and the callers'
//!   retries ([`crate::retry`]) re-send it to the new leader. A write whose ack was lost may
//!   still have landed, so the creates here recognize their own value ([`create`],
//!   [`create_with_ttl`]) and compare-and-set loops their own write.
//!
//! The bucket must allow per-message TTLs (`allow_msg_ttl`, which [`crate::provision`] sets via
//! the KV limit markers) and have history 1. When a key's TTL runs out the server removes it
//! and writes a `Nats-Marker-Reason: MaxAge` marker that watchers see as
//! [`kv::Operation::Purge`]; reads then return nothing.

use std::time::Duration;

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::message::StreamMessage;
use async_nats::jetstream::stream::{DirectGetErrorKind, LastRawMessageErrorKind};
use async_nats::jetstream::{self, kv};
use bytes::Bytes;

use crate::names::{
    HEADER_EXPECTED_LAST_SUBJECT_SEQUENCE, HEADER_KV_OPERATION, HEADER_MARKER_REASON, HEADER_TTL,
    validate_kv_key,
};
use crate::{Error, Result};

/// How often a compare-and-set loop re-reads the key after losing a race before giving up.
const CAS_ATTEMPTS: u32 = 8;

/// How long one request (a read from the leader, a write's ack) waits for its answer. A stream
/// leader answers in milliseconds; a request sent into a leader election gets no answer at all.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// The `Nats-TTL` header value for `ttl`: whole seconds, rounded up, e.g. `"2s"` for 1.2 s.
/// `None` for a zero TTL. (nats-server 2.15 refuses `0` and sub-second values such as `500ms`
/// with "invalid per-message TTL", error 10165; it accepts `1`, `1s` and `never`.)
pub fn ttl_header_value(ttl: Duration) -> Option<String> {
    let secs = ttl.as_secs().checked_add(u64::from(ttl.subsec_nanos() > 0))?;
    (secs > 0).then(|| format!("{secs}s"))
}

/// The TTL NATS will actually apply for `ttl` (rounded up to whole seconds).
pub fn effective_ttl(ttl: Duration) -> Duration {
    Duration::from_secs(ttl.as_secs().saturating_add(u64::from(ttl.subsec_nanos() > 0)))
}

/// Sets `key` to `value`, to expire `ttl` after this write (whatever it was before). Returns the
/// new revision.
pub async fn put_with_ttl(
    js: &jetstream::Context,
    store: &impl Bucket,
    key: &str,
    value: Bytes,
    ttl: Duration,
) -> Result<u64> {
    publish(js, store, key, value, Some(ttl), None, "put with TTL").await.map_err(CasError::into_error)
}

/// Keeps `value` under `key` alive for another `ttl` (a put of the same value with a new TTL).
pub async fn refresh_ttl(
    js: &jetstream::Context,
    store: &impl Bucket,
    key: &str,
    value: Bytes,
    ttl: Duration,
) -> Result<u64> {
    publish(js, store, key, value, Some(ttl), None, "refresh TTL").await.map_err(CasError::into_error)
}

/// Re-writes the *current* value of `key` with a new `ttl`, unless it is absent or expired (then
/// `None`: a refresh never resurrects a key). Compare-and-set, so a concurrent expiry or write
/// is never overwritten with a stale value.
pub async fn refresh_existing_ttl(
    js: &jetstream::Context,
    store: &impl Bucket,
    key: &str,
    ttl: Duration,
) -> Result<Option<u64>> {
    for _ in 0..CAS_ATTEMPTS {
        let Some(Latest { revision, value: Some(value) }) = latest(store, key).await? else {
            return Ok(None);
        };
        match publish(js, store, key, value, Some(ttl), Some(revision), "refresh TTL").await {
            Ok(revision) => return Ok(Some(revision)),
            Err(CasError::WrongRevision(_)) => continue,
            Err(CasError::Other(e)) => return Err(e),
        }
    }
    Err(not_converged(store, key, "refresh TTL"))
}

/// Creates `key` with `value` and a `ttl`, failing with [`Error::KeyExists`] if it holds a live
/// value other than `value` (the same value is this caller's earlier attempt, whose ack was
/// lost: it succeeds). A key whose last entry is a delete, purge or expiry marker counts as
/// absent, and the new value keeps its TTL (unlike async-nats' `create_with_ttl`).
pub async fn create_with_ttl(
    js: &jetstream::Context,
    store: &impl Bucket,
    key: &str,
    value: Bytes,
    ttl: Duration,
) -> Result<u64> {
    create_inner(js, store, key, value, Some(ttl), "create with TTL").await
}

/// As [`create_with_ttl`], without a per-key TTL (the bucket's max age applies).
pub async fn create(js: &jetstream::Context, store: &impl Bucket, key: &str, value: Bytes) -> Result<u64> {
    create_inner(js, store, key, value, None, "create").await
}

async fn create_inner(
    js: &jetstream::Context,
    store: &impl Bucket,
    key: &str,
    value: Bytes,
    ttl: Option<Duration>,
    action: &'static str,
) -> Result<u64> {
    // Optimistic first try: a key that never existed (or whose marker has aged out).
    let mut expected = 0;
    for attempt in 0..CAS_ATTEMPTS {
        if attempt > 1 {
            // A [`ScopedBucket`] may have read an older entry than the leader compared against.
            tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt))).await;
        }
        match publish(js, store, key, value.clone(), ttl, Some(expected), action).await {
            Ok(revision) => return Ok(revision),
            Err(CasError::Other(e)) => return Err(e),
            Err(CasError::WrongRevision(_)) => {}
        }
        expected = match latest(store, key).await? {
            Some(Latest { revision, value: Some(existing) }) if existing == value => return Ok(revision),
            Some(Latest { revision, value: Some(_) }) => {
                return Err(Error::KeyExists {
                    bucket: store.bucket_name().to_string(),
                    key: key.to_string(),
                    revision,
                });
            }
            // Delete/purge/expiry marker: create on top of it.
            Some(Latest { revision, value: None }) => revision,
            // The marker itself aged out between our publish and read.
            None => 0,
        };
    }
    Err(not_converged(store, key, "create with TTL"))
}

/// Writes `value` with a `ttl` only if the key's last revision is still `revision`, else
/// [`Error::WrongRevision`] (someone else wrote, or it expired).
pub async fn update_with_ttl(
    js: &jetstream::Context,
    store: &impl Bucket,
    key: &str,
    value: Bytes,
    revision: u64,
    ttl: Duration,
) -> Result<u64> {
    publish(js, store, key, value, Some(ttl), Some(revision), "update with TTL")
        .await
        .map_err(CasError::into_error)
}

/// Writes `value` (no per-key TTL: the bucket's max age applies) only if the key's last revision
/// is still `revision` (0: the key has no entry at all), else [`Error::WrongRevision`].
pub async fn replace(
    js: &jetstream::Context,
    store: &impl Bucket,
    key: &str,
    value: Bytes,
    revision: u64,
) -> Result<u64> {
    publish(js, store, key, value, None, Some(revision), "compare-and-set write")
        .await
        .map_err(CasError::into_error)
}

/// A key's last entry as the stream leader has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latest {
    /// The entry's revision (stream sequence): what a compare-and-set write expects.
    pub revision: u64,
    /// `None` when the entry is a delete, purge or expiry marker (the key reads as absent).
    pub value: Option<Bytes>,
}

/// The key's last entry, read as the handle reads ([`kv::Store`]: from the stream leader, never a
/// lagging replica; [`ScopedBucket`]: a direct get any replica may answer), or `None` when the
/// key has no entry at all.
pub async fn latest(store: &impl Bucket, key: &str) -> Result<Option<Latest>> {
    validate_kv_key(key).map_err(|reason| Error::InvalidName {
        what: "KV key",
        value: key.to_string(),
        reason,
    })?;
    let subject = format!("{}{key}", store.key_prefix());
    let Ok(read) = tokio::time::timeout(ATTEMPT_TIMEOUT, store.read_last(subject)).await else {
        return Err(kv_error(store, key, store.reads(), no_answer()));
    };
    match read {
        Ok(Some(message)) => {
            let header = |name: &str| message.headers.get(name).map(|v| v.as_str().to_string());
            let is_marker = matches!(header(HEADER_KV_OPERATION).as_deref(), Some("DEL" | "PURGE"))
                || header(HEADER_MARKER_REASON).is_some();
            Ok(Some(Latest { revision: message.sequence, value: (!is_marker).then_some(message.payload) }))
        }
        Ok(None) => Ok(None),
        Err(e) => Err(kv_error(store, key, store.reads(), e)),
    }
}

/// Deletes `key` (a delete marker; readers see it absent, watchers a delete).
pub async fn delete(js: &jetstream::Context, store: &impl Bucket, key: &str) -> Result<()> {
    validate_kv_key(key).map_err(|reason| Error::InvalidName {
        what: "KV key",
        value: key.to_string(),
        reason,
    })?;
    let subject = format!("{}{key}", store.put_prefix().map_err(|e| kv_error(store, key, "delete", e))?);
    let message = PublishMessage::build().header(HEADER_KV_OPERATION, "DEL");
    let ack = js.send_publish(subject, message).await.map_err(|e| kv_error(store, key, "delete", e))?;
    match tokio::time::timeout(ATTEMPT_TIMEOUT, ack).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(kv_error(store, key, "delete", e)),
        Err(_) => Err(kv_error(store, key, "delete", no_answer())),
    }
}

/// A KV bucket handle as the functions here use it.
pub trait Bucket: Sync {
    /// The bucket's name.
    fn bucket_name(&self) -> &str;
    /// `$KV.<bucket>.`: the subject prefix of its keys.
    fn key_prefix(&self) -> &str;
    /// The subject prefix writes publish to.
    fn put_prefix(&self) -> std::result::Result<&str, &'static str>;
    /// How reads are served, for errors: "read (from the leader)" or "read (any replica)".
    fn reads(&self) -> &'static str;
    /// The last message on `subject`, or `None`.
    fn read_last(
        &self,
        subject: String,
    ) -> impl Future<Output = std::result::Result<Option<StreamMessage>, async_nats::Error>> + Send;
}

/// async-nats' handle (it read the stream's info when opened): reads go to the stream leader
/// (`STREAM.MSG.GET`), so they see every acknowledged write. The gateway's handle.
impl Bucket for kv::Store {
    fn bucket_name(&self) -> &str {
        &self.name
    }
    fn key_prefix(&self) -> &str {
        &self.prefix
    }
    fn put_prefix(&self) -> std::result::Result<&str, &'static str> {
        if self.use_jetstream_prefix {
            // The subject would need the context's domain API prefix, which async-nats keeps private.
            return Err("KV buckets behind a JetStream domain prefix are not supported");
        }
        Ok(self.put_prefix.as_deref().unwrap_or(&self.prefix))
    }
    fn reads(&self) -> &'static str {
        "read (from the leader)"
    }
    async fn read_last(
        &self,
        subject: String,
    ) -> std::result::Result<Option<StreamMessage>, async_nats::Error> {
        match self.stream.get_last_raw_message_by_subject(&subject).await {
            Ok(message) => Ok(Some(message)),
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// A bucket handle whose every request names the key in its subject, so NATS permissions can
/// limit a connection to some keys: writes publish to `$KV.<bucket>.<key>`, reads are direct
/// gets by subject (`$JS.API.DIRECT.GET.KV_<bucket>.$KV.<bucket>.<key>`). Opening it sends
/// nothing (no stream info, which would list every key). The executor's handle.
///
/// Any replica of an R3 bucket may answer its reads, a lagging one included: a key written a
/// millisecond ago by *another* connection may read as absent or older. The compare-and-set
/// writes here stay exact (the leader checks the expected revision), so a stale read only costs
/// a retry.
#[derive(Debug, Clone)]
pub struct ScopedBucket {
    name: String,
    prefix: String,
    stream: jetstream::stream::Stream<()>,
}

impl ScopedBucket {
    /// The handle of bucket `name` (sends nothing).
    pub async fn bind(js: &jetstream::Context, name: &str) -> Result<Self> {
        let stream = js.get_stream_no_info(format!("KV_{name}")).await.map_err(|e| Error::InvalidName {
            what: "KV bucket",
            value: name.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Self { name: name.to_string(), prefix: format!("$KV.{name}."), stream })
    }
}

impl Bucket for ScopedBucket {
    fn bucket_name(&self) -> &str {
        &self.name
    }
    fn key_prefix(&self) -> &str {
        &self.prefix
    }
    fn put_prefix(&self) -> std::result::Result<&str, &'static str> {
        Ok(&self.prefix)
    }
    fn reads(&self) -> &'static str {
        "read (direct get)"
    }
    async fn read_last(
        &self,
        subject: String,
    ) -> std::result::Result<Option<StreamMessage>, async_nats::Error> {
        match self.stream.direct_get_last_for_subject(subject).await {
            Ok(message) => Ok(Some(message)),
            Err(e) if e.kind() == DirectGetErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

enum CasError {
    WrongRevision(Error),
    Other(Error),
}

impl CasError {
    fn into_error(self) -> Error {
        match self {
            Self::WrongRevision(e) | Self::Other(e) => e,
        }
    }
}

async fn publish(
    js: &jetstream::Context,
    store: &impl Bucket,
    key: &str,
    value: Bytes,
    ttl: Option<Duration>,
    expected_revision: Option<u64>,
    action: &'static str,
) -> Result<u64, CasError> {
    let ttl_value = match ttl {
        Some(ttl) => Some(ttl_header_value(ttl).ok_or_else(|| {
            CasError::Other(Error::InvalidTtl {
                bucket: store.bucket_name().to_string(),
                key: key.to_string(),
                ttl,
                reason: "a per-key TTL must be at least 1 s",
            })
        })?),
        None => None,
    };
    validate_kv_key(key).map_err(|reason| {
        CasError::Other(Error::InvalidName { what: "KV key", value: key.to_string(), reason })
    })?;
    let prefix = store.put_prefix().map_err(|e| CasError::Other(kv_error(store, key, action, e)))?;
    let subject = format!("{prefix}{key}");

    let mut message = PublishMessage::build().payload(value);
    if let Some(ttl) = ttl_value {
        message = message.header(HEADER_TTL, ttl);
    }
    if let Some(revision) = expected_revision {
        message = message.header(HEADER_EXPECTED_LAST_SUBJECT_SEQUENCE, revision.to_string());
    }
    let ack = js
        .send_publish(subject, message)
        .await
        .map_err(|e| CasError::Other(kv_error(store, key, action, e)))?;
    let Ok(ack) = tokio::time::timeout(ATTEMPT_TIMEOUT, ack).await else {
        return Err(CasError::Other(kv_error(store, key, action, no_answer())));
    };
    match ack {
        Ok(ack) => Ok(ack.sequence),
        Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => {
            Err(CasError::WrongRevision(Error::WrongRevision {
                bucket: store.bucket_name().to_string(),
                key: key.to_string(),
                expected: expected_revision.unwrap_or_default(),
            }))
        }
        Err(e) => Err(CasError::Other(kv_error(store, key, action, e))),
    }
}

fn kv_error(
    store: &impl Bucket,
    key: &str,
    action: &'static str,
    source: impl Into<async_nats::Error>,
) -> Error {
    Error::Kv { bucket: store.bucket_name().to_string(), key: key.to_string(), action, source: source.into() }
}

fn no_answer() -> String {
    format!("no answer within {} s (the stream may be electing a leader)", ATTEMPT_TIMEOUT.as_secs())
}

fn not_converged(store: &impl Bucket, key: &str, action: &str) -> Error {
    Error::NotConverged {
        what: format!("KV {}/{key}: {action}", store.bucket_name()),
        attempts: CAS_ATTEMPTS,
        reason: "the key kept changing under concurrent writers".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_round_up_to_whole_seconds() {
        assert_eq!(ttl_header_value(Duration::from_secs(1)).as_deref(), Some("1s"));
        assert_eq!(ttl_header_value(Duration::from_millis(1200)).as_deref(), Some("2s"));
        assert_eq!(ttl_header_value(Duration::from_millis(1)).as_deref(), Some("1s"));
        assert_eq!(ttl_header_value(Duration::from_secs(3600)).as_deref(), Some("3600s"));
        assert_eq!(ttl_header_value(Duration::ZERO), None);
        assert_eq!(effective_ttl(Duration::from_millis(300)), Duration::from_secs(1));
    }
}
