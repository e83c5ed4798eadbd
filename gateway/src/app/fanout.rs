//! One read-only command on many clusters in one request (fan-out). REST
//! (`POST /debug/execute/fanout`), the MCP tool `execute_kubectl_fanout` and an A2A data part
//! with `cluster_ids` all call [`run`].
//!
//! 1. The request is checked like a single command (the same fields and the same read-only
//!    policy; a refused command is audited on each cluster it was meant for), plus
//!    `cluster_ids`: 1 to `fanout.max_clusters` distinct cluster ids, or `"*"` for every cluster
//!    the caller may use.
//! 2. Each named cluster the caller may not use, that no executor ever served (unknown) or that
//!    has no executor connected now is skipped, with the reason; `"*"` names only the clusters
//!    the caller may use, so it never reveals another tenant's clusters.
//! 3. Every other cluster runs the single-command path ([`commands::execute_explained`]): its
//!    own command id, its own deadline (`timeout_seconds` from when its command is sent), its
//!    own audit record, metrics and events, at most `fanout.concurrency` at once. Its output
//!    budget is the request's budget shared among these clusters (at least 1 KiB each).
//! 4. The answer lists each cluster's result (`success`, `failure`, `timeout`, `not_connected`,
//!    `error`) and groups the clusters whose answers are identical, so an output shared by many
//!    clusters is returned once.
//!
//! Partial results are the normal answer: a cluster that fails, times out or is skipped never
//! makes the request an error; only a request that is wrong in itself is (422).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::time::Instant;

use futures::StreamExt;
use kubently_shared::budget::{MAX_BUDGET_BYTES, MIN_BUDGET_BYTES};
use kubently_shared::protocol::CommandStatus;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::Instrument;
use utoipa::ToSchema;
use uuid::Uuid;

use super::access;
use super::commands::{self, Finished, OutputInfo};
use super::headers::AgentHeaders;
use super::input::{self, CheckedCommand, CommandRequest};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{AppError, AppResult, FieldError};

/// What `cluster_ids` may say instead of a list.
pub const EVERY_CLUSTER: &str = "*";

/// Which clusters, as the caller wrote it: a list of ids, or `"*"` (also `["*"]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ClusterIds {
    One(String),
    Many(Vec<String>),
}

/// A fan-out as a caller asks for it: a command (the fields of a single command but the cluster,
/// the session and the callback) and the clusters to run it on.
#[derive(Debug, Clone)]
pub struct FanoutRequest {
    pub cluster_ids: ClusterIds,
    /// Overridden by `X-Correlation-ID`; the fan-out's id when neither is given, so the audit
    /// records and events of one fan-out share it.
    pub correlation_id: Option<String>,
    pub command_type: String,
    pub args: Vec<String>,
    pub extra_args: Option<Vec<String>>,
    pub namespace: Option<String>,
    /// Each cluster's deadline, from when its command is sent; `X-Request-Timeout` takes precedence.
    pub timeout_seconds: Option<u64>,
    /// Bytes for all the clusters' outputs together; the deployment's default when `None`.
    pub output_budget: Option<u64>,
}

/// How one cluster's command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClusterOutcome {
    /// The command ran and kubectl succeeded.
    Success,
    /// The command ran and kubectl failed (the API server's error is the group's `error`).
    Failure,
    /// No answer by the deadline, with an executor connected (slow, or it took the command and
    /// stalled: see `error`).
    Timeout,
    /// No answer by the deadline and no executor connected any more: the command was not run.
    NotConnected,
    /// The gateway could not send the command (NATS did not accept it; see `error`): retry.
    Error,
}

/// Why a named cluster was not sent the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The caller's key may not use it.
    NotPermitted,
    /// No executor ever served it.
    Unknown,
    /// No executor is connected to it now (a command would only wait for its deadline).
    NotConnected,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotPermitted => "not permitted",
            Self::Unknown => "unknown",
            Self::NotConnected => "not connected",
        }
    }
}

