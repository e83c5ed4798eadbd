//! Webhook subscriptions: subscribe to events, test a subscriber, see and redeliver failed
//! deliveries. A subscription belongs to the caller that made it and hears only about clusters
//! the caller's key may use. Delivery itself is `crate::webhooks`' work.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::access;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{AppError, AppResult, FieldError};
use crate::webhooks::patterns;
use crate::webhooks::sender::{self, Attempt, Outcome};
use crate::webhooks::signing::SigningSecret;
use crate::webhooks::store::{self, DeliveryRecord, DeliveryStatus, Subscription};

const DESCRIPTION_MAX: usize = 500;

/// A subscription as a caller asks for it.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub url: String,
    pub events: Vec<String>,
    pub clusters: Vec<String>,
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
    pub outcome: &'static str,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
    /// The `webhook-id` sent.
    pub message_id: String,
}

impl AttemptView {
    fn of(attempt: &Attempt, message_id: String) -> Self {
        Self {
            outcome: attempt.outcome.as_str(),
            status_code: attempt.status_code,
            error: attempt.error.clone(),
            duration_ms: attempt.duration.as_millis() as u64,
            message_id,
        }
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

/// Which deliveries to list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct DeliveryFilter {
    /// `retrying`, `dead` or `delivered`; all when absent.
    pub status: Option<DeliveryStatus>,
}

/// Subscribes the caller; the view carries the signing secret, which is never shown again.
pub async fn create(state: &AppState, caller: &Caller, req: NewSubscription) -> AppResult<SubscriptionView> {
    let hooks = &state.webhooks;
    let mut errors = Vec::new();
    let url = hooks.sender().policy().check_url(&req.url).map(|u| u.to_string()).map_err(|e| {
        errors.push(FieldError::new(&["body", "url"], "url", format!("url {e}"), json!(req.url)))
    });
    let events = patterns::normalise(&req.events).map_err(|(i, msg)| {
        errors.push(FieldError {
            kind: "pattern",
            loc: vec!["body".into(), "events".into(), i.to_string()],
            msg,
            input: json!(req.events.get(i)),
        })
    });
    let clusters = patterns::normalise_clusters(&req.clusters).map_err(|(i, msg)| {
        errors.push(FieldError {
            kind: "cluster_id",
            loc: vec!["body".into(), "clusters".into(), i.to_string()],
            msg,
            input: json!(req.clusters.get(i)),
        })
    });
    if req.description.as_ref().is_some_and(|d| d.chars().count() > DESCRIPTION_MAX) {
        errors.push(FieldError::new(
            &["body", "description"],
            "length",
            format!("description must be at most {DESCRIPTION_MAX} characters"),
            Value::Null,
        ));
    }
    let (Ok(url), Ok(events), Ok(clusters)) = (url, events, clusters) else {
        return Err(AppError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let clusters = access::subscription_clusters(caller, clusters)?;
    let sub = Subscription {
        id: store::new_subscription_id(),
        owner: caller.service.clone(),
        url,
        events,
        clusters,
        description: req.description,
        secret: SigningSecret::generate().encoded(),
        created_at: OffsetDateTime::now_utc(),
        audience: access::subscription_audience(caller),
    };
    if let Err(e) = patterns::filter_subjects(hooks.names(), &sub.events, &sub.clusters) {
        return Err(AppError::field(&["body", "clusters"], "too_many", e.to_string(), Value::Null));
    }
    // Consumer first: events from the moment of the 201 on are kept for the subscriber.
    hooks.create_consumer(&sub).await.map_err(AppError::nats("cannot create the subscription's consumer"))?;
    store::write(hooks.subscriptions(), &sub.id, &sub)
        .await
        .map_err(AppError::nats("cannot store the subscription"))?;
    tracing::info!(subscription = %sub.id, owner = %sub.owner, events = ?sub.events, clusters = ?sub.clusters, "webhook subscription created");
    Ok(SubscriptionView::of(&sub, true))
}

/// The caller's subscriptions (every one for an admin), newest first.
pub async fn list(state: &AppState, caller: &Caller) -> AppResult<SubscriptionList> {
    let all: Vec<Subscription> = store::list(state.webhooks.subscriptions(), None)
        .await
        .map_err(AppError::internal("listing subscriptions"))?;
    let subscriptions =
        access::own_subscriptions(caller, all).iter().map(|s| SubscriptionView::of(s, false)).collect();
    Ok(SubscriptionList { subscriptions })
}

pub async fn get(state: &AppState, caller: &Caller, id: &str) -> AppResult<SubscriptionView> {
    Ok(SubscriptionView::of(&access::subscription(state, caller, id).await?, false))
}

/// Unsubscribes; events not yet delivered are dropped.
pub async fn delete(state: &AppState, caller: &Caller, id: &str) -> AppResult<()> {
    let sub = access::subscription(state, caller, id).await?;
    state.webhooks.remove(&sub.id).await.map_err(AppError::nats("cannot delete the subscription"))?;
    tracing::info!(subscription = %sub.id, "webhook subscription deleted");
    Ok(())
}

/// Sends a signed `webhook.ping` now and reports the receiver's answer (not retried).
pub async fn test(state: &AppState, caller: &Caller, id: &str) -> AppResult<AttemptView> {
    let sub = access::subscription(state, caller, id).await?;
    let secret = SigningSecret::parse(&sub.secret).map_err(AppError::internal("the stored secret"))?;
    let message_id = format!("ping_{}", uuid::Uuid::now_v7().simple());
    let body = sender::body(
        "webhook.ping",
        OffsetDateTime::now_utc(),
        json!({"subscription_id": sub.id, "message": "Kubently webhook test"}),
    );
    let attempt = state.webhooks.sender().send(&sub.url, &secret, &message_id, body).await;
    Ok(AttemptView::of(&attempt, message_id))
}

/// Deliveries that failed at least once (retrying, dead, or delivered later), newest first.
pub async fn deliveries(
    state: &AppState,
    caller: &Caller,
    id: &str,
    filter: DeliveryFilter,
) -> AppResult<DeliveryList> {
    let sub = access::subscription(state, caller, id).await?;
    let records: Vec<DeliveryRecord> = store::list(state.webhooks.deliveries(), Some(&sub.id))
        .await
        .map_err(AppError::internal("listing deliveries"))?;
    let deliveries = records
        .iter()
        .filter(|r| filter.status.is_none_or(|s| r.status == s))
        .map(DeliveryView::of)
        .collect();
    Ok(DeliveryList { deliveries })
}

/// Sends a logged (typically dead) delivery again, now, with its original `webhook-id`.
pub async fn redeliver(
    state: &AppState,
    caller: &Caller,
    id: &str,
    event_id: &str,
) -> AppResult<RedeliverResponse> {
    let hooks = &state.webhooks;
    let sub = access::subscription(state, caller, id).await?;
    let not_found = || AppError::NotFound(format!("No logged delivery {event_id} for subscription {id}"));
    let Ok(event_id) = uuid::Uuid::parse_str(event_id) else {
        return Err(AppError::NotFound("No such logged delivery (event ids are UUIDs)".into()));
    };
    let key = store::delivery_key(&sub.id, &event_id.to_string());
    let mut record: DeliveryRecord = store::read(hooks.deliveries(), &key)
        .await
        .map_err(AppError::internal("reading the delivery"))?
        .ok_or_else(not_found)?;
    let secret = SigningSecret::parse(&sub.secret).map_err(AppError::internal("the stored secret"))?;
    let attempt = hooks
        .sender()
        .send(&sub.url, &secret, &record.event.id.to_string(), sender::event_body(&record.event))
        .await;
    record.attempts += 1;
    record.last_attempt_at = OffsetDateTime::now_utc();
    record.last_status_code = attempt.status_code;
    record.last_error = attempt.error.clone();
    if attempt.outcome == Outcome::Delivered {
        record.status = DeliveryStatus::Delivered;
        record.next_attempt_at = None;
    }
    store::write_delivery(hooks.js(), hooks.deliveries(), &record, hooks.settings().log_retention())
        .await
        .map_err(AppError::internal("recording the delivery"))?;
    if attempt.outcome == Outcome::Gone {
        hooks.remove(&sub.id).await.map_err(AppError::internal("removing the subscription after 410"))?;
    }
    Ok(RedeliverResponse {
        attempt: AttemptView::of(&attempt, record.event.id.to_string()),
        delivery: DeliveryView::of(&record),
    })
}
