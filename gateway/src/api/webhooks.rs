//! `/webhooks/subscriptions…`: subscribe to events, see and redeliver failed deliveries.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::webhooks::sender::{self, Outcome};
use crate::webhooks::signing::SigningSecret;
use crate::webhooks::store::{self, DeliveryRecord, DeliveryStatus, Subscription};
use crate::webhooks::{patterns, Webhooks};
use crate::AppState;

const DESCRIPTION_MAX: usize = 500;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubscription {
    /// http(s) URL; loopback/private targets only where the deployment allows them.
    pub url: String,
    /// `*`, a category (`command.*`, `session.*`, `cluster.*`) or a type (`cluster.disconnected`).
    pub events: Vec<String>,
    /// Only events of these clusters (default: every cluster your key may use).
    #[serde(default)]
    pub clusters: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub clusters: Vec<String>,
    pub description: Option<String>,
    pub owner: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// The `whsec_…` signing secret: only in the creation response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl SubscriptionView {
    fn of(sub: &Subscription, with_secret: bool) -> Self {
        Self {
            id: sub.id.clone(),
            url: sub.url.clone(),
            events: sub.events.clone(),
            clusters: sub.clusters.clone(),
            description: sub.description.clone(),
            owner: sub.owner.clone(),
            created_at: sub.created_at,
            secret: with_secret.then(|| sub.secret.clone()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionList {
    pub subscriptions: Vec<SubscriptionView>,
}

/// The answer of one immediate attempt (`/test`, redeliver).
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// `delivered`, `gone` (receiver answered 410) or `failed`.
    pub outcome: String,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
    /// The `webhook-id` sent.
    pub message_id: String,
}

impl AttemptView {
    fn of(attempt: &sender::Attempt, message_id: String) -> Self {
        let outcome = match attempt.outcome {
            Outcome::Delivered => "delivered",
            Outcome::Gone => "gone",
            Outcome::Retry => "failed",
        };
        Self { outcome: outcome.into(), status_code: attempt.status_code, error: attempt.error.clone(), duration_ms: attempt.duration.as_millis() as u64, message_id }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub event_id: String,
    pub event_type: String,
    pub cluster_id: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_attempt_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<OffsetDateTime>,
    /// The message body (re)sent.
    pub payload: Value,
}

impl DeliveryView {
    fn of(r: &DeliveryRecord) -> Self {
        Self {
            event_id: r.event.id.to_string(),
            event_type: r.event.event_type.to_string(),
            cluster_id: r.event.cluster_id.clone(),
            status: r.status,
            attempts: r.attempts,
            last_status_code: r.last_status_code,
            last_error: r.last_error.clone(),
            last_attempt_at: r.last_attempt_at,
            next_attempt_at: r.next_attempt_at,
            payload: serde_json::from_slice(&sender::event_body(&r.event)).unwrap_or_default(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RedeliverResponse {
    pub attempt: AttemptView,
    pub delivery: DeliveryView,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DeliveryFilter {
    /// `retrying`, `dead` or `delivered`; all when absent.
    pub status: Option<DeliveryStatus>,
}

/// Subscribes to events. The response carries the signing secret; it is never shown again.
#[utoipa::path(post, path = "/webhooks/subscriptions", tag = "webhooks", request_body = CreateSubscription,
    responses((status = 201, body = SubscriptionView), (status = 422, description = "bad URL, pattern or cluster")), security(("api_key" = [])))]
pub async fn create(State(state): State<Arc<AppState>>, caller: Caller, body: Result<Json<CreateSubscription>, axum::extract::rejection::JsonRejection>) -> ApiResult<(StatusCode, Json<SubscriptionView>)> {
    let Json(req) = body?;
    let hooks = &state.webhooks;
    let mut errors = Vec::new();
    let url = hooks.sender().policy().check_url(&req.url).map(|u| u.to_string()).map_err(|e| errors.push(FieldError::new(&["body", "url"], "url", format!("url {e}"), json!(req.url))));
    let events = patterns::normalise(&req.events).map_err(|(i, msg)| errors.push(FieldError { kind: "pattern", loc: vec!["body".into(), "events".into(), i.to_string()], msg, input: json!(req.events.get(i)) }));
    let clusters = patterns::normalise_clusters(&req.clusters).map_err(|(i, msg)| errors.push(FieldError { kind: "cluster_id", loc: vec!["body".into(), "clusters".into(), i.to_string()], msg, input: json!(req.clusters.get(i)) }));
    if req.description.as_ref().is_some_and(|d| d.chars().count() > DESCRIPTION_MAX) {
        errors.push(FieldError::new(&["body", "description"], "length", format!("description must be at most {DESCRIPTION_MAX} characters"), Value::Null));
    }
    let (Ok(url), Ok(events), Ok(mut clusters)) = (url, events, clusters) else { return Err(ApiError::Validation(errors)) };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if let Some(c) = clusters.iter().find(|c| !caller.may_use_cluster(c)) {
        return Err(ApiError::Forbidden(format!("Your API key may not use cluster '{c}'")));
    }
    if clusters.is_empty() && !caller.admin {
        // A key scoped to some clusters only hears about those.
        clusters = caller.clusters.clone();
    }
    let sub = Subscription {
        id: format!("wh_{}", uuid::Uuid::now_v7().simple()),
        owner: caller.service.clone(),
        url,
        events,
        clusters,
        description: req.description,
        secret: SigningSecret::generate().encoded(),
        created_at: OffsetDateTime::now_utc(),
    };
    if let Err(e) = patterns::filter_subjects(hooks.names(), &sub.events, &sub.clusters) {
        return Err(ApiError::field(&["body", "clusters"], "too_many", e, Value::Null));
    }
    // Consumer first: events from the moment of the 201 on are kept for the subscriber.
    hooks.create_consumer(&sub).await.map_err(|e| ApiError::Unavailable(format!("cannot create the subscription's consumer (NATS): {e}")))?;
    store::write(hooks.subscriptions(), &sub.id, &sub).await.map_err(|e| ApiError::Unavailable(format!("cannot store the subscription (NATS): {e}")))?;
    tracing::info!(subscription = %sub.id, owner = %sub.owner, events = ?sub.events, clusters = ?sub.clusters, "webhook subscription created");
    Ok((StatusCode::CREATED, Json(SubscriptionView::of(&sub, true))))
}

/// Your subscriptions (every one for an admin), newest first.
#[utoipa::path(get, path = "/webhooks/subscriptions", tag = "webhooks", responses((status = 200, body = SubscriptionList)), security(("api_key" = [])))]
pub async fn list(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<SubscriptionList>> {
    let all: Vec<Subscription> = store::list(state.webhooks.subscriptions(), None).await.map_err(|e| ApiError::internal("listing subscriptions", e))?;
    let subscriptions = all.iter().filter(|s| caller.may_read_owned_by(&s.owner)).map(|s| SubscriptionView::of(s, false)).collect();
    Ok(Json(SubscriptionList { subscriptions }))
}

#[utoipa::path(get, path = "/webhooks/subscriptions/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = SubscriptionView), (status = 404, description = "unknown or not yours")), security(("api_key" = [])))]
pub async fn get(State(state): State<Arc<AppState>>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<SubscriptionView>> {
    let sub = owned(&state.webhooks, &caller, &id).await?;
    Ok(Json(SubscriptionView::of(&sub, false)))
}

/// Unsubscribes; events not yet delivered are dropped.
#[utoipa::path(delete, path = "/webhooks/subscriptions/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204), (status = 404, description = "unknown or not yours")), security(("api_key" = [])))]
pub async fn delete(State(state): State<Arc<AppState>>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let sub = owned(&state.webhooks, &caller, &id).await?;
    state.webhooks.remove(&sub.id).await.map_err(|e| ApiError::Unavailable(format!("cannot delete the subscription (NATS): {e}")))?;
    tracing::info!(subscription = %sub.id, "webhook subscription deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a signed `webhook.ping` now and reports the receiver's answer (not retried).
#[utoipa::path(post, path = "/webhooks/subscriptions/{id}/test", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = AttemptView), (status = 404, description = "unknown or not yours")), security(("api_key" = [])))]
pub async fn test(State(state): State<Arc<AppState>>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<AttemptView>> {
    let sub = owned(&state.webhooks, &caller, &id).await?;
    let secret = SigningSecret::parse(&sub.secret).map_err(|e| ApiError::internal("the stored secret", e))?;
    let message_id = format!("ping_{}", uuid::Uuid::now_v7().simple());
    let body = sender::body("webhook.ping", OffsetDateTime::now_utc(), json!({"subscription_id": sub.id, "message": "Kubently webhook test"}));
    let attempt = state.webhooks.sender().send(&sub.url, &secret, &message_id, body).await;
    Ok(Json(AttemptView::of(&attempt, message_id)))
}

/// Deliveries that failed at least once (retrying, dead, or delivered later), newest first.
#[utoipa::path(get, path = "/webhooks/subscriptions/{id}/deliveries", tag = "webhooks", params(("id" = String, Path), DeliveryFilter),
    responses((status = 200, body = DeliveryList), (status = 404, description = "unknown or not yours")), security(("api_key" = [])))]
pub async fn deliveries(State(state): State<Arc<AppState>>, caller: Caller, Path(id): Path<String>, Query(filter): Query<DeliveryFilter>) -> ApiResult<Json<DeliveryList>> {
    let sub = owned(&state.webhooks, &caller, &id).await?;
    let records: Vec<DeliveryRecord> = store::list(state.webhooks.deliveries(), Some(&sub.id)).await.map_err(|e| ApiError::internal("listing deliveries", e))?;
    let deliveries = records.iter().filter(|r| filter.status.is_none_or(|s| r.status == s)).map(DeliveryView::of).collect();
    Ok(Json(DeliveryList { deliveries }))
}

/// Sends a logged (typically dead) delivery again, now, with its original `webhook-id`.
#[utoipa::path(post, path = "/webhooks/subscriptions/{id}/deliveries/{event_id}/redeliver", tag = "webhooks", params(("id" = String, Path), ("event_id" = String, Path)),
    responses((status = 200, body = RedeliverResponse), (status = 404, description = "unknown subscription or delivery")), security(("api_key" = [])))]
pub async fn redeliver(State(state): State<Arc<AppState>>, caller: Caller, Path((id, event_id)): Path<(String, String)>) -> ApiResult<Json<RedeliverResponse>> {
    let hooks = &state.webhooks;
    let sub = owned(hooks, &caller, &id).await?;
    let key = store::delivery_key(&sub.id, &event_id);
    if kubently_shared::names::validate_kv_key(&key).is_err() {
        return Err(ApiError::NotFound(format!("No logged delivery {event_id} for subscription {id}")));
    }
    let mut record: DeliveryRecord = store::read(hooks.deliveries(), &key)
        .await
        .map_err(|e| ApiError::internal("reading the delivery", e))?
        .ok_or_else(|| ApiError::NotFound(format!("No logged delivery {event_id} for subscription {id}")))?;
    let secret = SigningSecret::parse(&sub.secret).map_err(|e| ApiError::internal("the stored secret", e))?;
    let attempt = hooks.sender().send(&sub.url, &secret, &record.event.id.to_string(), sender::event_body(&record.event)).await;
    record.attempts += 1;
    record.last_attempt_at = OffsetDateTime::now_utc();
    record.last_status_code = attempt.status_code;
    record.last_error = attempt.error.clone();
    if attempt.outcome == Outcome::Delivered {
        record.status = DeliveryStatus::Delivered;
        record.next_attempt_at = None;
    }
    store::write_delivery(hooks.js(), hooks.deliveries(), &record, hooks.settings().log_retention()).await.map_err(|e| ApiError::internal("recording the delivery", e))?;
    if attempt.outcome == Outcome::Gone {
        hooks.remove(&sub.id).await.map_err(|e| ApiError::internal("removing the subscription after 410", e))?;
    }
    Ok(Json(RedeliverResponse { attempt: AttemptView::of(&attempt, record.event.id.to_string()), delivery: DeliveryView::of(&record) }))
}

/// The subscription, if the caller owns it (or is an admin); 404 otherwise.
async fn owned(hooks: &Webhooks, caller: &Caller, id: &str) -> ApiResult<Subscription> {
    let not_found = || ApiError::NotFound(format!("No webhook subscription {id}"));
    if kubently_shared::names::validate_kv_key(id).is_err() {
        return Err(not_found());
    }
    let sub: Subscription = store::read(hooks.subscriptions(), id).await.map_err(|e| ApiError::internal("reading the subscription", e))?.ok_or_else(not_found)?;
    if !caller.may_read_owned_by(&sub.owner) {
        return Err(not_found());
    }
    Ok(sub)
}
