//! The REST adapter: Kubently's HTTP shapes (see `../shared/reference/kubently-api.md`) over the
//! application layer (`crate::app`), and the router that mounts every door (REST, MCP, A2A).

pub mod audit;
pub mod clusters;
pub mod commands;
pub mod health;
pub mod layers;
pub mod models;
pub mod oauth;
pub mod sessions;
pub mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::{Modify, OpenApi};

use crate::AppState;
use crate::app::headers::AgentHeaders;
use crate::error::AppError;

#[derive(OpenApi)]
#[openapi(
    info(title = "Kubently API", description = "Read-only Kubernetes debugging for AI agents: sessions, commands, clusters, webhooks, audit."),
    paths(
        sessions::create, sessions::get, sessions::delete, commands::execute, commands::execute_async, commands::execute_fanout, commands::result,
        clusters::list, clusters::detail, clusters::status, clusters::agents, clusters::agent_status,
        webhooks::create, webhooks::list, webhooks::get, webhooks::delete, webhooks::test, webhooks::deliveries, webhooks::redeliver,
        audit::audit, health::healthz, health::health, health::readyz, health::metrics,
    ),
    components(schemas(health::HealthReport, models::ErrorBody, models::ValidationErrorBody, models::FieldErrorBody, models::CreateSessionRequest, models::ExecuteRequest, models::FanoutExecuteRequest, models::AsyncAccepted, models::CreateSubscription,
        crate::app::sessions::SessionView, crate::app::commands::CommandOutcome, crate::app::commands::OutputInfo, crate::outcome::ResultPage,
        crate::app::fanout::FanoutOutcome, crate::app::fanout::ClusterResult, crate::app::fanout::OutputGroup, crate::app::fanout::SkippedCluster,
        crate::app::fanout::FanoutCounts, crate::app::fanout::ClusterOutcome, crate::app::fanout::SkipReason,
        kubently_shared::protocol::CommandStatus, crate::session_store::SessionStatus, crate::audit::AuditEntry, crate::app::audit::AuditPage,
        crate::app::clusters::ClusterList, crate::app::clusters::ClusterDetail, crate::app::clusters::ClusterStatus, crate::app::clusters::AgentList,
        crate::app::subscriptions::SubscriptionView, crate::app::subscriptions::SubscriptionList, crate::app::subscriptions::AttemptView,
        crate::app::subscriptions::DeliveryView, crate::app::subscriptions::DeliveryList, crate::app::subscriptions::RedeliverResponse)),
    modifiers(&ApiKeyScheme, &CommonResponses),
)]
struct ApiDoc;

/// The answers every operation of a kind can give, added where a route does not list them
/// itself, as shared response components: 401 on every operation that needs a key (no key or a
/// wrong one), 413 and 422 on every operation with a body, 422 on every operation with a query
/// string, and 500 everywhere a handler runs.
struct CommonResponses;

/// Response component names.
pub const UNAUTHORIZED: &str = "Unauthorized";
pub const TOO_LARGE: &str = "PayloadTooLarge";
pub const INVALID: &str = "ValidationFailed";
pub const INTERNAL: &str = "InternalError";

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{Operation, ParameterIn};
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let json = |schema: &str, description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name(schema))).build(),
                )
                .build()
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, schema, description) in [
            (
                UNAUTHORIZED,
                "Error",
                "No credentials, a key this gateway does not know, or a bearer token that is not valid here; `WWW-Authenticate` names each accepted scheme.",
            ),
            (TOO_LARGE, "Error", "The request body is larger than `server.max_body_bytes` (1 MiB)."),
            (
                INVALID,
                "ValidationError",
                "Validation failed: a body, query string or header that does not parse or is out of range; each problem names its field in `loc`.",
            ),
            (
                INTERNAL,
                "Error",
                "A bug or a corrupt record; the `detail` carries an error id for the gateway log.",
            ),
        ] {
            components.responses.insert(name.to_string(), RefOr::T(json(schema, description)));
        }
        let add = |op: &mut Operation, status: &str, name: &str| {
            op.responses
                .responses
                .entry(status.to_string())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
        };
        for item in openapi.paths.paths.values_mut() {
            let ops = [&mut item.get, &mut item.post, &mut item.delete, &mut item.put, &mut item.patch];
            for op in ops.into_iter().flatten() {
                if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    add(op, "401", UNAUTHORIZED);
                }
                let has_query = op.parameters.iter().flatten().any(|p| match p {
                    RefOr::T(p) => matches!(p.parameter_in, ParameterIn::Query),
                    RefOr::Ref(_) => false,
                });
                if op.request_body.is_some() {
                    add(op, "413", TOO_LARGE);
                    add(op, "422", INVALID);
                }
                if has_query {
                    add(op, "422", INVALID);
                }
                add(op, "500", INTERNAL);
            }
        }
    }
}

struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A token from a configured OpenID Connect issuer, for this gateway (aud)",
                    ))
                    .build(),
            ),
        );
        // Every operation that takes a key takes a bearer token instead.
        for item in openapi.paths.paths.values_mut() {
            let ops = [&mut item.get, &mut item.post, &mut item.delete, &mut item.put, &mut item.patch];
            for security in ops.into_iter().flatten().filter_map(|op| op.security.as_mut()) {
                if !security.is_empty() {
                    security.push(SecurityRequirement::new("bearer", Vec::<String>::new()));
                }
            }
        }
    }
}

pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = health::VERSION.to_string();
    doc
}

/// Every door: the REST routes, `/mcp` and `/a2a`.
pub fn router(state: Arc<AppState>) -> Router {
    let max_body = state.settings.server.max_body_bytes;
    Router::new()
        .route("/debug/session", post(sessions::create))
        .route("/debug/session/{session_id}", get(sessions::get).delete(sessions::delete))
        .route("/debug/execute", post(commands::execute))
        .route("/debug/execute/async", post(commands::execute_async))
        .route("/debug/execute/fanout", post(commands::execute_fanout))
        .route("/debug/result/{command_id}", get(commands::result))
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
        .route(crate::auth::METADATA_PATH, get(oauth::protected_resource))
        .with_state(state.clone())
        .merge(crate::mcp::router(state.clone()))
        .merge(crate::a2a::router(state))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(max_body, layers::limit_body))
        .layer(CatchPanicLayer::custom(layers::panic_response))
        .layer(TraceLayer::new_for_http())
}

/// A JSON body, or the 422 (413) that says what was wrong with it.
pub type Body<T> = Result<axum::Json<T>, axum::extract::rejection::JsonRejection>;

/// A path parameter, or a 404 `{"detail": …}` when the segment does not decode (percent-escapes
/// that are not UTF-8): such an id names no record, like every other id no record can have
/// (axum's own answer would be a plain-text 400 the API does not declare).
pub struct PathParam<T>(pub T);

impl<T, S> FromRequestParts<S> for PathParam<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(AppError::NotFound(format!("Not found: {}", rejection.body_text()))),
        }
    }
}

/// A query string, or the 422 that says what was wrong with it.
pub type QueryOf<T> = Result<axum::extract::Query<T>, axum::extract::rejection::QueryRejection>;

impl FromRequestParts<Arc<AppState>> for AgentHeaders {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        Self::from_headers(&parts.headers)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    /// The document says what the server does: errors on every operation, and the limits the
    /// server enforces (the fuzz integration test checks the answers against it).
    #[test]
    fn the_document_declares_errors_and_limits() {
        let doc = serde_json::to_value(super::openapi_document()).expect("serialises");
        if let Ok(path) = std::env::var("KUBENTLY_DUMP_OPENAPI") {
            std::fs::write(path, serde_json::to_string_pretty(&doc).expect("json")).expect("dump");
        }
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                let has = |status: &str| op["responses"][status].is_object();
                assert!(has("500"), "{method} {path}: 500");
                if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                    assert!(has("401"), "{method} {path}: 401");
                }
                if op.get("requestBody").is_some() {
                    assert!(has("413") && has("422"), "{method} {path}: 413, 422");
                }
            }
        }
        let schemas = &doc["components"]["schemas"];
        let session = &schemas["CreateSessionRequest"]["properties"];
        assert_eq!(
            (&session["ttl_seconds"]["minimum"], &session["ttl_seconds"]["maximum"]),
            (&json!(60), &json!(3600))
        );
        assert_eq!(session["cluster_id"]["maxLength"], 100);
        let execute = &schemas["ExecuteRequest"]["properties"];
        assert_eq!(execute["args"]["maxItems"], 20);
        assert_eq!(execute["output_budget"]["minimum"], 1024);
        assert_eq!(execute["output_budget"]["maximum"], 1_048_576);
        assert_eq!(execute["correlation_id"]["maxLength"], 256);
        let fanout = &schemas["FanoutExecuteRequest"]["properties"];
        assert_eq!(fanout["cluster_ids"]["$ref"], "#/components/schemas/ClusterIds");
        let ids = &schemas["ClusterIds"]["oneOf"];
        assert_eq!(ids[0]["enum"], json!(["*"]), "{fanout}");
        assert_eq!((&ids[1]["minItems"], &ids[1]["maxItems"]), (&json!(1), &json!(1000)), "{fanout}");
        assert_eq!(ids[1]["items"]["maxLength"], 100);
        assert_eq!(fanout["output_budget"]["maximum"], 1_048_576);
        assert!(
            schemas["FanoutExecuteRequest"]["required"]
                .as_array()
                .is_some_and(|r| r.contains(&json!("cluster_ids")))
        );
        assert_eq!(schemas["FieldError"]["required"], json!(["type", "loc", "msg"]));
        for (path, query) in [
            ("/audit", &["event_type", "cluster_id", "session_id", "since", "until", "limit", "cursor"][..]),
            ("/debug/result/{command_id}", &["offset", "limit", "grep", "context", "count"]),
            ("/webhooks/subscriptions/{id}/deliveries", &["status"]),
        ] {
            let params = doc["paths"][path]["get"]["parameters"].as_array().expect("parameters").clone();
            for name in query {
                let p = params.iter().find(|p| p["name"] == *name).expect("declared");
                assert_eq!((&p["in"], &p["required"]), (&json!("query"), &json!(false)), "{path} {name}");
            }
        }
        let sub_id = &doc["paths"]["/webhooks/subscriptions/{id}"]["get"]["parameters"][0]["schema"];
        assert_eq!(sub_id["pattern"], Value::from("^wh_[0-9a-f]{32}$"));
    }
}
