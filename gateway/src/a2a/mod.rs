//! A2A v1.0 at `/a2a` (JSON-RPC binding, the official `a2a-server-lf` crate) and the agent card
//! at `/.well-known/agent-card.json`. Every `/a2a` request needs `X-API-Key` (401 otherwise,
//! checked before the library sees it); tasks belong to their caller. The protocol version
//! comes from the `A2A-Version` header or, without one, the `A2A-Version` query parameter.
//!
//! The card is served with `Cache-Control: public, max-age=`[`CARD_MAX_AGE_SECS`], a strong
//! `ETag` (a digest of the card) and `Last-Modified` (when this gateway built its A2A door);
//! a matching `If-None-Match` (or, without one, an `If-Modified-Since` not older than that)
//! gets a 304.
//!
//! Tasks and their push configs live in NATS KV, so a gateway restart loses none and every
//! replica serves them; a task whose gateway died mid-run ends as failed (see [`store`]). Limits
//! (`[a2a]` settings): at most `max_tasks` tasks and `max_bytes` bytes of them, the terminal
//! tasks updated longest ago evicted first; a message is at most [`tasks::MAX_MESSAGE_BYTES`]
//! (larger ones are -32602).

pub mod agent;
pub mod intent;
pub mod push;
pub mod store;
pub mod tasks;

use std::collections::HashMap;
use std::sync::Arc;

use ::a2a::{
    AgentCapabilities, AgentCard, AgentInterface, AgentSkill, ApiKeySecurityScheme,
    OpenIdConnectSecurityScheme, SecurityScheme, TRANSPORT_PROTOCOL_JSONRPC,
};
use a2a_server::DefaultRequestHandler;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::AppState;

pub const PATH: &str = "/a2a";
pub const CARD_PATH: &str = "/.well-known/agent-card.json";
/// How long clients and caches may reuse the agent card without asking again.
pub const CARD_MAX_AGE_SECS: u32 = 300;
const VERSION_HEADER: &str = "a2a-version";

pub fn router(state: Arc<AppState>) -> Router {
    let settings = &state.settings.a2a;
    let retention = std::time::Duration::from_secs(settings.task_retention_seconds);
    let push = Arc::new(push::PushConfigs::new(state.js.clone(), state.a2a.push.clone(), retention));
    let store = store::TaskStore::new(
        state.js.clone(),
        state.a2a.tasks.clone(),
        push.clone(),
        state.instance_id.clone(),
        store::Limits::from(settings),
    );
    store.start();
    // The library's own push machinery stays off: `OwnedTasks` keeps the configs and the agent
    // sends pushes through the webhook machinery.
    let library_capabilities = AgentCapabilities { push_notifications: Some(false), ..capabilities() };
    let handler =
        DefaultRequestHandler::new(agent::KubentlyAgent::new(state.clone(), push.clone()), store.clone())
            .with_capabilities(library_capabilities)
            .with_default_input_modes(vec!["text/plain".to_string(), "application/json".to_string()]);
    let handler = Arc::new(tasks::OwnedTasks { inner: handler, state: state.clone(), push, store });
    let rpc = Router::new()
        .nest_service(PATH, a2a_server::jsonrpc::jsonrpc_router(handler))
        .layer(axum::middleware::from_fn(version_from_query))
        .layer(axum::middleware::from_fn_with_state(state.auth.clone(), crate::auth::require_caller));
    // HTTP dates have whole seconds.
    let now = OffsetDateTime::now_utc();
    let built = now.replace_nanosecond(0).unwrap_or(now);
    Router::new().route(CARD_PATH, get(card)).with_state(CardState { app: state, built }).merge(rpc)
}

/// The spec lets a client send the version as the `A2A-Version` query parameter instead of the
/// header; the library reads only the header, so a query version without a header becomes one.
async fn version_from_query(mut req: Request, next: Next) -> Response {
    if !req.headers().contains_key(VERSION_HEADER)
        && let Some(query) = req.uri().query()
        && let Some(version) = url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k.eq_ignore_ascii_case(VERSION_HEADER))
            .and_then(|(_, v)| HeaderValue::from_str(&v).ok())
    {
        req.headers_mut().insert(VERSION_HEADER, version);
    }
    next.run(req).await
}

#[derive(Clone)]
struct CardState {
    app: Arc<AppState>,
    /// When this door was built: the card's `Last-Modified`.
    built: OffsetDateTime,
}

const HTTP_DATE: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// Whether the client's copy (named by `If-None-Match`, else dated by `If-Modified-Since`) is
/// still current.
fn not_modified(headers: &HeaderMap, etag: &str, built: OffsetDateTime) -> bool {
    let text = |name| headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
    let tags = text(header::IF_NONE_MATCH);
    if !tags.is_empty() {
        return tags
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag);
    }
    text(header::IF_MODIFIED_SINCE).first().is_some_and(|since| {
        time::PrimitiveDateTime::parse(since.trim(), HTTP_DATE).is_ok_and(|since| built <= since.assume_utc())
    })
}

