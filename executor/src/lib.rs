//! Kubently executor library. The binary is a thin wrapper around [`Application`].

pub mod settings;
pub mod startup;

pub use settings::Settings;
pub use startup::Application;

/// Errors of the executor library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot connect to NATS at {url}: {source}")]
    Nats { url: String, source: async_nats::ConnectError },
    #[error("cannot load the Kubernetes client configuration: {0}")]
    KubeConfig(String),
    #[error("Kubernetes API call failed: {0}")]
    Kube(#[from] kube::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
