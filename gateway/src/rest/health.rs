//! Liveness, readiness, metrics and the OpenAPI document.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::AppState;
use crate::app::access;
use crate::auth::Caller;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `GET /healthz` (documentation of the body built below).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct Alive {
    /// Always `ok`.
    status: String,
}

/// `GET /health`, `GET /readyz` (documentation of the body built in `check`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct HealthReport {
    /// `healthy` or `unhealthy`.
    status: String,
    /// The NATS connection state (`connected`, `disconnected`, `pending`).
    nats: String,
    /// `present` or `missing`.
    buckets: String,
    connected_executors: u64,
    version: String,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "`{\"status\":\"ok\"}`", body = Alive)))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn check(state: &AppState) -> (bool, Value) {
    let nats = state.nats.connection_state();
    let nats_ok = matches!(nats, async_nats::connection::State::Connected);
    let buckets_ok = nats_ok && state.js.get_key_value(state.names.sessions_bucket()).await.is_ok();
    let ok = nats_ok && buckets_ok;
    (
        ok,
        json!({
            "status": if ok { "healthy" } else { "unhealthy" },
            "nats": nats.to_string(),
            "buckets": if buckets_ok { "present" } else { "missing" },
            "connected_executors": state.registry.connected_count(),
            "version": VERSION,
        }),
    )
}

/// Upstream's health document: NATS connection and buckets.
#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, description = "healthy", body = HealthReport), (status = 503, description = "unhealthy", body = HealthReport)))]
pub async fn health(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Value>) {
    let (ok, body) = check(&state).await;
    (if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body))
}

/// Ready to take commands: NATS reachable and the buckets present.
#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, description = "ready", body = HealthReport), (status = 503, description = "not ready", body = HealthReport)))]
pub async fn readyz(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Value>) {
    health(State(state)).await
}

/// Prometheus metrics (needs an API key: cluster names are not public; the per-cluster series
/// only for admin keys).
#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, description = "Prometheus text format", content_type = "text/plain; version=0.0.4; charset=utf-8", body = String)), security(("api_key" = [])))]
pub async fn metrics(State(state): State<Arc<AppState>>, caller: Caller) -> impl IntoResponse {
    let text = if access::may_see_cluster_metrics(&caller) {
        state.metrics.render()
    } else {
        state.metrics.render_without_clusters()
    };
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text)
}

/// The OpenAPI 3.1 document, generated from the code.
pub async fn openapi() -> impl IntoResponse {
    Json(super::openapi_document())
}
