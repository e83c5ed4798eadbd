//! The typed read-only request. A command exists only in this form: the policy parses
//! `command_type` + `args` + `extra_args` + `namespace` into it (rejecting everything it cannot
//! express), it travels over NATS in this form, and the executor runs it through kube-rs. There
//! is no argv and no shell anywhere, so there is nothing to inject into: a value such as
//! `a;rm -rf /` is just a (non-matching) name.

use serde::{Deserialize, Serialize};

pub use super::verb::RolloutAction;
use super::verb::{CommandName, Verb};

/// One read-only kubectl operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verb", rename_all = "kebab-case")]
pub enum KubectlRequest {
    Get(GetRequest),
    Describe(DescribeRequest),
    Logs(LogsRequest),
    Events(EventsRequest),
    Top(TopRequest),
    Explain(ExplainRequest),
    Version,
    ClusterInfo,
    ApiResources(ApiResourcesRequest),
    ApiVersions,
    Rollout(RolloutRequest),
    Diagnose(DiagnoseRequest),
}

impl KubectlRequest {
    /// The kubectl verb, for metrics, audit and errors (`get`, `rollout status`, …).
    pub fn verb(&self) -> &'static str {
        self.command().as_str()
    }

    /// What the request runs: its verb, or for `rollout` the action.
    pub fn command(&self) -> CommandName {
        let verb = match self {
            Self::Get(_) => Verb::Get,
            Self::Describe(_) => Verb::Describe,
            Self::Logs(_) => Verb::Logs,
            Self::Events(_) => Verb::Events,
            Self::Top(_) => Verb::Top,
            Self::Explain(_) => Verb::Explain,
            Self::Version => Verb::Version,
            Self::ClusterInfo => Verb::ClusterInfo,
            Self::ApiResources(_) => Verb::ApiResources,
            Self::ApiVersions => Verb::ApiVersions,
            Self::Rollout(r) => return CommandName::Rollout(r.action),
            Self::Diagnose(_) => Verb::Diagnose,
        };
        CommandName::Verb(verb)
    }
}

/// Which namespace(s) a namespaced request covers. Cluster-scoped resources ignore it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "scope", content = "name")]
pub enum NamespaceScope {
    /// No namespace given: the executor's default (`default`), as kubectl does.
    #[default]
    Default,
    Namespace(String),
    /// `-A` / `--all-namespaces`. Never combined with a namespace (upstream's `-A -n default` bug).
    All,
}

/// A resource as the caller typed it (`po`, `pods`, `deploy`, `deployments.apps`, `secret`,
/// `foo.example.com`), plus the object names given for it. Resolution to a group/version/kind
/// happens in the executor through discovery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRef {
    pub resource: String,
    /// Empty = every object (subject to selectors).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