/// The card with its caching headers, or a 304 when the client's copy is current.
async fn card(State(state): State<CardState>, headers: HeaderMap) -> Response {
    let body = match serde_json::to_vec(&agent_card(&state.app, &headers)) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "cannot encode the agent card");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let digest = Sha256::digest(&body);
    let etag = format!("\"{}\"", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..18]));
    let last_modified = state.built.format(HTTP_DATE).unwrap_or_default();
    let caching = [
        (header::CACHE_CONTROL, format!("public, max-age={CARD_MAX_AGE_SECS}")),
        (header::ETAG, etag.clone()),
        (header::LAST_MODIFIED, last_modified),
    ];
    if not_modified(&headers, &etag, state.built) {
        return (StatusCode::NOT_MODIFIED, caching).into_response();
    }
    (caching, [(header::CONTENT_TYPE, "application/json".to_string())], body).into_response()
}

fn capabilities() -> AgentCapabilities {
    AgentCapabilities { streaming: Some(true), push_notifications: Some(true), ..Default::default() }
}

/// How a caller authenticates (any one of them): the API key, unless disabled, and a bearer
/// token from each OpenID Connect issuer.
fn security_schemes(auth: &crate::settings::AuthSettings) -> HashMap<String, SecurityScheme> {
    let mut schemes = HashMap::new();
    if auth.api_keys_enabled {
        let key = ApiKeySecurityScheme {
            location: "header".into(),
            name: "X-API-Key".into(),
            description: Some("A Kubently API key".into()),
        };
        schemes.insert("api_key".to_string(), SecurityScheme::ApiKey(key));
    }
    for issuer in &auth.oidc.issuers {
        let scheme = OpenIdConnectSecurityScheme {
            open_id_connect_url: format!(
                "{}/.well-known/openid-configuration",
                issuer.issuer.trim_end_matches('/')
            ),
            description: Some(format!(
                "A bearer token (Authorization: Bearer) from {} for this agent's URL (aud)",
                issuer.issuer
            )),
        };
        schemes.insert(format!("oidc-{}", issuer.name), SecurityScheme::OpenIdConnect(scheme));
    }
    schemes
}

/// The public card; its URL comes from `server.public_url`, else from the request's `Host`.
fn agent_card(state: &AppState, headers: &HeaderMap) -> AgentCard {
    let base = crate::auth::base_url(state.settings.server.public_url.as_deref(), headers);
    let skill = |id: &str, name: &str, description: &str, examples: &[&str]| AgentSkill {
        id: id.into(),
        name: name.into(),
        description: description.into(),
        tags: vec!["kubernetes".into(), "debugging".into(), "read-only".into()],
        examples: Some(examples.iter().map(|s| s.to_string()).collect()),
        input_modes: None,
        output_modes: None,
        security_requirements: None,
    };
    AgentCard {
        name: "Kubently".into(),
        description: "Read-only Kubernetes debugging: ask in plain English what is wrong (\"what is wrong in namespace demo-shop?\", \"why is orders-api failing?\") for ranked findings with evidence, or send one kubectl command (get, describe, logs, events, top, explain, rollout status/history, version, cluster-info, api-resources, api-versions, diagnose); outputs are sized for an agent's context and secret values are redacted.".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        supported_interfaces: vec![AgentInterface::new(format!("{}{PATH}", base.trim_end_matches('/')), TRANSPORT_PROTOCOL_JSONRPC)],
        capabilities: capabilities(),
        default_input_modes: vec!["text/plain".into(), "application/json".into()],
        default_output_modes: vec!["text/plain".into(), "application/json".into()],
        skills: vec![
            skill("diagnose", "Diagnose what is wrong", "A question in plain English about what is broken or whether something is healthy, optionally naming a workload and a namespace; answered by deterministic checks (no model) with findings ranked by severity, each with its evidence and the next command. Other sentences are answered with these skills and examples.", &["what is wrong in namespace demo-shop?", "why is orders-api failing in demo-shop?", "is deploy/checkout healthy in demo-shop?", "what's broken in the cluster?", "diagnose -n demo-batch"]),
            skill("kubectl", "Run a read-only kubectl command", "A text part with kubectl words (without `kubectl`), or a data part {cluster_id, command, namespace}; the cluster may be omitted when only one exists.", &["get pods -n demo-shop", "describe deploy/orders-api -n demo-shop", "logs deploy/orders-api -n demo-shop --previous --tail 20", "events -n demo-batch --types Warning"]),
            skill("fanout", "Run one read-only command on many clusters", "A data part {cluster_ids: [\"prod\", \"staging\"] or \"*\" (every cluster the caller may use), command, namespace}: each cluster's result, identical outputs grouped, and the clusters skipped and why (not permitted, unknown, not connected). The task completes with partial results.", &["{\"cluster_ids\": \"*\", \"command\": \"version\"}", "{\"cluster_ids\": [\"prod\", \"staging\"], \"command\": \"get nodes\"}"]),
            skill("cluster-overview", "Cluster overview", "Version, nodes and API resources of a cluster.", &["version", "get nodes -o wide", "api-resources --namespaced=true"]),
        ],
        provider: None,
        documentation_url: None,
        icon_url: None,
        security_schemes: Some(security_schemes(&state.settings.auth)),
        security_requirements: Some(
            security_schemes(&state.settings.auth).into_keys().map(|name| HashMap::from([(name, vec![])])).collect(),
        ),
        signatures: None,
    }
}
