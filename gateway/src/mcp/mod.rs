//! MCP at `/mcp` (rmcp, streamable HTTP). One service serves both protocol eras: a client that
//! initializes gets a 2025-11-25 session (`Mcp-Session-Id`); a 2026-07-28 client sends
//! self-describing stateless requests. Every request needs `X-API-Key` (checked here, before
//! rmcp sees it; the caller rides along in the request's extensions to the tools), and the
//! `Host`/`Origin` values rmcp accepts come from `mcp.allowed_hosts` / `mcp.allowed_origins`.

pub mod tools;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use crate::AppState;
use crate::auth::KeyRing;

pub const PATH: &str = "/mcp";

/// `/mcp` (also `/mcp/`), authenticated.
pub fn router(state: Arc<AppState>) -> Router {
    let settings = &state.settings.mcp;
    let mut sessions = LocalSessionManager::default();
    sessions.session_config.keep_alive = Some(Duration::from_secs(settings.session_idle_seconds));
    let mut config = StreamableHttpServerConfig::default()
        .with_sse_keep_alive(Some(Duration::from_secs(15)))
        .with_json_response(true);
    config = if settings.allowed_hosts.is_empty() {
        config.disable_allowed_hosts()
    } else {
        config.with_allowed_hosts(settings.allowed_hosts.clone())
    };
    if !settings.allowed_origins.is_empty() {
        config = config.with_allowed_origins(settings.allowed_origins.clone());
    }
    let for_service = state.clone();
    let service = StreamableHttpService::new(
        move || Ok(tools::KubentlyMcp::new(for_service.clone())),
        Arc::new(sessions),
        config,
    );
    Router::new()
        .nest_service(PATH, service)
        .layer(axum::middleware::from_fn_with_state(state.keys.clone(), authenticate))
}

/// [`crate::auth::require_caller`], and a session's DELETE answered 204: rmcp answers 202, and
/// the official Python client logs "Session termination failed" for anything but 200/204.
async fn authenticate(keys: State<KeyRing>, request: Request, next: Next) -> Response {
    let ending_session = request.method() == http::Method::DELETE;
    let mut response = crate::auth::require_caller(keys, request, next).await;
    if ending_session && response.status() == http::StatusCode::ACCEPTED {
        *response.status_mut() = http::StatusCode::NO_CONTENT;
    }
    response
}
