//! At most one execution per command. Before an executor runs a command it claims it with a
//! create-only record `<cluster>.<command id>` in the claims bucket. The claim outlives every
//! redelivery (its TTL is the commands stream's max age), so a redelivered command — its first
//! executor died, was paused past the ack wait, or was killed between replying and acking — is
//! never run again: the executor that finds the claim waits for the claimant's result until the
//! deadline and, if none comes, stores an explicit timeout saying the command was taken and not
//! run again ([`crate::results`] keeps whichever final result came first).

use std::time::Duration;

use async_nats::jetstream;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::kv_ttl::{self, Bucket, Latest};
use crate::protocol::Command;
use crate::{Error, Result};

/// Who took a command, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub executor_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub claimed_at: OffsetDateTime,
    /// The commands stream's sequence of the message claimed: a redelivery is the same message,
    /// a replayed copy (someone re-published the signed command) another one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_sequence: Option<u64>,
}

/// What [`claim`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// This executor runs the command.
    Mine,
    /// Someone took it before (`None` if the record could not be read back).
    Taken(Option<Claim>),
}

/// The claims key of `command`.
pub fn key(command: &Command) -> String {
    key_of(&command.cluster_id, command.id)
}

/// The claims key of command `command_id` of `cluster_id`.
pub fn key_of(cluster_id: &str, command_id: Uuid) -> String {
    format!("{cluster_id}.{command_id}")
}

/// Who claimed command `command_id` of `cluster_id`, read from the stream leader: `None` if
/// nobody did. A command nobody claimed by its deadline never runs (an executor that claims it
/// later finds it expired), so a reader past the deadline may say it was not run.
pub async fn read(store: &impl Bucket, cluster_id: &str, command_id: Uuid) -> Result<Option<Claim>> {
    match kv_ttl::latest(store, &key_of(cluster_id, command_id)).await? {
        Some(Latest { value: Some(bytes), .. }) => {
            serde_json::from_slice(&bytes).map(Some).map_err(|source| Error::Decode { kind: "claim", source })
        }
        _ => Ok(None),
    }
}

impl Claim {
    /// A claim by `executor_id`, now. Make it once per delivery and retry [`claim`] with it: an
    /// attempt whose ack was lost may have stored it, and the retry recognizes it as its own.
    pub fn new(executor_id: &str) -> Self {
        Self {
            executor_id: executor_id.to_string(),
            claimed_at: OffsetDateTime::now_utc(),
            stream_sequence: None,
        }
    }

    /// The claim of the message at `stream_sequence` of the commands stream.
    pub fn for_message(self, stream_sequence: u64) -> Self {
        Self { stream_sequence: Some(stream_sequence), ..self }
    }

    /// Whether `stream_sequence` is another message than the one claimed (a replayed copy).
    pub fn is_other_message(&self, stream_sequence: Option<u64>) -> bool {
        matches!((self.stream_sequence, stream_sequence), (Some(a), Some(b)) if a != b)
    }
}

/// Claims `command` with `claim`, for `ttl` (at least the commands stream's max age).
pub async fn claim(
    js: &jetstream::Context,
    store: &impl Bucket,
    command: &Command,
    claim: &Claim,
    ttl: Duration,
) -> Result<Claimed> {
    let key = key(command);
    let value =
        serde_json::to_vec(claim).map_err(|source| Error::Encode { kind: "claim", version: 1, source })?;
    match kv_ttl::create_with_ttl(js, store, &key, value.into(), ttl).await {
        Ok(_) => Ok(Claimed::Mine),
        Err(Error::KeyExists { .. }) => {
            let holder: Option<Claim> = match kv_ttl::latest(store, &key).await? {
                Some(Latest { value: Some(bytes), .. }) => serde_json::from_slice(&bytes).ok(),
                _ => None,
            };
            if holder.as_ref() == Some(claim) {
                return Ok(Claimed::Mine);
            }
            Ok(Claimed::Taken(holder))
        }
        Err(e) => Err(e),
    }
}
