//! Webhooks: subscriptions stored in NATS, signed at-least-once delivery of events (each
//! subscription on its own durable consumer, so a slow or dead subscriber never delays another,
//! and gateway replicas share the work), retries with jittered backoff, dead letters, and the
//! follow-ups of async commands and A2A push notifications (`follow_ups`).

pub mod delivery;
pub mod follow_ups;
pub mod patterns;
pub mod sender;
pub mod signing;
pub mod store;
pub mod target;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use kubently_shared::events::EventPublisher;
use kubently_shared::names::Names;
use kubently_shared::provision::{ProvisionOptions, WebhookBuckets};
use tokio::task::AbortHandle;

use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::settings::WebhookSettings;
use sender::Sender;
use store::Subscription;

/// What the webhook machinery could not do, with the cause kept.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("invalid webhook settings: {0}")]
    Settings(#[from] crate::settings::SettingsError),
    #[error("building the webhook HTTP client")]
    Client(#[source] reqwest::Error),
    /// A NATS request (KV, stream, consumer) failed.
    #[error("{action}")]
    Nats {
        action: String,
        #[source]
        source: async_nats::Error,
    },
    #[error("encoding {what}")]
    Encode {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("decoding {what}")]
    Decode {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Filters(#[from] patterns::TooManyFilters),
    #[error(transparent)]
    Shared(#[from] kubently_shared::Error),
}

impl WebhookError {
    /// `map_err(WebhookError::nats("deleting subscription x"))`
    pub fn nats<E: Into<async_nats::Error>>(action: impl Into<String>) -> impl FnOnce(E) -> Self {
        let action = action.into();
        move |e| Self::Nats { action, source: e.into() }
    }
}

pub type Result<T, E = WebhookError> = std::result::Result<T, E>;

/// The webhook machinery one gateway runs; cheap to clone.
#[derive(Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

struct Inner {
    js: jetstream::Context,
    names: Names,
    provision: ProvisionOptions,
    buckets: WebhookBuckets,
    results: kv::Store,
    /// Claims: whether an executor took a command the follow-up times out.
    claims: kv::Store,
    registry: Registry,
    sender: Sender,
    settings: WebhookSettings,
    schedule: Vec<Duration>,
    metrics: Arc<Metrics>,
    events: EventPublisher,
    /// Running delivery loops by subscription id.
    workers: Mutex<HashMap<String, AbortHandle>>,
}

pub struct WebhookDeps {
    pub js: jetstream::Context,
    pub provision: ProvisionOptions,
    pub buckets: WebhookBuckets,
    pub results: kv::Store,
    pub claims: kv::Store,
    pub registry: Registry,
    pub metrics: Arc<Metrics>,
    pub events: EventPublisher,
}

impl Webhooks {
    pub fn new(deps: WebhookDeps, settings: WebhookSettings) -> Result<Self> {
        settings.validate()?;
        let policy = target::TargetPolicy {
            allow_loopback: settings.allow_loopback,
            allow_private: settings.allow_private,
        };
        let sender = Sender::new(policy, Duration::from_secs(settings.timeout_seconds))?;
        let names = deps.provision.names()?;
        let schedule = settings.retry_schedule_seconds.iter().map(|s| Duration::from_secs(*s)).collect();
        Ok(Self {
            inner: Arc::new(Inner {
                js: deps.js,
                names,
                provision: deps.provision,
                buckets: deps.buckets,
                results: deps.results,
                claims: deps.claims,
                registry: deps.registry,
                sender,
                settings,
                schedule,
                metrics: deps.metrics,
                events: deps.events,
                workers: Mutex::new(HashMap::new()),
            }),
        })
    }

    pub fn settings(&self) -> &WebhookSettings {
        &self.inner.settings
    }

    pub fn sender(&self) -> &Sender {
        &self.inner.sender
    }

    pub fn names(&self) -> &Names {
        &self.inner.names
    }

    pub fn js(&self) -> &jetstream::Context {
        &self.inner.js
    }

    pub fn subscriptions(&self) -> &kv::Store {
        &self.inner.buckets.subscriptions
    }

    pub fn deliveries(&self) -> &kv::Store {
        &self.inner.buckets.deliveries
    }

    /// Attempts per message: the first plus one per schedule entry.
    pub fn max_attempts(&self) -> u32 {
        self.inner.schedule.len() as u32 + 1
    }

    /// Starts delivering: one loop per subscription (following the subscriptions bucket), and
    /// the follow-ups (async commands' timeout events and callbacks, A2A pushes).
    pub fn start(&self) {
        tokio::spawn(self.clone().follow_subscriptions());
        tokio::spawn(self.clone().run_follow_ups());
    }

    /// Keeps one delivery loop running per stored subscription.
    async fn follow_subscriptions(self) {
        loop {
            match self.inner.buckets.subscriptions.watch_with_history(">").await {
                Ok(mut watch) => {
                    while let Some(entry) = watch.next().await {
                        match entry {
                            Ok(entry) => self.apply(entry),
                            Err(e) => {
                                tracing::warn!(error = %e, "webhook subscriptions watch failed; re-watching");
                                break;
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot watch webhook subscriptions; retrying"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    fn apply(&self, entry: kv::Entry) {
        let mut workers = self.inner.workers.lock().expect("workers lock");
        workers.retain(|_, handle| !handle.is_finished());
        match entry.operation {
            kv::Operation::Put => {
                if workers.contains_key(&entry.key) {
                    return;
                }
                match serde_json::from_slice::<Subscription>(&entry.value) {
                    Ok(sub) => {
                        let handle = tokio::spawn(self.clone().deliver_subscription(sub)).abort_handle();
                        workers.insert(entry.key, handle);
                    }
                    Err(e) => {
                        tracing::error!(subscription = %entry.key, error = %e, "unreadable webhook subscription")
                    }
                }
            }
            kv::Operation::Delete | kv::Operation::Purge => {
                if let Some(handle) = workers.remove(&entry.key) {
                    handle.abort();
                    tracing::info!(subscription = %entry.key, "webhook subscription removed; delivery stopped");
                }
            }
        }
    }

    /// Removes a subscription: its record, then its consumer (undelivered events go with it).
    pub async fn remove(&self, id: &str) -> Result<()> {
        self.inner
            .buckets
            .subscriptions
            .delete(id)
            .await
            .map_err(WebhookError::nats(format!("deleting subscription {id}")))?;
        let consumer = self.inner.names.webhook_consumer(id);
        match self.inner.js.delete_consumer_from_stream(&consumer, self.inner.names.events_stream()).await {
            Ok(_) => Ok(()),
            Err(e) if e.to_string().contains("not found") => Ok(()),
            Err(e) => Err(WebhookError::nats(format!("deleting consumer {consumer}"))(e)),
        }
    }
}
