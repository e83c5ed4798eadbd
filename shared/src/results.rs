//! The results bucket's rule: **a final result is written once.** An async command's `pending`
//! record may be replaced, but a stored success, failure or timeout never is: a late answer (a
//! redelivered copy past its deadline, an executor that resumes after a pause, a gateway giving
//! up at the deadline) finds the final result and keeps it. Whoever wins the write also sends
//! the reply and emits the command's one terminal event, so the reply a caller got, the result
//! `GET /debug/result` shows later and the event a subscriber sees always agree.
//!
//! Keys are `<cluster>.<command id>`, so an executor's NATS permissions can limit it to its own
//! cluster's results. The gateway's reads go to the stream leader ([`kv_ttl::latest`]): a result
//! stored a millisecond ago is seen.

use async_nats::jetstream::stream::LastRawMessageErrorKind;
use async_nats::jetstream::{self, kv};
use uuid::Uuid;

use crate::budget;
use crate::kv_ttl::{self, Bucket, Latest};
use crate::protocol::{self, Command, CommandResult, OutputMeta};
use crate::{Error, Result};

/// Lost compare-and-set races before giving up (each loss means another writer got in first,
/// so the next read normally finds a final result).
const ATTEMPTS: u32 = 8;

/// What [`store_final`] did.
#[derive(Debug)]
pub enum Stored {
    /// This result is now the command's result.
    Written,
    /// Another final result was stored first; it stays, and this is it.
    AlreadyFinal(Box<CommandResult>),
}

/// The results key of command `command_id` of `cluster_id`: `<cluster>.<command id>`.
pub fn key(cluster_id: &str, command_id: Uuid) -> String {
    format!("{cluster_id}.{command_id}")
}

/// The stored result of `command_id` of `cluster_id` (pending or final).
pub async fn read(store: &impl Bucket, cluster_id: &str, command_id: Uuid) -> Result<Option<CommandResult>> {
    match kv_ttl::latest(store, &key(cluster_id, command_id)).await? {
        Some(Latest { value: Some(bytes), .. }) => Ok(Some(protocol::decode(&bytes)?)),
        _ => Ok(None),
    }
}

/// The stored result of `command_id` whatever its cluster (`GET /debug/result/{id}` names only the
/// command), read from the leader: the last entry of `$KV.<bucket>.*.<command id>`.
pub async fn find(store: &kv::Store, command_id: Uuid) -> Result<Option<CommandResult>> {
    let subject = format!("{}*.{command_id}", store.prefix);
    let failed = |source: async_nats::Error| Error::Kv {
        bucket: store.name.clone(),
        key: format!("*.{command_id}"),
        action: "read (from the leader)",
        source,
    };
    let read =
        tokio::time::timeout(kv_ttl::ATTEMPT_TIMEOUT, store.stream.get_last_raw_message_by_subject(&subject));
    let message = match read.await {
        Err(_) => return Err(failed("no answer (the stream may be electing a leader)".into())),
        Ok(Err(e)) if e.kind() == LastRawMessageErrorKind::NoMessageFound => return Ok(None),
        Ok(Err(e)) => return Err(failed(e.into())),
        Ok(Ok(message)) => message,
    };
    let is_marker = message.headers.get(crate::names::HEADER_KV_OPERATION).is_some()
        || message.headers.get(crate::names::HEADER_MARKER_REASON).is_some();
    if is_marker || message.payload.is_empty() {
        return Ok(None);
    }
    Ok(Some(protocol::decode(&message.payload)?))
}

/// Stores `result` (which must be final) unless a final result is already stored.
pub async fn store_final(
    js: &jetstream::Context,
    store: &impl Bucket,
    result: &CommandResult,
) -> Result<Stored> {
    debug_assert!(result.status.is_final(), "only final results go through store_final");
    let key = key(&result.cluster_id, result.command_id);
    let payload = protocol::encode(result)?;
    // Optimistic first try: a sync command has no record yet (one round trip, not two).
    match kv_ttl::replace(js, store, &key, payload.clone(), 0).await {
        Ok(_) => return Ok(Stored::Written),
        Err(Error::WrongRevision { .. }) => {}
        Err(e) => return Err(e),
    }
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            // A handle that reads from any replica may have read an older entry than the leader
            // compared against: give the replica a moment.
            tokio::time::sleep(std::time::Duration::from_millis(5 * u64::from(attempt))).await;
        }
        let expected = match kv_ttl::latest(store, &key).await? {
            None => 0,
            // An expiry or delete marker: write on top of it.
            Some(Latest { revision, value: None }) => revision,
            // This very result: an earlier attempt stored it and its ack was lost.
            Some(Latest { value: Some(bytes), .. }) if bytes == payload => return Ok(Stored::Written),
            Some(Latest { revision, value: Some(bytes) }) => {
                let current: CommandResult = protocol::decode(&bytes)?;
                if current.status.is_final() {
                    return Ok(Stored::AlreadyFinal(Box::new(current)));
                }
                revision
            }
        };
        match kv_ttl::replace(js, store, &key, payload.clone(), expected).await {
            Ok(_) => return Ok(Stored::Written),
            Err(Error::WrongRevision { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::NotConverged {
        what: format!("KV {}/{key}: store the final result", store.bucket_name()),
        attempts: ATTEMPTS,
        reason: "the key kept changing under concurrent writers".into(),
    })
}

/// (reply, stored): the reply's output fits the command's budget (default 16 KiB) with a footer
/// saying what was cut and how to narrow; the stored copy keeps the full output (up to 4 MiB).
pub fn fit_to_budget(command: &Command, full: &CommandResult) -> (CommandResult, CommandResult) {
    let budget = budget::effective(command.output_budget_bytes);
    let fitted = budget::fit(&full.output, budget, command.request.verb(), &command.id.to_string());
    let base = full.meta.clone().unwrap_or_default();
    let meta = |returned: usize, truncated: bool| OutputMeta {
        bytes: fitted.total_bytes as u64,
        lines: fitted.total_lines as u64,
        returned_bytes: returned as u64,
        tokens_estimate: budget::estimate_tokens(returned),
        truncated,
        ..base.clone()
    };
    let reply = CommandResult {
        output: fitted.text.clone(),
        meta: Some(meta(fitted.text.len(), fitted.truncated)),
        ..full.clone()
    };
    let stored_len = (0..=full.output.len().min(budget::MAX_STORED_BYTES))
        .rev()
        .find(|i| full.output.is_char_boundary(*i))
        .unwrap_or(0);
    let stored = CommandResult {
        output: full.output[..stored_len].to_string(),
        meta: Some(meta(stored_len, stored_len < full.output.len())),
        ..full.clone()
    };
    (reply, stored)
}
