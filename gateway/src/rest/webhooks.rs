//! `/webhooks/subscriptions…`: subscribe to events, see and redeliver failed deliveries.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;

use super::models::CreateSubscription;
use super::{Body, PathParam, QueryOf};
use crate::AppState;
use crate::app::subscriptions::{
    self, AttemptView, DeliveryFilter, DeliveryList, RedeliverResponse, SubscriptionList, SubscriptionView,
};
use crate::auth::Caller;
use crate::error::AppResult;

/// `?status=` of `GET …/deliveries`, as a query string.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// `retrying`, `dead` or `delivered`; all when absent.
    pub status: Option<crate::webhooks::store::DeliveryStatus>,
}

/// Subscribes to events. The response carries the signing secret; it is never shown again.
#[utoipa::path(post, path = "/webhooks/subscriptions", tag = "webhooks", request_body = CreateSubscription,
    responses((status = 201, body = SubscriptionView), (status = 403, description = "a cluster the key may not use", body = super::models::ErrorBody),
        (status = 422, description = "bad URL (or one the deployment does not allow), event pattern or cluster", body = super::models::ValidationErrorBody),
        (status = 503, description = "NATS did not do its part (retry)", body = super::models::ErrorBody)), security(("api_key" = [])))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Body<CreateSubscription>,
) -> AppResult<(StatusCode, Json<SubscriptionView>)> {
    let Json(req) = body?;
    Ok((StatusCode::CREATED, Json(subscriptions::create(&state, &caller, req.into()).await?)))
}

/// Your subscriptions (every one for an admin), newest first.
#[utoipa::path(get, path = "/webhooks/subscriptions", tag = "webhooks", responses((status = 200, body = SubscriptionList)), security(("api_key" = [])))]
pub async fn list(State(state): State<Arc<AppState>>, caller: Caller) -> AppResult<Json<SubscriptionList>> {
    Ok(Json(subscriptions::list(&state, &caller).await?))
}

#[utoipa::path(get, path = "/webhooks/subscriptions/{id}", tag = "webhooks", params(("id" = String, Path, description = "A subscription id (`wh_` and 32 hex digits); anything else is a 404", pattern = r"^wh_[0-9a-f]{32}$")),
    responses((status = 200, body = SubscriptionView), (status = 404, description = "unknown or not yours", body = super::models::ErrorBody)), security(("api_key" = [])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<String>,
) -> AppResult<Json<SubscriptionView>> {
    Ok(Json(subscriptions::get(&state, &caller, &id).await?))
}

/// Unsubscribes; events not yet delivered are dropped.
#[utoipa::path(delete, path = "/webhooks/subscriptions/{id}", tag = "webhooks", params(("id" = String, Path, description = "A subscription id (`wh_` and 32 hex digits); anything else is a 404", pattern = r"^wh_[0-9a-f]{32}$")),
    responses((status = 204, description = "unsubscribed"), (status = 404, description = "unknown or not yours", body = super::models::ErrorBody),
        (status = 503, description = "NATS did not do its part (retry)", body = super::models::ErrorBody)), security(("api_key" = [])))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<String>,
) -> AppResult<StatusCode> {
    subscriptions::delete(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a signed `webhook.ping` now and reports the receiver's answer (not retried).
#[utoipa::path(post, path = "/webhooks/subscriptions/{id}/test", tag = "webhooks", params(("id" = String, Path, description = "A subscription id (`wh_` and 32 hex digits); anything else is a 404", pattern = r"^wh_[0-9a-f]{32}$")),
    responses((status = 200, body = AttemptView), (status = 404, description = "unknown or not yours", body = super::models::ErrorBody)), security(("api_key" = [])))]
pub async fn test(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<String>,
) -> AppResult<Json<AttemptView>> {
    Ok(Json(subscriptions::test(&state, &caller, &id).await?))
}

/// Deliveries that failed at least once (retrying, dead, or delivered later), newest first.
#[utoipa::path(get, path = "/webhooks/subscriptions/{id}/deliveries", tag = "webhooks", params(("id" = String, Path, description = "A subscription id (`wh_` and 32 hex digits); anything else is a 404", pattern = r"^wh_[0-9a-f]{32}$"), DeliveryParams),
    responses((status = 200, body = DeliveryList), (status = 404, description = "unknown or not yours", body = super::models::ErrorBody)), security(("api_key" = [])))]
pub async fn deliveries(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<String>,
    query: QueryOf<DeliveryParams>,
) -> AppResult<Json<DeliveryList>> {
    let Query(DeliveryParams { status }) = query?;
    Ok(Json(subscriptions::deliveries(&state, &caller, &id, DeliveryFilter { status }).await?))
}

/// Sends a logged (typically dead) delivery again, now, with its original `webhook-id`.
#[utoipa::path(post, path = "/webhooks/subscriptions/{id}/deliveries/{event_id}/redeliver", tag = "webhooks", params(("id" = String, Path, description = "A subscription id (`wh_` and 32 hex digits); anything else is a 404", pattern = r"^wh_[0-9a-f]{32}$"), ("event_id" = uuid::Uuid, Path, description = "An event id (UUID); anything else is a 404")),
    responses((status = 200, body = RedeliverResponse), (status = 404, description = "unknown subscription or delivery", body = super::models::ErrorBody)), security(("api_key" = [])))]
pub async fn redeliver(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam((id, event_id)): PathParam<(String, String)>,
) -> AppResult<Json<RedeliverResponse>> {
    Ok(Json(subscriptions::redeliver(&state, &caller, &id, &event_id).await?))
}
