//! Building and running the gateway.

use std::net::SocketAddr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::{Error, Result, Settings};

pub struct Application {
    listener: tokio::net::TcpListener,
    router: Router,
}

#[derive(Clone)]
struct AppState {
    nats: async_nats::Client,
}

impl Application {
    /// Connects to NATS and binds the HTTP listener.
    pub async fn build(settings: Settings) -> Result<Self> {
        let nats = connect_nats(&settings.nats).await?;
        let addr = format!("{}:{}", settings.server.host, settings.server.port);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let router = Router::new()
            .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
            .route("/readyz", get(readyz))
            .with_state(AppState { nats });
        Ok(Self { listener, router })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    /// Serves until SIGTERM or Ctrl-C.
    pub async fn run(self) -> Result<()> {
        tracing::info!(addr = %self.local_addr(), "gateway listening");
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(kubently_shared::shutdown::signal())
            .await
            .map_err(Error::Serve)
    }
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    match state.nats.connection_state() {
        async_nats::connection::State::Connected => (StatusCode::OK, Json(json!({"status": "ready", "nats": "connected"}))),
        other => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready", "nats": other.to_string()})),
        ),
    }
}

async fn connect_nats(settings: &kubently_shared::config::NatsSettings) -> Result<async_nats::Client> {
    let mut options = async_nats::ConnectOptions::new().name("kubently-gateway").retry_on_initial_connect();
    if let Some(path) = &settings.credentials_file {
        options = options
            .credentials_file(path)
            .await
            .map_err(|e| Error::Nats { url: settings.url.clone(), source: e.into() })?;
    }
    options
        .connect(&settings.url)
        .await
        .map_err(|source| Error::Nats { url: settings.url.clone(), source })
}