/// `-o` for get.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "format", content = "template")]
pub enum OutputFormat {
    /// kubectl's default table (server-side Table printing).
    #[default]
    Table,
    Wide,
    Json,
    Yaml,
    Name,
    /// `-o jsonpath=<template>`.
    JsonPath(String),
    /// `-o custom-columns=<spec>`.
    CustomColumns(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetRequest {
    /// `get pods,svc` → two refs; `get pod/a svc/b` → two refs with names; `get pods a b` → one ref, two names.
    /// `get all` is the ref `all`, expanded by the executor to kubectl's `all` category.
    pub targets: Vec<ResourceRef>,
    #[serde(default)]
    pub namespace: NamespaceScope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_selector: Option<String>,
    #[serde(default)]
    pub output: OutputFormat,
    #[serde(default)]
    pub show_labels: bool,
    /// `-L key1,key2`: extra label columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub label_columns: Vec<String>,
    #[serde(default)]
    pub no_headers: bool,
    #[serde(default)]
    pub show_kind: bool,
    /// `--sort-by=<jsonpath>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<String>,
    /// `--chunk-size`: page size for list calls (kubectl default 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_size: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescribeRequest {
    pub targets: Vec<ResourceRef>,
    #[serde(default)]
    pub namespace: NamespaceScope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    /// `--show-events` (default true).
    pub show_events: bool,
}

/// What `logs` reads: `pod-name`, `pod/x`, `deploy/x`, `sts/x`, `job/x`, …, or pods by `-l`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum LogTarget {
    /// A pod name, or `<resource>/<name>` of a pod-owning workload.
    Object(ResourceRef),
    /// `-l selector`: every matching pod, lines prefixed with `[pod/<name>/<container>]`.
    Selector(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogsRequest {
    pub target: LogTarget,
    #[serde(default)]
    pub namespace: NamespaceScope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(default)]
    pub all_containers: bool,
    #[serde(default)]
    pub previous: bool,
    /// `--tail=N` (-1 = all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail_lines: Option<i64>,
    /// `--since=5m` in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_seconds: Option<i64>,
    /// `--since-time=<RFC 3339>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_time: Option<String>,
    #[serde(default)]
    pub timestamps: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_bytes: Option<i64>,
    /// `-f`: stream until the command's deadline.
    #[serde(default)]
    pub follow: bool,
    /// `--prefix`: prefix lines with the source (default on for several pods/containers).
    #[serde(default)]
    pub prefix: bool,
    /// `--compact` (Kubently's own): runs of identical or near-identical lines folded into one
    /// with a count, the lines around errors kept (see the executor's `compact` module).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compact: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsRequest {
    #[serde(default)]
    pub namespace: NamespaceScope,
    /// `--for kind/name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_object: Option<ResourceRef>,
    /// `--types Warning,Normal`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    #[serde(default)]
    pub output: OutputFormat,
    #[serde(default)]
    pub no_headers: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TopKind {
    Pods,
    Nodes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopRequest {
    pub kind: TopKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub namespace: NamespaceScope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    /// `--containers` (pods only).
    #[serde(default)]
    pub containers: bool,
    /// `--sort-by=cpu|memory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<String>,
    #[serde(default)]
    pub no_headers: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainRequest {
    /// `pods.spec.containers`
    pub path: String,
    #[serde(default)]
    pub recursive: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApiResourcesOutput {
    Table,
    Wide,
    Name,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiResourcesRequest {
    /// `--namespaced=true|false`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaced: Option<bool>,
    /// `--api-group=apps` (empty string = core)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_group: Option<String>,
    /// `--verbs=list,get`
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verbs: Vec<String>,
    pub output: ApiResourcesOutput,
    #[serde(default)]
    pub no_headers: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutRequest {
    pub action: RolloutAction,
    /// `deployment/x`, `sts/x`, `ds/x`.
    pub target: ResourceRef,
    #[serde(default)]
    pub namespace: NamespaceScope,
    /// `history --revision=N`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    /// `status`: wait until the rollout finishes (bounded by the command's deadline), as kubectl
    /// does by default; `--watch=false` reports the current state at once.
    #[serde(default)]
    pub watch: bool,
}

/// How `diagnose` prints its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiagnoseOutput {
    /// Findings as text, ranked by severity.
    #[default]
    Text,
    /// `-o json`: the report as one JSON document (findings with kind, object, severity,
    /// evidence and suggested command; what could not be checked).
    Json,
}

/// What one `diagnose` looks at instead of a whole namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum DiagnoseTarget {
    /// `TYPE/NAME` or `TYPE NAME`: a pod or a pod-owning workload.
    Object(ResourceRef),
    /// A bare `NAME`: the workload (deployment, statefulset, daemonset, cronjob, job, replicaset)
    /// or pod of that name, looked up in that order.
    Named(String),
}

/// `diagnose [NAME | TYPE/NAME | TYPE NAME] [-n NS | -A] [-o json]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnoseRequest {
    #[serde(default)]
    pub namespace: NamespaceScope,
    /// One workload or pod to look at; `None` = the whole scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<DiagnoseTarget>,
    #[serde(default)]
    pub output: DiagnoseOutput,
}
