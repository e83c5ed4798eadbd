//! Kubently gateway library. The binary is a thin wrapper around [`Application`].
//!
//! Where things are:
//! * the doors — thin adapters over the application layer: [`rest`] (Kubently's REST API and the
//!   router that mounts every door), [`mcp`] (MCP tools), [`a2a`] (the A2A agent);
//! * [`app`] — the application layer every door calls: commands, results, sessions, clusters,
//!   webhook subscriptions, audit, and every ownership and scope rule ([`app::access`]);
//! * the machinery below it: [`outcome`] (how a command's end is worded and paged), [`replies`]
//!   (routing executors' replies to waiting requests), [`registry`] (connected executors),
//!   [`activity`] (cluster-active marks), [`session_store`], [`audit`] (the audit log),
//!   [`webhooks`] (delivery, async follow-ups, A2A pushes), [`auth`] (who the caller is),
//!   [`exhausted`] (answering commands every executor gave up on), [`storage`] (size limits and
//!   how full each stream is), [`metrics`], [`settings`],
//!   [`error`] (which error type belongs where);
//! * [`state`] (what they all share) and [`startup`] (building it and serving).

pub mod a2a;
pub mod activity;
pub mod app;
pub mod audit;
pub mod auth;
pub mod error;
pub mod exhausted;
pub mod https;
pub mod mcp;
pub mod metrics;
pub mod outcome;
pub mod provisioner;
pub mod registry;
pub mod replies;
pub mod rest;
pub mod session_store;
pub mod settings;
pub mod startup;
pub mod state;
pub mod storage;
pub mod webhooks;

pub use settings::Settings;
pub use startup::Application;
pub use state::AppState;

/// Errors building or running the gateway.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid authentication settings")]
    Auth(#[from] auth::AuthConfigError),
    #[error("invalid settings")]
    Settings(#[from] settings::SettingsError),
    #[error("cannot set up webhook delivery")]
    Webhooks(#[from] webhooks::WebhookError),
    #[error("cannot bind {addr}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("subscribing to replies on {subject}")]
    ReplyInbox {
        subject: String,
        #[source]
        source: async_nats::SubscribeError,
    },
    #[error(transparent)]
    Https(#[from] https::TlsError),
    #[error("server.tls_cert_file and server.tls_key_file go together: set both or neither")]
    HalfTls,
    #[error("the command signing key")]
    Signing(#[from] kubently_shared::signing::KeyError),
    #[error(
        "signing.key_file is not set: every command is signed, and executors run only what a \
         trusted key signed (`kubently-admin signing-key` makes a key pair)"
    )]
    NoSigningKey,
    #[error(transparent)]
    Shared(#[from] kubently_shared::Error),
    #[error("HTTP server failed")]
    Serve(#[source] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
