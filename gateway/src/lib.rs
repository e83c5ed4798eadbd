//! Kubently gateway library. The binary is a thin wrapper around [`Application`].

pub mod a2a;
pub mod activity;
pub mod api;
pub mod audit;
pub mod auth;
pub mod commands;
pub mod dispatch;
pub mod error;
pub mod mcp;
pub mod metrics;
pub mod registry;
pub mod sessions;
pub mod settings;
pub mod startup;
pub mod webhooks;

pub use settings::Settings;
pub use startup::{AppState, Application};

/// Errors building or running the gateway.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot bind {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("NATS: {0}")]
    Nats(String),
    #[error(transparent)]
    Shared(#[from] kubently_shared::Error),
    #[error("HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