/// One cluster's result.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClusterResult {
    pub cluster_id: String,
    pub status: ClusterOutcome,
    /// The cluster's command (its audit record and `GET /debug/result/{command_id}`); absent
    /// when the gateway could not send it.
    pub command_id: Option<String>,
    /// Index into `groups` of this cluster's answer (success and failure).
    pub group: Option<usize>,
    /// Why, for `timeout`, `not_connected` and `error` (a failure's error is its group's).
    pub error: Option<String>,
    pub execution_time_ms: u64,
    /// What the output is, its full size, whether it was cut, and `result_url` for the rest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<OutputInfo>,
}

/// Clusters that gave the same answer: the same status, output and error, and outputs of the
/// same full size (cut ones: identical as far as returned).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OutputGroup {
    /// In the order they were named.
    pub clusters: Vec<String>,
    /// `success` or `failure`.
    pub status: CommandStatus,
    pub output: Option<String>,
    pub error: Option<String>,
    /// The output was cut to the per-cluster budget; each cluster's `meta.result_url` pages the rest.
    pub truncated: bool,
}

/// A named cluster that was not sent the command.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SkippedCluster {
    pub cluster_id: String,
    pub reason: SkipReason,
    pub detail: String,
}

/// How many clusters came to what.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct FanoutCounts {
    /// Named (for `"*"`: every cluster the caller may use).
    pub requested: usize,
    /// Sent the command.
    pub sent: usize,
    pub success: usize,
    pub failure: usize,
    pub timeout: usize,
    pub not_connected: usize,
    pub error: usize,
    pub skipped: usize,
    /// Distinct answers.
    pub groups: usize,
}

/// The answer to a fan-out.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FanoutOutcome {
    pub fanout_id: String,
    /// The caller's, or the fan-out id: every cluster's audit record and events carry it.
    pub correlation_id: Option<String>,
    /// The command as run, in kubectl's words.
    pub command: String,
    /// Each cluster's deadline, from when its command was sent.
    pub timeout_seconds: u64,
    /// Each cluster's share of the output budget, in bytes.
    pub output_budget_per_cluster: u64,
    pub execution_time_ms: u64,
    pub counts: FanoutCounts,
    /// One per cluster sent the command, in the order they were named (`"*"`: by name).
    pub results: Vec<ClusterResult>,
    pub groups: Vec<OutputGroup>,
    pub skipped: Vec<SkippedCluster>,
}

/// The clusters a checked request names.
enum Selection {
    Every,
    Listed(Vec<String>),
}

impl FanoutRequest {
    /// Validation (422s naming the field, every problem at once), the same as a single command's
    /// plus `cluster_ids`.
    fn validate(&self, state: &AppState) -> AppResult<Selection> {
        let mut errors = Vec::new();
        self.command().check_fields(state.settings.commands.max_timeout_seconds, &mut errors);
        let selection = self.selection(state.settings.fanout.max_clusters, &mut errors);
        input::finish(errors)?;
        Ok(selection)
    }

