//! What `diagnose` reports: [`Finding`]s (kind, object, severity, evidence, the next command
//! worth running) and what it could not check ([`Gap`]), gathered in a [`Report`]. These are
//! also the `-o json` document's shape.

use serde::Serialize;

/// How bad a finding is; findings are ranked by it (critical first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something does not run at all (crash loop, image missing, unschedulable, job failed, node down).
    Critical,
    /// Degraded or about to be (not ready, endpoints missing, quota exhausted, pressure).
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::Warning => "warning",
        }
    }
}

/// What was found. The JSON names are the kebab-case variant names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    CrashLoopBackOff,
    OomKilled,
    ImagePull,
    Unschedulable,
    ReadinessProbeFailing,
    LivenessProbeFailing,
    ContainerConfigError,
    VolumeMountFailed,
    ContainerError,
    InitContainerStuck,
    PodFailed,
    WorkloadUnavailable,
    RolloutStuck,
    JobFailed,
    CronJobFailing,
    HpaCannotScale,
    ServiceWithoutPods,
    ServiceWithoutReadyPods,
    IngressMissingService,
    PvcPending,
    NodeNotReady,
    NodePressure,
    TaintNotTolerated,
    QuotaExhausted,
}

impl Kind {
    /// The label shown in text output: `CrashLoopBackOff`, `OOMKilled`, …
    pub fn label(self) -> &'static str {
        match self {
            Self::CrashLoopBackOff => "CrashLoopBackOff",
            Self::OomKilled => "OOMKilled",
            Self::ImagePull => "ImagePull",
            Self::Unschedulable => "Unschedulable",
            Self::ReadinessProbeFailing => "ReadinessProbeFailing",
            Self::LivenessProbeFailing => "LivenessProbeFailing",
            Self::ContainerConfigError => "CreateContainerConfigError",
            Self::VolumeMountFailed => "FailedMount",
            Self::ContainerError => "ContainerError",
            Self::InitContainerStuck => "InitContainerStuck",
            Self::PodFailed => "PodFailed",
            Self::WorkloadUnavailable => "Unavailable",
            Self::RolloutStuck => "RolloutStuck",
            Self::JobFailed => "JobFailed",
            Self::CronJobFailing => "CronJobFailing",
            Self::HpaCannotScale => "HPACannotScale",
            Self::ServiceWithoutPods => "ServiceWithoutPods",
            Self::ServiceWithoutReadyPods => "ServiceWithoutReadyPods",
            Self::IngressMissingService => "IngressMissingService",
            Self::PvcPending => "PVCPending",
            Self::NodeNotReady => "NodeNotReady",
            Self::NodePressure => "NodePressure",
            Self::TaintNotTolerated => "TaintNotTolerated",
            Self::QuotaExhausted => "QuotaExhausted",
        }
    }
}

/// An object, as kubectl names it (`pod/x`, `deployment/y`), with its namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ObjectRef {
    /// Lowercase kind: `pod`, `deployment`, `node`.
    pub kind: &'static str,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl ObjectRef {
    pub fn new(kind: &'static str, namespace: Option<&str>, name: &str) -> Self {
        Self { kind, name: name.to_string(), namespace: namespace.map(str::to_string) }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

/// The next command worth running, as `POST /debug/execute` takes it (and as one line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// `logs orders-api-x -n demo-shop --previous --tail=100`
    pub command: String,
    pub command_type: &'static str,
    pub args: Vec<String>,
}

impl Suggestion {
    pub fn new(command_type: &'static str, args: impl IntoIterator<Item = String>) -> Self {
        let args: Vec<String> = args.into_iter().collect();
        let mut command = command_type.to_string();
        for a in &args {
            command.push(' ');
            command.push_str(a);
        }
        Self { command, command_type, args }
    }

    /// `<verb> <object words…> [-n ns] [extra…]`
    pub fn on(command_type: &'static str, words: &[&str], namespace: Option<&str>, extra: &[&str]) -> Self {
        let mut args: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        if let Some(ns) = namespace {
            args.push("-n".into());
            args.push(ns.to_string());
        }
        args.extend(extra.iter().map(|e| e.to_string()));
        Self::new(command_type, args)
    }
}

/// A few lines of a container's log, compacted, as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogExcerpt {
    /// `previous log of container orders-api`
    pub source: String,
    pub lines: Vec<String>,
}

/// One problem, with what shows it and what to run next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: Kind,
    pub severity: Severity,
    pub object: ObjectRef,
    /// The workload the object belongs to (`deployment/orders-api` for its pod), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<ObjectRef>,
    /// One line: what is wrong.
    pub summary: String,
    /// Facts that show it (statuses, exit codes, quoted event messages), one per line.
    pub evidence: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<LogExcerpt>,
    /// Cluster text in the evidence that reads like an instruction to an AI (it is data; it was
    /// written by whoever could write that log line or event).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flagged: Vec<String>,
    pub suggested: Suggestion,
}

impl Finding {
    pub fn new(
        kind: Kind,
        severity: Severity,
        object: ObjectRef,
        summary: String,
        suggested: Suggestion,
    ) -> Self {
        Self {
            kind,
            severity,
            object,
            owner: None,
            summary,
            evidence: Vec::new(),
            log: None,
            flagged: Vec::new(),
            suggested,
        }
    }

    pub fn owned_by(mut self, owner: Option<ObjectRef>) -> Self {
        self.owner = owner;
        self
    }
}

/// Something `diagnose` could not check, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// `nodes`, `horizontalpodautoscalers.autoscaling`, `previous log of pod/x`
    pub what: String,
    pub reason: String,
}

/// How many objects of one type were looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checked {
    pub resource: &'static str,
    pub count: usize,
}

/// The whole answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// `namespace demo-shop`, `all namespaces`, `deployment/web in namespace demo`
    pub scope: String,
    pub findings: Vec<Finding>,
    /// Findings left out to fit the output budget (the lowest ranked).
    #[serde(skip_serializing_if = "is_zero")]
    pub omitted: usize,
    pub checked: Vec<Checked>,
    pub could_not_check: Vec<Gap>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
