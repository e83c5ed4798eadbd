//! Kubently gateway library. The binary is a thin wrapper around [`Application`].

pub mod settings;
pub mod startup;

pub use settings::Settings;
pub use startup::Application;

/// Errors of the gateway library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot bind {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("cannot connect to NATS at {url}: {source}")]
    Nats { url: String, source: async_nats::ConnectError },
    #[error("HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
