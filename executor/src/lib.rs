//! Kubently executor library. The binary is a thin wrapper around [`Application`].

pub mod engine;
pub mod health;
pub mod impersonation;
pub mod mode;
pub mod presence;
pub mod privileges;
pub mod pull;
pub mod settings;
pub mod startup;
pub mod worker;

pub use settings::Settings;
pub use startup::Application;

/// What the `kubently-executor` binary does: settings from the file `KUBENTLY_CONFIG` names (if
/// any) and the environment, tracing, then serve until SIGTERM.
pub async fn run_from_env() -> anyhow::Result<()> {
    use anyhow::Context;
    let file = std::env::var_os("KUBENTLY_CONFIG").map(std::path::PathBuf::from);
    let settings: Settings =
        kubently_shared::config::load(file.as_deref()).context("loading executor settings")?;
    kubently_shared::telemetry::init(&settings.log)?;
    Application::build(settings).await?.run().await?;
    Ok(())
}

/// Errors building or running the executor.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot load the Kubernetes client configuration: {}: {source}", .path.display())]
    Kubeconfig {
        path: std::path::PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("cannot load the Kubernetes client configuration: {0}")]
    InferKubeConfig(#[source] kube::config::InferConfigError),
    #[error("Kubernetes API call failed: {0}")]
    Kube(#[from] kube::Error),
    #[error("cannot serve the health endpoints on {addr}: {source}")]
    HealthBind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The privilege self-check could not run: fail closed.
    #[error(
        "cannot check what the executor's Kubernetes identity may do (SelfSubjectAccessReview / \
         SelfSubjectRulesReview), and the executor does not start without knowing it is read-only: {0}"
    )]
    PrivilegeCheck(#[source] kube::Error),
    /// The identity can change the cluster and `executor.allow_write_identity` is not set.
    #[error("{}", write_identity_message(.dangerous))]
    WriteIdentity { dangerous: Vec<String> },
    #[error("cannot load the trusted command signing keys: {0}")]
    Signing(#[from] kubently_shared::signing::KeyError),
    #[error(transparent)]
    Shared(#[from] kubently_shared::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn write_identity_message(dangerous: &[String]) -> String {
    let mut out = String::from(
        "refusing to start: the executor's Kubernetes identity can change the cluster, and a Kubently \
         executor runs with read access only. Dangerous permissions:",
    );
    for d in dangerous {
        out.push_str("\n  - ");
        out.push_str(d);
    }
    if dangerous.iter().any(|d| d.starts_with("impersonate on ")) {
        out.push_str(
            "\nIf this executor is meant to run commands as their callers, set impersonation.enabled = true \
             (KUBENTLY__IMPERSONATION__ENABLED=true) and grant impersonation only as \
             `kubently-admin impersonation-rbac` prints it: named users and groups with the prefix, and the \
             kubently command and session id extras.",
        );
    }
    out.push_str(
        "\nFix: run the executor as a ServiceAccount bound only to the read-only ClusterRole of \
         deploy/executor (`kubectl apply -k deploy/executor`), and remove the bindings that grant the \
         permissions above (`kubectl auth can-i --list --as=system:serviceaccount:<namespace>:<name>` \
         shows what is left). For a lab cluster only, executor.allow_write_identity = true \
         (KUBENTLY__EXECUTOR__ALLOW_WRITE_IDENTITY=true) starts it anyway and says so in its presence record.",
    );
    out
}
