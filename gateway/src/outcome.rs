//! What a command came to, worded once for every door and for callbacks: the timeout reason, and
//! pages of a stored result (a pending record past its deadline reads as a timeout).

use async_nats::jetstream::kv;
use kubently_shared::budget;
use kubently_shared::claims::{self, Claim};
use kubently_shared::protocol::{CommandResult, CommandStatus};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::result_search::{Found, Search};
use crate::registry::Registry;

/// How long after its deadline a pending command still counts as pending (the executor's answer
/// may be on its way).
pub const PENDING_GRACE: time::Duration = time::Duration::seconds(2);

/// Whether an executor took a command nobody answered (its claim), as far as can be read.
#[derive(Debug, Clone)]
pub enum Taken {
    By(Claim),
    /// No claim: the command never ran, and never will once its deadline passed (an executor
    /// that claims it later finds it expired).
    Nobody,
    /// The claims bucket could not be read: say nothing about whether it ran.
    Unknown,
}

impl Taken {
    /// Reads command `command_id`'s claim (from the stream leader).
    pub async fn read(claims: &kv::Store, cluster_id: &str, command_id: Uuid) -> Self {
        match claims::read(claims, cluster_id, command_id).await {
            Ok(Some(claim)) => Self::By(claim),
            Ok(None) => Self::Nobody,
            Err(e) => {
                tracing::warn!(error = %e, %command_id, "cannot read the command's claim");
                Self::Unknown
            }
        }
    }
}

/// Why nobody answered a command by its deadline, as far as the gateway can tell (read after the
/// deadline): what [`timeout_reason`] words, typed for the callers that act on it (fan-out).
#[derive(Debug, Clone)]
pub enum TimeoutCause {
    /// An executor took it and did not answer: it may have run.
    TakenBy(Claim),
    /// Nobody took it yet, and the cluster has a connected executor: slow, or busy.
    Slow,
    /// No executor took it and none is connected: it was not run, and never will be.
    NotRun,
    /// None is connected, and whether one took it could not be read.
    NoExecutor,
}

impl TimeoutCause {
    pub fn of(registry: &Registry, cluster_id: &str, taken: &Taken) -> Self {
        match taken {
            Taken::By(claim) => Self::TakenBy(claim.clone()),
            _ if registry.is_connected(cluster_id) => Self::Slow,
            Taken::Nobody => Self::NotRun,
            Taken::Unknown => Self::NoExecutor,
        }
    }

    /// No executor was connected to take the command.
    pub fn no_executor(&self) -> bool {
        matches!(self, Self::NotRun | Self::NoExecutor)
    }

    /// The one wording of a timeout. It says the command was not run only when no executor took
    /// it; an executor that took it and died or stalled may have run it, so then the wording says
    /// so, whether or not an executor is connected now.
    pub fn reason(&self, cluster_id: &str, waited_seconds: i64) -> String {
        match self {
            Self::TakenBy(claim) => {
                let at = claim
                    .claimed_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_else(|_| claim.claimed_at.to_string());
                format!(
                    "executor '{}' took the command (at {at}) and did not answer within {waited_seconds} s; it is not run again (a command runs at most once), so whether it reached the cluster is unknown — send it again to retry",
                    claim.executor_id
                )
            }
            Self::Slow => format!(
                "executor did not answer within {waited_seconds} s (cluster '{cluster_id}' has a connected executor; the command may be slow — raise timeout_seconds or narrow the query)"
            ),
            Self::NotRun => format!(
                "no executor connected for cluster '{cluster_id}': the command waited {waited_seconds} s in the queue and was not run (it expires there, it will not run later)"
            ),
            Self::NoExecutor => {
                format!(
                    "no executor connected for cluster '{cluster_id}': no answer within {waited_seconds} s"
                )
            }
        }
    }
}

/// Why a command has no result (`taken` read after the deadline): [`TimeoutCause::reason`].
pub fn timeout_reason(registry: &Registry, cluster_id: &str, waited_seconds: i64, taken: &Taken) -> String {
    TimeoutCause::of(registry, cluster_id, taken).reason(cluster_id, waited_seconds)
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
    /// With `grep`: how many lines of the output match (`output`, `offset`, `next_offset` and
    /// `total_bytes` are then those of the matching lines with their context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<u64>,
}

/// Whether `result` is a pending record past its deadline (plus grace), which reads as a timeout.
pub fn is_overdue(result: &CommandResult) -> bool {
    result.status == CommandStatus::Pending
        && result.deadline.is_some_and(|deadline| OffsetDateTime::now_utc() > deadline + PENDING_GRACE)
}

/// A page of `result`: a pending record past its deadline (plus grace) is a timeout (the
/// executor answers a late command with an explicit timeout, which would have replaced it),
/// worded with `taken` (read it when [`is_overdue`]; a final result does not use it).
pub fn page_of(
    registry: &Registry,
    result: &CommandResult,
    offset: u64,
    limit: u64,
    taken: &Taken,
) -> ResultPage {
    searched_page_of(registry, result, offset, limit, taken, None)
}

/// [`page_of`] the lines `search` finds in the output (all of it without a search).
pub fn searched_page_of(
    registry: &Registry,
    result: &CommandResult,
    offset: u64,
    limit: u64,
    taken: &Taken,
    search: Option<&Search>,
) -> ResultPage {
    let (status, error) = match result.deadline.filter(|_| is_overdue(result)) {
        Some(deadline) => {
            let waited = (deadline - result.executed_at).whole_seconds();
            (CommandStatus::Timeout, Some(timeout_reason(registry, &result.cluster_id, waited, taken)))
        }
        None => (result.status, result.error.clone()),
    };
    let found = search.map(|s| {
        let found = s.run(&result.output);
        if s.count_only() {
            let text = format!("{} of {} lines match\n", found.matches, found.lines);
            Found { text, ..found }
        } else {
            found
        }
    });
    let text = found.as_ref().map_or(result.output.as_str(), |f| f.text.as_str());
    let (page, next) = budget::page(text, usize::try_from(offset).unwrap_or(usize::MAX), limit as usize);
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
        total_bytes: text.len() as u64,
        stored_truncated: result.meta.as_ref().is_some_and(|m| m.truncated),
        matches: found.as_ref().map(|f| f.matches),
    }
}