    fn selection(&self, max: usize, errors: &mut Vec<FieldError>) -> Selection {
        let loc = ["body", "cluster_ids"];
        let ids = match &self.cluster_ids {
            ClusterIds::One(s) if s == EVERY_CLUSTER => return Selection::Every,
            ClusterIds::Many(v) if v.len() == 1 && v[0] == EVERY_CLUSTER => return Selection::Every,
            ClusterIds::One(s) => {
                errors.push(FieldError::new(
                    &loc,
                    "cluster_ids",
                    format!(
                        "cluster_ids is a list of cluster ids (e.g. [\"prod\", \"staging\"]) or \"{EVERY_CLUSTER}\" for every cluster your key may use; for one cluster, use POST /debug/execute"
                    ),
                    echo(s),
                ));
                return Selection::Listed(Vec::new());
            }
            ClusterIds::Many(v) => v,
        };
        if ids.is_empty() {
            errors.push(FieldError::new(
                &loc,
                "too_short",
                format!(
                    "cluster_ids needs at least one cluster id, or \"{EVERY_CLUSTER}\" for every cluster your key may use"
                ),
                json!([]),
            ));
        }
        if ids.len() > max {
            errors.push(FieldError::new(
                &loc,
                "too_long",
                format!("at most {max} clusters per request (fanout.max_clusters); got {}", ids.len()),
                json!(ids.len()),
            ));
            return Selection::Listed(Vec::new());
        }
        let mut first_at: HashMap<&str, usize> = HashMap::new();
        for (i, id) in ids.iter().enumerate() {
            let index = i.to_string();
            let at = ["body", "cluster_ids", index.as_str()];
            if id == EVERY_CLUSTER {
                errors.push(FieldError::new(
                    &at,
                    "cluster_ids",
                    format!("\"{EVERY_CLUSTER}\" stands alone: \"cluster_ids\": \"{EVERY_CLUSTER}\""),
                    json!(id),
                ));
            } else if let Err(msg) = kubently_shared::names::validate_cluster_id(id) {
                errors.push(FieldError::new(&at, "string_pattern_mismatch", msg, echo(id)));
            } else {
                match first_at.entry(id) {
                    Entry::Vacant(v) => {
                        v.insert(i);
                    }
                    Entry::Occupied(first) => errors.push(FieldError::new(
                        &at,
                        "duplicate",
                        format!(
                            "cluster '{id}' is listed twice (also at index {}); name each cluster once",
                            first.get()
                        ),
                        json!(id),
                    )),
                }
            }
        }
        Selection::Listed(ids.clone())
    }

    /// The command, as a single command's request without a cluster.
    fn command(&self) -> CommandRequest {
        CommandRequest {
            correlation_id: self.correlation_id.clone(),
            command_type: self.command_type.clone(),
            args: self.args.clone(),
            extra_args: self.extra_args.clone(),
            namespace: self.namespace.clone(),
            timeout_seconds: self.timeout_seconds,
            ..Default::default()
        }
    }
}

/// An offending value, echoed when it is short enough to be useful.
fn echo(value: &str) -> Value {
    if value.len() <= 100 { json!(value) } else { Value::Null }
}

/// The named clusters, sorted into those sent the command and those skipped.
struct Plan {
    requested: usize,
    targets: Vec<String>,
    skipped: Vec<SkippedCluster>,
}

impl Plan {
    fn of(state: &AppState, caller: &Caller, selection: Selection) -> Self {
        let named = match selection {
            Selection::Every => access::visible_clusters(state, caller),
            Selection::Listed(ids) => ids,
        };
        let mut plan = Plan { requested: named.len(), targets: Vec::new(), skipped: Vec::new() };
        for cluster_id in named {
            let skip = if !access::may_use_cluster(caller, &cluster_id) {
                Some((
                    SkipReason::NotPermitted,
                    format!("the key of service '{}' may not use this cluster", caller.service),
                ))
            } else if !state.registry.is_known(&cluster_id) {
                Some((SkipReason::Unknown, "no executor has ever served this cluster".to_string()))
            } else if !state.registry.is_connected(&cluster_id) {
                Some((
                    SkipReason::NotConnected,
                    "no executor is connected to this cluster now; the command was not sent".to_string(),
                ))
            } else {
                None
            };
            match skip {
                Some((reason, detail)) => plan.skipped.push(SkippedCluster { cluster_id, reason, detail }),
                None => plan.targets.push(cluster_id),
            }
        }
        plan
    }

    /// The clusters the caller may use among those named: where a refused command is audited.
    fn permitted(&self) -> Vec<String> {
        let skipped = self.skipped.iter().filter(|s| s.reason != SkipReason::NotPermitted);
        self.targets.iter().cloned().chain(skipped.map(|s| s.cluster_id.clone())).collect()
    }
}

