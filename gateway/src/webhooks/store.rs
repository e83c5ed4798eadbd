//! Subscriptions (no TTL) and the delivery log (per-key TTL) in their KV buckets.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use kubently_shared::kv_ttl;
use kubently_shared::protocol::Event;
use serde::{Deserialize, Serialize};

use super::{Result, WebhookError};
use time::OffsetDateTime;

/// Most records one listing returns (newest first).
pub const LIST_LIMIT: usize = 500;

/// A webhook subscription, as stored. The secret never leaves the gateway after creation.
#[derive(Clone, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    /// The caller that made it (only it or an admin sees or deletes it).
    pub owner: String,
    pub url: String,
    /// Normalised event patterns.
    pub events: Vec<String>,
    /// Empty = every cluster the owner may use.
    pub clusters: Vec<String>,
    pub description: Option<String>,
    /// `whsec_…`
    pub secret: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Whose `session.*` and `command.*` events it receives (decided by `app::access` when the
    /// subscription is made).
    #[serde(default)]
    pub audience: Audience,
}

/// Whose calls a subscription hears about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    /// Only its owner's sessions and commands (cluster events of its clusters too).
    #[default]
    Owner,
    /// Every caller's (admin subscriptions).
    Everyone,
}

impl Subscription {
    /// Whether `event` may reach this subscription: cluster events always (the consumer's filter
    /// already holds it to its clusters); a caller's session and command events only when the
    /// subscription hears that caller.
    pub fn receives(&self, event: &Event) -> bool {
        match (self.audience, event.event_type.as_str().split_once('.').map(|(category, _)| category)) {
            (Audience::Everyone, _) | (_, Some("cluster")) => true,
            (Audience::Owner, _) => event.caller.as_deref() == Some(self.owner.as_str()),
        }
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("owner", &self.owner)
            .field("url", &self.url)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Failed at least once; another attempt is scheduled.
    Retrying,
    /// Every attempt failed; redeliver by hand.
    Dead,
    /// Delivered after at least one failure (or by a redeliver).
    Delivered,
}

/// One event's delivery to one subscription, recorded once an attempt failed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub subscription_id: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub last_attempt_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    /// The whole event, so a dead letter can be redelivered after the stream dropped it.
    pub event: Event,
}

/// A new subscription's id: `wh_` and a v7 UUID's 32 hex digits.
pub fn new_subscription_id() -> String {
    format!("{SUBSCRIPTION_ID_PREFIX}{}", uuid::Uuid::now_v7().simple())
}

const SUBSCRIPTION_ID_PREFIX: &str = "wh_";

/// Whether `id` has the shape of a subscription id (checked before it reaches NATS as a key).
pub fn is_subscription_id(id: &str) -> bool {
    id.strip_prefix(SUBSCRIPTION_ID_PREFIX).is_some_and(|hex| {
        hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

/// `<subscription>.<event_id>`
pub fn delivery_key(subscription_id: &str, event_id: &str) -> String {
    format!("{subscription_id}.{event_id}")
}

/// Reads and decodes `key`, or `None` if absent/deleted.
pub async fn read<T: serde::de::DeserializeOwned>(store: &kv::Store, key: &str) -> Result<Option<T>> {
    match store.get(key).await.map_err(WebhookError::nats(format!("reading {key}")))? {
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| WebhookError::Decode { what: key.to_string(), source }),
        None => Ok(None),
    }
}

pub async fn write<T: Serialize>(store: &kv::Store, key: &str, value: &T) -> Result<()> {
    let bytes = Bytes::from(
        serde_json::to_vec(value).map_err(|source| WebhookError::Encode { what: key.to_string(), source })?,
    );
    store.put(key, bytes).await.map_err(WebhookError::nats(format!("writing {key}")))?;
    Ok(())
}

/// Writes a delivery record that expires after `retention`.
pub async fn write_delivery(
    js: &jetstream::Context,
    store: &kv::Store,
    record: &DeliveryRecord,
    retention: Duration,
) -> Result<()> {
    let key = delivery_key(&record.subscription_id, &record.event.id.to_string());
    let bytes = Bytes::from(
        serde_json::to_vec(record).map_err(|source| WebhookError::Encode { what: key.clone(), source })?,
    );
    kv_ttl::put_with_ttl(js, store, &key, bytes, retention).await?;
    Ok(())
}

/// Every live value whose key starts with `prefix` (all when `None`), newest key first, at most
/// [`LIST_LIMIT`]. Keys come from the stream's per-subject index, values from direct gets.
pub async fn list<T: serde::de::DeserializeOwned>(store: &kv::Store, prefix: Option<&str>) -> Result<Vec<T>> {
    let filter = match prefix {
        Some(p) => format!("{}{p}.>", store.prefix),
        None => format!("{}>", store.prefix),
    };
    let listing = || WebhookError::nats(format!("listing {}", store.name));
    let subjects: Vec<(String, usize)> = store
        .stream
        .info_with_subjects(filter)
        .await
        .map_err(listing())?
        .try_collect()
        .await
        .map_err(listing())?;
    let mut keys: Vec<String> =
        subjects.into_iter().filter_map(|(s, _)| s.strip_prefix(&store.prefix).map(str::to_string)).collect();
    keys.sort_unstable_by(|a, b| b.cmp(a));
    keys.truncate(LIST_LIMIT);
    let values: Vec<Option<T>> = futures::stream::iter(keys)
        .map(|k| async move { read::<T>(store, &k).await })
        .buffered(16)
        .try_collect()
        .await?;
    Ok(values.into_iter().flatten().collect())
}
