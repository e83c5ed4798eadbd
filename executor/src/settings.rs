//! Executor configuration: `KUBENTLY__EXECUTOR__CLUSTER_ID`, `KUBENTLY__NATS__URL`, … or a config file.
//! The Kubernetes client comes from `kube.kubeconfig` (else `KUBECONFIG`/`~/.kube/config`), else
//! the in-cluster service account (`/var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}`).

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
    /// Whose command signatures this executor accepts.
    pub signing: kubently_shared::signing::VerifierSettings,
    /// Whether commands run as their caller (Kubernetes impersonation) on this cluster.
    pub impersonation: ImpersonationSettings,
}

/// The health endpoints' port unless `executor.health_port` says otherwise.
pub const DEFAULT_HEALTH_PORT: u16 = 8081;

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
    /// Address the health endpoints (`/healthz`, `/readyz`) listen on; `0.0.0.0` in a pod, so the
    /// kubelet's probes reach them.
    pub health_host: String,
    /// Port of the health endpoints; 0 picks a free port (tests, several executors on one host).
    pub health_port: u16,
    /// Start even when the Kubernetes identity can change the cluster (write, exec, impersonate,
    /// escalate, bind, approve). For lab clusters only: the executor then says so in its presence
    /// record. Without it, such an identity makes the executor refuse to start.
    pub allow_write_identity: bool,
    /// Namespaces this executor is meant to read, for an identity that may not list namespaces
    /// (the namespace-scoped deployment): the privilege check reviews them, and the presence
    /// record shows which of them it may read. Comma-separated in the environment.
    #[serde(deserialize_with = "kubently_shared::config::list_or_csv")]
    pub namespaces: Vec<String>,
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
            health_host: "127.0.0.1".into(),
            health_port: DEFAULT_HEALTH_PORT,
            allow_write_identity: false,
            namespaces: Vec::new(),
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

/// Running every command as its caller: each Kubernetes API request a command makes carries
/// `Impersonate-User: <user_prefix><user>`, one `Impersonate-Group: <group_prefix><group>` per
/// group, and the command and session ids as `Impersonate-Extra-kubently-command-id` /
/// `-session-id`, so the API server applies the caller's RBAC and its audit log names the caller.
/// A command whose caller has no Kubernetes identity is refused, never run as the executor.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImpersonationSettings {
    pub enabled: bool,
    /// Put before every caller's user name; not empty and not `system:` (the executor's
    /// ClusterRole may impersonate only users named with it).
    pub user_prefix: String,
    /// Put before every caller's group name; the same rules.
    pub group_prefix: String,
}

impl Default for ImpersonationSettings {
    fn default() -> Self {
        use kubently_shared::impersonation::DEFAULT_PREFIX;
        Self { enabled: false, user_prefix: DEFAULT_PREFIX.into(), group_prefix: DEFAULT_PREFIX.into() }
    }
}
