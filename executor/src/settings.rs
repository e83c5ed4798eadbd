//! Executor configuration: `KUBENTLY__EXECUTOR__CLUSTER_ID`, `KUBENTLY__NATS__URL`, … or a config file.
//! The Kubernetes client comes from `KUBECONFIG` (or `kube.kubeconfig`), else the in-cluster service account.

use std::path::PathBuf;

use kubently_shared::config::{LogSettings, NatsSettings};

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub executor: ExecutorSettings,
    pub nats: NatsSettings,
    pub kube: KubeSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutorSettings {
    /// The cluster this executor serves: lowercase letters, digits and `-`.
    pub cluster_id: String,
}

impl Default for ExecutorSettings {
    fn default() -> Self {
        Self { cluster_id: "local".into() }
    }
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KubeSettings {
    /// Explicit kubeconfig path; when unset, `KUBECONFIG`/`~/.kube/config`, then in-cluster config.
    pub kubeconfig: Option<PathBuf>,
    /// Context inside the kubeconfig; the current context when unset.
    pub context: Option<String>,
}
