//! Kubently executor library. The binary is a thin wrapper around [`Application`].

pub mod engine;
pub mod mode;
pub mod presence;
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
    #[error(transparent)]
    Shared(#[from] kubently_shared::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
