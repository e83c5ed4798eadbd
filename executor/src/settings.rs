//! Executor configuration: `KUBENTLY__EXECUTOR__CLUSTER_ID`, `KUBENTLY__NATS__URL`, … or a config file.
//! The Kubernetes client comes from `kube.kubeconfig` (else `KUBECONFIG`/`~/.kube/config`), else
//! the in-cluster service account.

use std::path::PathBuf;

use kubently_shared::config::{LogSettings, NatsSettings};
use kubently_shared::policy::PolicyConfig;

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub executor: ExecutorSettings,
    pub nats: NatsSettings,
    pub kube: KubeSettings,
    pub log: LogSettings,
    pub policy: PolicyConfig,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutorSettings {
    /// The cluster this executor serves: lowercase letters, digits and `-`.
    pub cluster_id: String,
    /// This replica's id in the registry; default `<hostname>-<random>`.
    pub id: Option<String>,
    /// Commands run at once by this replica.
    pub concurrency: usize,
    /// Long-poll length while the cluster is active (someone is debugging it).
    pub fast_fetch_ms: u64,
    /// Long-poll length while idle: fewer requests to NATS; a command still arrives at once.
    pub slow_fetch_seconds: u64,
    /// Presence heartbeat; the registry forgets an executor after 3 missed beats.
    pub heartbeat_seconds: u64,
    /// How long shutdown waits for in-flight commands.
    pub shutdown_grace_seconds: u64,
}

impl Default for ExecutorSettings {
    fn default() -> Self {
        Self {
            cluster_id: "local".into(),
            id: None,
            concurrency: 32,
            fast_fetch_ms: 1000,
            slow_fetch_seconds: 15,
            heartbeat_seconds: 5,
            shutdown_grace_seconds: 35,
        }
    }
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KubeSettings {
    /// Explicit kubeconfig path; when unset, `KUBECONFIG`/`~/.kube/config`, then in-cluster config.
    pub kubeconfig: Option<PathBuf>,
    /// Context inside the kubeconfig; the current context when unset.
    pub context: Option<String>,
    /// Namespace for namespaced requests that name none.
    pub default_namespace: String,
}

impl Default for KubeSettings {
    fn default() -> Self {
        Self { kubeconfig: None, context: None, default_namespace: "default".into() }
    }
}
