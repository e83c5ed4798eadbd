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
