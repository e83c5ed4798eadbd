//! What a command came to, worded once for every door and for callbacks: the timeout reason, and
//! pages of a stored result (a pending record past its deadline reads as a timeout).

use kubently_shared::budget;
use kubently_shared::protocol::{CommandResult, CommandStatus};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::registry::Registry;

/// How long after its deadline a pending command still counts as pending (the executor's answer
/// may be on its way).
pub const PENDING_GRACE: time::Duration = time::Duration::seconds(2);

/// Why a command has no result: the one wording of a timeout, saying whether an executor was
/// connected (too slow) or not (the command was never run, and never will be).
pub fn timeout_reason(registry: &Registry, cluster_id: &str, waited_seconds: i64) -> String {
    if registry.is_connected(cluster_id) {
        format!(
            "executor did not answer within {waited_seconds} s (cluster '{cluster_id}' has a connected executor; the command may be slow — raise timeout_seconds or narrow the query)"
        )
    } else {
        format!(
            "no executor connected for cluster '{cluster_id}': the command waited {waited_seconds} s in the queue and was not run (it expires there, it will not run later)"
        )
    }
}

/// A page of a stored result (`GET /debug/result/{command_id}`, `get_command_result`, callbacks).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResultPage {
    pub command_id: String,
    pub cluster_id: String,
    pub status: CommandStatus,
    pub verb: Option<String>,
    pub error: Option<String>,
    pub execution_time_ms: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub executed_at: OffsetDateTime,
    /// This page of the full output.
    pub output: String,
    pub offset: u64,
    /// Where the next page starts; absent on the last page.
    pub next_offset: Option<u64>,
    pub total_bytes: u64,
    /// True when even the stored copy was cut (outputs over 4 MiB).
    pub stored_truncated: bool,
}

/// A page of `result`: a pending record past its deadline (plus grace) is a timeout (the
/// executor answers a late command with an explicit timeout, which would have replaced it).
pub fn page_of(registry: &Registry, result: &CommandResult, offset: u64, limit: u64) -> ResultPage {
    let (status, error) = match (result.status, result.deadline) {
        (CommandStatus::Pending, Some(deadline)) if OffsetDateTime::now_utc() > deadline + PENDING_GRACE => {
            let waited = (deadline - result.executed_at).whole_seconds();
            (CommandStatus::Timeout, Some(timeout_reason(registry, &result.cluster_id, waited)))
        }
        (status, _) => (status, result.error.clone()),
    };
    let (page, next) =
        budget::page(&result.output, usize::try_from(offset).unwrap_or(usize::MAX), limit as usize);
    ResultPage {
        command_id: result.command_id.to_string(),
        cluster_id: result.cluster_id.clone(),
        status,
        verb: result.verb.clone(),
        error,
        execution_time_ms: result.execution_time_ms,
        executed_at: result.executed_at,
        output: page.to_string(),
        offset,
        next_offset: next.map(|n| n as u64),
        total_bytes: result.output.len() as u64,
        stored_truncated: result.meta.as_ref().is_some_and(|m| m.truncated),
    }
}