/// Runs the command of `req` on its clusters for `caller`.
pub async fn run(
    state: &AppState,
    caller: &Caller,
    headers: AgentHeaders,
    mut req: FanoutRequest,
) -> AppResult<FanoutOutcome> {
    let started = Instant::now();
    let selection = req.validate(state)?;
    let every = matches!(selection, Selection::Every);
    let plan = Plan::of(state, caller, selection);
    let max = state.settings.fanout.max_clusters;
    if every && plan.targets.len() > max {
        return Err(AppError::field(
            &["body", "cluster_ids"],
            "too_long",
            format!(
                "\"{EVERY_CLUSTER}\" means {} connected clusters for this key, more than fanout.max_clusters ({max}); name at most {max} clusters",
                plan.targets.len()
            ),
            json!(EVERY_CLUSTER),
        ));
    }
    let fanout_id = Uuid::now_v7();
    if headers.correlation_id.is_none() && req.correlation_id.is_none() {
        req.correlation_id = Some(fanout_id.to_string());
    }
    let checked = input::check(state, caller, headers, &req.command(), &plan.permitted())?;
    let total = req.output_budget.unwrap_or(state.settings.commands.output_budget_bytes);
    let share = share_of(total, plan.targets.len());
    let span = tracing::info_span!("fanout", %fanout_id, clusters = plan.targets.len(), skipped = plan.skipped.len());
    async move {
        let concurrency = state.settings.fanout.concurrency;
        // Owned ids: a stream of borrowed ones is not `Send` for every lifetime the doors need.
        let targets = plan.targets.clone().into_iter().enumerate();
        let mut answers: Vec<(usize, AppResult<Finished>)> = futures::stream::iter(targets)
            .map(|(i, cluster_id): (usize, String)| {
                let input = checked.on(&cluster_id, share);
                async move { (i, commands::execute_explained(state, caller, input).await) }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        answers.sort_by_key(|(i, _)| *i);
        let (results, groups) = tally(&plan.targets, answers);
        let outcome = outcome(&checked, fanout_id, share, started, plan, results, groups);
        tracing::info!(
            success = outcome.counts.success,
            failure = outcome.counts.failure,
            timeout = outcome.counts.timeout,
            not_connected = outcome.counts.not_connected,
            error = outcome.counts.error,
            groups = outcome.counts.groups,
            elapsed_ms = outcome.execution_time_ms,
            "fan-out finished"
        );
        Ok(outcome)
    }
    .instrument(span)
    .await
}

/// Each cluster's share of `total` bytes among `clusters`: at least 1 KiB (so many clusters
/// together may return more than `total`), at most 1 MiB.
fn share_of(total: u64, clusters: usize) -> u64 {
    let clusters = u64::try_from(clusters.max(1)).unwrap_or(u64::MAX);
    (total / clusters).clamp(MIN_BUDGET_BYTES as u64, MAX_BUDGET_BYTES as u64)
}

/// What makes two answers the same: status, output and error as returned, and the full output's size.
type AnswerKey = (CommandStatus, Option<String>, Option<String>, Option<u64>);

/// Each cluster's result, and its answer's group.
fn tally(
    targets: &[String],
    answers: Vec<(usize, AppResult<Finished>)>,
) -> (Vec<ClusterResult>, Vec<OutputGroup>) {
    let mut groups: Vec<OutputGroup> = Vec::new();
    let mut group_of: HashMap<AnswerKey, usize> = HashMap::new();
    let mut results = Vec::with_capacity(answers.len());
    for (i, answer) in answers {
        let cluster_id = targets[i].clone();
        let finished = match answer {
            Ok(finished) => finished,
            Err(e) => {
                results.push(ClusterResult {
                    cluster_id,
                    status: ClusterOutcome::Error,
                    command_id: None,
                    group: None,
                    error: Some(e.for_agent()),
                    execution_time_ms: 0,
                    meta: None,
                });
                continue;
            }
        };
        let o = finished.outcome;
        let status = match o.status {
            CommandStatus::Success => ClusterOutcome::Success,
            CommandStatus::Failure => ClusterOutcome::Failure,
            _ if finished.timeout.as_ref().is_some_and(|c| c.no_executor()) => ClusterOutcome::NotConnected,
            _ => ClusterOutcome::Timeout,
        };
        let group = matches!(status, ClusterOutcome::Success | ClusterOutcome::Failure).then(|| {
            let key = (o.status, o.output.clone(), o.error.clone(), o.meta.as_ref().map(|m| m.bytes));
            *group_of.entry(key).or_insert_with(|| {
                groups.push(OutputGroup {
                    clusters: Vec::new(),
                    status: o.status,
                    output: o.output.clone(),
                    error: o.error.clone(),
                    truncated: o.meta.as_ref().is_some_and(|m| m.truncated),
                });
                groups.len() - 1
            })
        });
        if let Some(g) = group {
            groups[g].clusters.push(cluster_id.clone());
        }
        results.push(ClusterResult {
            cluster_id,
            status,
            command_id: Some(o.command_id),
            group,
            error: if group.is_some() { None } else { o.error },
            execution_time_ms: o.execution_time_ms,
            meta: o.meta,
        });
    }
    (results, groups)
}

fn outcome(
    checked: &CheckedCommand,
    fanout_id: Uuid,
    share: u64,
    started: Instant,
    plan: Plan,
    results: Vec<ClusterResult>,
    groups: Vec<OutputGroup>,
) -> FanoutOutcome {
    let count = |s: ClusterOutcome| results.iter().filter(|r| r.status == s).count();
    let counts = FanoutCounts {
        requested: plan.requested,
        sent: results.iter().filter(|r| r.command_id.is_some()).count(),
        success: count(ClusterOutcome::Success),
        failure: count(ClusterOutcome::Failure),
        timeout: count(ClusterOutcome::Timeout),
        not_connected: count(ClusterOutcome::NotConnected),
        error: count(ClusterOutcome::Error),
        skipped: plan.skipped.len(),
        groups: groups.len(),
    };
    FanoutOutcome {
        fanout_id: fanout_id.to_string(),
        correlation_id: checked.correlation_id.clone(),
        command: checked.typed.clone(),
        timeout_seconds: checked.timeout.as_secs(),
        output_budget_per_cluster: share,
        execution_time_ms: started.elapsed().as_millis() as u64,
        counts,
        results,
        groups,
        skipped: plan.skipped,
    }
}

impl FanoutOutcome {
    /// One line: `version on 3 clusters: 2 success, 1 timeout (2 distinct answers); skipped 1 (not connected: c)`.
    pub fn summary(&self) -> String {
        let c = &self.counts;
        let mut parts = Vec::new();
        for (n, what) in [
            (c.success, "success"),
            (c.failure, "failure"),
            (c.timeout, "timeout"),
            (c.not_connected, "not connected"),
            (c.error, "error"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        let mut line = format!(
            "`{}` on {} of {} clusters: {}",
            self.command,
            c.sent,
            c.requested,
            if parts.is_empty() { "nothing ran".to_string() } else { parts.join(", ") }
        );
        if c.groups > 0 {
            let s = if c.groups == 1 { "" } else { "s" };
            line.push_str(&format!(" ({} distinct answer{s})", c.groups));
        }
        if !self.skipped.is_empty() {
            let mut by_reason: Vec<(SkipReason, Vec<&str>)> = Vec::new();
            for s in &self.skipped {
                match by_reason.iter_mut().find(|(r, _)| *r == s.reason) {
                    Some((_, ids)) => ids.push(&s.cluster_id),
                    None => by_reason.push((s.reason, vec![&s.cluster_id])),
                }
            }
            let reasons: Vec<String> =
                by_reason.iter().map(|(r, ids)| format!("{}: {}", r.as_str(), ids.join(", "))).collect();
            line.push_str(&format!("; skipped {} ({})", self.skipped.len(), reasons.join("; ")));
        }
        line
    }

    /// The summary, each distinct answer with its clusters, then the clusters without one.
    pub fn text(&self) -> String {
        let mut text = self.summary();
        text.push('\n');
        for g in &self.groups {
            text.push_str(&format!("\n== {} ({}) ==\n", g.clusters.join(", "), g.status));
            if let Some(e) = &g.error {
                text.push_str(&format!("error: {e}\n"));
            }
            if let Some(o) = g.output.as_deref().filter(|o| !o.is_empty()) {
                text.push_str(o);
                if !o.ends_with('\n') {
                    text.push('\n');
                }
            }
        }
        for r in self.results.iter().filter(|r| r.group.is_none()) {
            let status = serde_json::to_value(r.status).ok();
            let status = status.as_ref().and_then(Value::as_str).unwrap_or("error");
            text.push_str(&format!(
                "\n== {} ({status}) ==\n{}\n",
                r.cluster_id,
                r.error.as_deref().unwrap_or("")
            ));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(ids: Value) -> FanoutRequest {
        FanoutRequest {
            cluster_ids: serde_json::from_value(ids).expect("cluster_ids"),
            correlation_id: None,
            command_type: "version".into(),
            args: Vec::new(),
            extra_args: None,
            namespace: None,
            timeout_seconds: None,
            output_budget: None,
        }
    }

    fn problems(ids: Value, max: usize) -> Vec<(Vec<String>, &'static str)> {
        let mut errors = Vec::new();
        request(ids).selection(max, &mut errors);
        errors.into_iter().map(|e| (e.loc, e.kind)).collect()
    }

    fn loc(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cluster_ids_are_a_list_of_distinct_ids_or_every_cluster() {
        let mut errors = Vec::new();
        assert!(matches!(request(json!("*")).selection(3, &mut errors), Selection::Every));
        assert!(matches!(request(json!(["*"])).selection(3, &mut errors), Selection::Every));
        assert!(errors.is_empty());
        assert_eq!(problems(json!(["a", "b"]), 3), vec![]);
        assert_eq!(problems(json!([]), 3), vec![(loc(&["body", "cluster_ids"]), "too_short")]);
        assert_eq!(problems(json!("prod"), 3), vec![(loc(&["body", "cluster_ids"]), "cluster_ids")]);
        assert_eq!(
            problems(json!(["a", "b", "c", "d"]), 3),
            vec![(loc(&["body", "cluster_ids"]), "too_long")]
        );
        assert_eq!(
            problems(json!(["a", "b", "a", "Bad_Id", "*"]), 10),
            vec![
                (loc(&["body", "cluster_ids", "2"]), "duplicate"),
                (loc(&["body", "cluster_ids", "3"]), "string_pattern_mismatch"),
                (loc(&["body", "cluster_ids", "4"]), "cluster_ids"),
            ]
        );
        // A third copy still names the first one.
        let mut errors = Vec::new();
        request(json!(["a", "a", "a"])).selection(10, &mut errors);
        assert!(errors.iter().all(|e| e.msg.contains("index 0")), "{errors:?}");
    }

    #[test]
    fn each_cluster_gets_a_share_of_the_budget_within_the_per_command_limits() {
        assert_eq!(share_of(16 * 1024, 4), 4 * 1024);
        assert_eq!(share_of(16 * 1024, 100), 1024, "at least 1 KiB each");
        assert_eq!(share_of(16 * 1024, 0), 16 * 1024);
        assert_eq!(share_of(u64::MAX, 1), MAX_BUDGET_BYTES as u64);
    }
}
