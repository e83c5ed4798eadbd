//! The MCP shape of a fan-out (`execute_kubectl_fanout`): its arguments, and the application
//! layer's [`FanoutOutcome`] in the words the other tools use (`result_id` for a command id, a
//! one-line `summary` to read first).

use rmcp::schemars;
use serde::{Deserialize, Serialize};

use crate::app::fanout::{ClusterIds, FanoutOutcome};

/// `cluster_ids`: a list of cluster ids, or `"*"`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ClusterSelection {
    /// `"*"`: every cluster this key may use.
    Every(String),
    /// Cluster ids (see `list_clusters`), each once.
    Listed(Vec<String>),
}

impl From<ClusterSelection> for ClusterIds {
    fn from(s: ClusterSelection) -> Self {
        match s {
            ClusterSelection::Every(s) => Self::One(s),
            ClusterSelection::Listed(v) => Self::Many(v),
        }
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct FanoutArgs {
    /// One read-only kubectl command without the `kubectl` word, as for `execute_kubectl`, e.g.
    /// `version`, `get nodes`, `get pods -n kube-system`.
    pub command: String,
    /// The clusters: `["prod", "staging"]` (at most 1000 unless configured, each once), or `"*"`
    /// for every cluster this key may use. Clusters without a connected executor are skipped.
    pub cluster_ids: ClusterSelection,
    /// Default namespace when the command has no `-n`.
    pub namespace: Option<String>,
    /// Seconds each cluster may take, 1–30 (default 10).
    pub timeout: Option<u64>,
    /// Bytes of output for all clusters together (1 KiB–1 MiB, default 16 KiB), shared equally,
    /// at least 1 KiB each; page one cluster's full output with `get_command_result`.
    pub output_budget: Option<u64>,
}

/// What a fan-out came to.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct FanoutOutput {
    /// One line: how many clusters answered what, and which were skipped and why.
    pub summary: String,
    /// The command as run, in kubectl's words.
    pub command: String,
    /// Every cluster's audit record carries it.
    pub correlation_id: Option<String>,
    /// Distinct answers, each with the clusters that gave it: identical outputs appear once.
    pub groups: Vec<GroupOutput>,
    /// One per cluster the command was sent to.
    pub results: Vec<ClusterOutput>,
    /// Clusters named but not sent the command.
    pub skipped: Vec<SkippedOutput>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct GroupOutput {
    pub clusters: Vec<String>,
    /// `success` or `failure`.
    pub status: String,
    pub output: String,
    pub error: Option<String>,
    /// Cut to each cluster's share of the budget; page a cluster's `result_id` for the rest.
    pub truncated: bool,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ClusterOutput {
    pub cluster_id: String,
    /// `success`, `failure`, `timeout`, `not_connected` (no executor: not run) or `error` (not
    /// sent; retry).
    pub status: String,
    /// Use with `get_command_result` (absent when the command was not sent).
    pub result_id: Option<String>,
    /// Index into `groups` of this cluster's answer.
    pub group: Option<usize>,
    /// Why, for `timeout`, `not_connected` and `error`.
    pub error: Option<String>,
    pub execution_time_ms: u64,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SkippedOutput {
    pub cluster_id: String,
    /// `not_permitted`, `unknown` or `not_connected`.
    pub reason: String,
    pub detail: String,
}

/// A serde enum's wire name (`not_connected`).
fn wire_name(value: impl Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

impl From<FanoutOutcome> for FanoutOutput {
    fn from(o: FanoutOutcome) -> Self {
        Self {
            summary: o.summary(),
            command: o.command,
            correlation_id: o.correlation_id,
            groups: o
                .groups
                .into_iter()
                .map(|g| GroupOutput {
                    clusters: g.clusters,
                    status: g.status.to_string(),
                    output: g.output.unwrap_or_default(),
                    error: g.error,
                    truncated: g.truncated,
                })
                .collect(),
            results: o
                .results
                .into_iter()
                .map(|r| ClusterOutput {
                    status: wire_name(r.status),
                    cluster_id: r.cluster_id,
                    result_id: r.command_id,
                    group: r.group,
                    error: r.error,
                    execution_time_ms: r.execution_time_ms,
                })
                .collect(),
            skipped: o
                .skipped
                .into_iter()
                .map(|s| SkippedOutput {
                    reason: wire_name(s.reason),
                    cluster_id: s.cluster_id,
                    detail: s.detail,
                })
                .collect(),
        }
    }
}
