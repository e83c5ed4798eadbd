//! MCP at `/mcp` (rmcp, streamable HTTP). One service serves both protocol eras: a client that
//! initializes gets a 2025-11-25 session (`Mcp-Session-Id`); a 2026-07-28 client sends
//! self-describing stateless requests. Every request needs `X-API-Key` (checked here, before
//! rmcp sees it; the caller rides along in the request's extensions to the tools), a session
//! belongs to the key that opened it, and the
//! `Host`/`Origin` values rmcp accepts come from `mcp.allowed_hosts` / `mcp.allowed_origins`.
//! A POST body that is not one JSON-RPC message rmcp can read is answered here with a JSON-RPC
//! error ([`envelope`]).

pub mod completion;
pub mod envelope;
pub mod fanout;
pub mod prompts;
pub mod resources;
pub mod tools;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use crate::AppState;
use crate::app::access;
use crate::auth::{Authenticator, Caller};
use crate::error::AppError;

pub const PATH: &str = "/mcp";
/// The streamable HTTP transport's session header.
const SESSION_HEADER: &str = "mcp-session-id";

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
    let door = Door {
        auth: state.auth.clone(),
        sessions: Arc::new(SessionOwners {
            idle: Duration::from_secs(settings.session_idle_seconds),
            owners: Mutex::default(),
        }),
    };
    let for_service = state.clone();
    let service = StreamableHttpService::new(
        move || Ok(tools::KubentlyMcp::new(for_service.clone())),
        Arc::new(sessions),
        config,
    );
    Router::new().nest_service(PATH, service).layer(axum::middleware::from_fn_with_state(door, authenticate))
}

/// What the door keeps per request: the keys, and which caller opened which MCP session.
#[derive(Clone)]
struct Door {
    auth: Authenticator,
    sessions: Arc<SessionOwners>,
}

/// `Mcp-Session-Id` → the caller that opened it and when it was last used. rmcp keeps the
/// sessions themselves; this only binds each to its key (forgotten after the session's idle time).
struct SessionOwners {
    idle: Duration,
    owners: Mutex<HashMap<String, (String, Instant)>>,
}

impl SessionOwners {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant)>> {
        self.owners.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `caller` may use session `id` (a session unknown here is rmcp's to refuse).
    fn may_use(&self, id: &str, caller: &Caller) -> bool {
        let mut owners = self.lock();
        match owners.get_mut(id) {
            Some((owner, used)) if access::may_see(caller, owner) => {
                *used = Instant::now();
                true
            }
            Some(_) => false,
            None => true,
        }
    }

    fn bind(&self, id: String, caller: &Caller) {
        let now = Instant::now();
        let mut owners = self.lock();
        owners.retain(|_, (_, used)| now.duration_since(*used) < self.idle);
        owners.insert(id, (caller.service.clone(), now));
    }

    fn forget(&self, id: &str) {
        self.lock().remove(id);
    }
}

/// Authenticates (401 without a valid key, like REST; the caller rides along in the request's
/// extensions to the tools), keeps MCP sessions to the key that opened them (another key's
/// request for it, DELETE and the GET event stream included, is a 404 as for an unknown session),
/// and answers a session's DELETE with 204: rmcp answers 202, and the official Python client logs
/// "Session termination failed" for anything but 200/204. A JSON POST body rmcp could not read as
/// one JSON-RPC message is answered here with a JSON-RPC error ([`envelope::check`]).
async fn authenticate(State(door): State<Door>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let caller = match door.auth.authenticate(&parts.headers).await {
        Ok(caller) => caller,
        Err(rejection) => return rejection.into_response(),
    };
    let session = parts.headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
    if let Some(id) = &session
        && !door.sessions.may_use(id, &caller)
    {
        return AppError::NotFound("MCP session not found".into()).into_response();
    }
    let body = if parts.method == http::Method::POST && is_json(&parts.headers) {
        match checked_body(body).await {
            Ok(body) => body,
            Err(refusal) => return refusal,
        }
    } else {
        body
    };
    let ending_session = parts.method == http::Method::DELETE;
    parts.extensions.insert(caller.clone());
    let mut response = next.run(Request::from_parts(parts, body)).await;
    match &session {
        None => {
            if let Some(id) = response.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
                door.sessions.bind(id.to_string(), &caller);
            }
        }
        Some(id) if ending_session && response.status().is_success() => door.sessions.forget(id),
        Some(_) => {}
    }
    if ending_session && response.status() == http::StatusCode::ACCEPTED {
        *response.status_mut() = http::StatusCode::NO_CONTENT;
    }
    response
}

/// `Content-Type: application/json` (with any parameters). Other bodies are rmcp's to refuse (415).
fn is_json(headers: &http::HeaderMap) -> bool {
    headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/json")
    })
}

/// The body read and checked to be one JSON-RPC message, again as a body for rmcp; or the answer
/// that refuses it. Every door's body is already cut off at `server.max_body_bytes`
/// (`rest::layers::limit_body`); reading past it is the 413 every door gives.
async fn checked_body(body: axum::body::Body) -> Result<axum::body::Body, Response> {
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(e) if over_limit(&e) => return Err(AppError::TooLarge(crate::error::too_large()).into_response()),
        Err(e) => {
            return Err(envelope::Refusal {
                code: envelope::PARSE_ERROR,
                message: format!("Parse error: the request body could not be read: {e}"),
                id: serde_json::Value::Null,
            }
            .into_response());
        }
    };
    envelope::check(&bytes).map_err(IntoResponse::into_response)?;
    Ok(axum::body::Body::from(bytes))
}

fn over_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `size` blanks without a declared length, cut off at 1 KiB as the router's body limit does.
    fn streamed(size: usize) -> axum::body::Body {
        let chunks = (0..size.div_ceil(100)).map(|_| Ok::<_, std::io::Error>(vec![b' '; 100]));
        let body = axum::body::Body::from_stream(futures::stream::iter(chunks));
        axum::body::Body::new(http_body_util::Limited::new(body, 1024))
    }

    /// A body without a declared length is read only up to the limit: beyond it a 413, as on every
    /// door; within it the check decides (blanks are no JSON: a parse error).
    #[tokio::test]
    async fn a_streamed_body_is_read_up_to_the_limit() {
        let over = checked_body(streamed(2000)).await.expect_err("refused");
        assert_eq!(over.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
        let blank = checked_body(streamed(500)).await.expect_err("refused");
        assert_eq!(blank.status(), http::StatusCode::BAD_REQUEST);
        let message = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#.to_vec();
        let body = checked_body(axum::body::Body::from(message.clone())).await.expect("passes");
        assert_eq!(axum::body::to_bytes(body, usize::MAX).await.expect("bytes").to_vec(), message);
    }
}
