//! The HTTP API: Kubently's REST shapes (see `../shared/reference/kubently-api.md`).

pub mod audit;
pub mod clusters;
pub mod execute;
pub mod headers;
pub mod health;
pub mod models;
pub mod results;
pub mod sessions;
pub mod webhooks;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Kubently API", description = "Read-only Kubernetes debugging for AI agents: sessions, commands, clusters, webhooks, audit."),
    paths(
        sessions::create, sessions::get, sessions::delete, execute::execute, execute::execute_async, results::get,
        clusters::list, clusters::detail, clusters::status, clusters::agents, clusters::agent_status,
        webhooks::create, webhooks::list, webhooks::get, webhooks::delete, webhooks::test, webhooks::deliveries, webhooks::redeliver,
        audit::audit, health::healthz, health::health, health::readyz, health::metrics,
    ),
    components(schemas(models::CreateSessionRequest, models::SessionResponse, models::ExecuteRequest, models::CommandResponse, models::OutputInfo, models::ResultPage, models::AsyncAccepted, crate::audit::AuditEntry,
        webhooks::CreateSubscription, webhooks::SubscriptionView, webhooks::SubscriptionList, webhooks::AttemptView, webhooks::DeliveryView, webhooks::DeliveryList, webhooks::RedeliverResponse)),
    modifiers(&ApiKeyScheme),
)]
struct ApiDoc;

struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
    }
}

pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = health::VERSION.to_string();
    doc
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/debug/session", post(sessions::create))
        .route("/debug/session/{session_id}", get(sessions::get).delete(sessions::delete))
        .route("/debug/execute", post(execute::execute))
        .route("/debug/execute/async", post(execute::execute_async))
        .route("/debug/result/{command_id}", get(results::get))
        .route("/debug/clusters", get(clusters::list))
        .route("/debug/clusters/{cluster_id}", get(clusters::detail))
        .route("/cluster/{cluster_id}/status", get(clusters::status))
        .route("/admin/agents", get(clusters::agents))
        .route("/admin/agents/{cluster_id}/status", get(clusters::agent_status))
        .route("/webhooks/subscriptions", post(webhooks::create).get(webhooks::list))
        .route("/webhooks/subscriptions/{id}", get(webhooks::get).delete(webhooks::delete))
        .route("/webhooks/subscriptions/{id}/test", post(webhooks::test))
        .route("/webhooks/subscriptions/{id}/deliveries", get(webhooks::deliveries))
        .route("/webhooks/subscriptions/{id}/deliveries/{event_id}/redeliver", post(webhooks::redeliver))
        .route("/audit", get(audit::audit))
        .route("/healthz", get(health::healthz))
        .route("/health", get(health::health))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/openapi.json", get(health::openapi))
        .with_state(state.clone())
        .merge(crate::mcp::router(state.clone()))
        .merge(crate::a2a::router(state))
        .layer(TraceLayer::new_for_http())
}
