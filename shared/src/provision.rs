//! Creates (or brings up to date) every stream, KV bucket and consumer of the command path.
//!
//! The gateway calls [`ensure_command_path`] at startup, and [`ensure_cluster_consumer`] when an
//! executor asks for its cluster's consumer (see `kubently_gateway::provisioner`). Executors never
//! create, change or delete anything: they only bind ([`bind_executor`], [`bind_cluster_consumer`]),
//! and their NATS permissions would refuse anything else. Both are idempotent and safe when replicas race: a create that
//! loses to another replica re-reads what the winner made; an existing resource whose
//! configuration differs in a field Kubently owns (subjects, retention, limits, replicas, TTL
//! settings, ack settings) is updated in place; fields Kubently does not own are left as the
//! operator set them. A difference the server cannot update in place (retention or storage
//! type) is an error that names the stream and the field.

use std::time::Duration;

use async_nats::jetstream::consumer::{self, AckPolicy, DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::context::{CreateStreamErrorKind, GetStreamErrorKind};
use async_nats::jetstream::stream::{self, ConsumerErrorKind, DiscardPolicy, RetentionPolicy, StorageType};
use async_nats::jetstream::{self, ErrorCode, kv};
use tracing::{debug, info, warn};

use crate::kv_ttl::ScopedBucket;
use crate::names::{Names, validate_cluster_id};
use crate::{Error, Result};

/// How often a create/update loop re-reads after losing a race before giving up.
const ATTEMPTS: u32 = 5;
/// JetStream's own default duplicate window.
pub const DEFAULT_DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// One mebibyte.
const MIB: u64 = 1024 * 1024;

/// What to provision, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionOptions {
    /// Stream/bucket replicas: 1 for a single server, 3 for the 3-node cluster.
    pub replicas: usize,
    /// Isolation prefix for every stream, bucket and subject (tests); see [`Names`].
    pub name_prefix: Option<String>,
    /// Commands older than this are dropped from the work queue (default 10 min).
    pub command_max_age: Duration,
    /// Window in which a re-published command id is dropped as a duplicate (default 2 min,
    /// never more than `command_max_age`).
    pub duplicate_window: Duration,
    /// Event retention (default 7 days).
    pub events_max_age: Duration,
    /// Audit retention (default 30 days).
    pub audit_max_age: Duration,
    /// Lifetime of stored results (default 1 h).
    pub results_ttl: Duration,
    /// How long a KV delete/expiry marker stays (so late watchers and `create` see it); ≥ 1 s
    /// (default 60 s).
    pub kv_marker_ttl: Duration,
    /// Redelivery after an executor took a command and neither acked nor extended (default 30 s).
    pub ack_wait: Duration,
    /// Deliveries of one command before it is given up (default 5).
    pub max_deliver: i64,
    /// Unacked commands in flight per cluster across all replicas (default 1000).
    pub max_ack_pending: i64,
    /// Size limits of every stream and bucket (every one has one: nats-server reserves it
    /// against its `max_file_store`, so their sum, times replicas, must fit there).
    pub limits: StorageLimits,
}

/// The size limit of each stream and bucket, in bytes, and the queue depth per cluster.
///
/// What happens at a limit fits what the stream holds:
///
/// | stream / bucket | at its limit |
/// |---|---|
/// | audit, events | the oldest records are dropped (the gateway warns before: `storage.warn_at_percent`) |
/// | results | the oldest results are dropped (they also expire after `results_ttl`) |
/// | commands, callbacks (work queues) | the oldest queued messages are dropped: the oldest are past their deadline first |
/// | claims, sessions, executors, cluster-active, clusters, webhooks, A2A | new writes are refused (never a silent loss) |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageLimits {
    /// `KUBENTLY_COMMANDS` (default 128 MiB).
    pub commands_max_bytes: u64,
    /// Commands queued for one cluster at most (default 10 000); beyond it the cluster's oldest
    /// queued command is dropped.
    pub commands_max_per_cluster: i64,
    /// `KUBENTLY_EVENTS` (default 512 MiB).
    pub events_max_bytes: u64,
    /// `KUBENTLY_AUDIT` (default 1 GiB).
    pub audit_max_bytes: u64,
    /// The results bucket (default 1 GiB).
    pub results_max_bytes: u64,
    /// `KUBENTLY_CALLBACKS` (default 128 MiB).
    pub callbacks_max_bytes: u64,
    /// The claims bucket (default 256 MiB).
    pub claims_max_bytes: u64,
    /// Each other bucket: sessions, executors, cluster-active, clusters, webhook subscriptions
    /// and deliveries, A2A tasks and push configs (default 64 MiB each).
    pub bucket_max_bytes: u64,
}

impl Default for StorageLimits {
    fn default() -> Self {
        Self {
            commands_max_bytes: 128 * MIB,
            commands_max_per_cluster: 10_000,
            events_max_bytes: 512 * MIB,
            audit_max_bytes: 1024 * MIB,
            results_max_bytes: 1024 * MIB,
            callbacks_max_bytes: 128 * MIB,
            claims_max_bytes: 256 * MIB,
            bucket_max_bytes: 64 * MIB,
        }
    }
}

/// A byte count as JetStream takes it.
fn bytes(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Default for ProvisionOptions {
    fn default() -> Self {
        Self {
            replicas: 1,
            name_prefix: None,
            command_max_age: Duration::from_secs(10 * 60),
            duplicate_window: DEFAULT_DUPLICATE_WINDOW,
            events_max_age: Duration::from_secs(7 * 24 * 3600),
            audit_max_age: Duration::from_secs(30 * 24 * 3600),
            results_ttl: Duration::from_secs(3600),
            kv_marker_ttl: Duration::from_secs(60),
            ack_wait: Duration::from_secs(30),
            max_deliver: 5,
            max_ack_pending: 1000,
            limits: StorageLimits::default(),
        }
    }
}

impl ProvisionOptions {
    /// Defaults, isolated by `prefix` (tests).
    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        Self { name_prefix: Some(prefix.into()), ..Self::default() }
    }

    /// The names these options provision.
    pub fn names(&self) -> Result<Names> {
        Names::from_prefix(self.name_prefix.as_deref())
    }

    /// The commands stream's configuration.
    pub fn commands_stream_config(&self, names: &Names) -> stream::Config {
        stream::Config {
            name: names.commands_stream(),
            description: Some("Kubently: one message per command, taken by the cluster's executors".into()),
            subjects: vec![names.command_subjects()],
            retention: RetentionPolicy::WorkQueue,
            storage: StorageType::File,
            // The oldest queued commands are past their deadline first: the gateway has answered
            // them with a timeout already.
            discard: DiscardPolicy::Old,
            max_age: self.command_max_age,
            max_bytes: bytes(self.limits.commands_max_bytes),
            max_messages_per_subject: self.limits.commands_max_per_cluster,
            duplicate_window: self.duplicate_window.min(self.command_max_age),
            num_replicas: self.replicas,
            ..Default::default()
        }
    }

    /// The events stream's configuration.
    pub fn events_stream_config(&self, names: &Names) -> stream::Config {
        limits_stream(
            names.events_stream(),
            names.events_subjects(),
            (self.events_max_age, self.limits.events_max_bytes),
            self.replicas,
            "Kubently: state changes for webhooks",
        )
    }

    /// The audit stream's configuration.
    pub fn audit_stream_config(&self, names: &Names) -> stream::Config {
        limits_stream(
            names.audit_stream(),
            names.audit_subjects(),
            (self.audit_max_age, self.limits.audit_max_bytes),
            self.replicas,
            "Kubently: who ran what where (never outputs)",
        )
    }

    /// Every stream [`ensure_command_path`] provisions: the commands, events and audit streams,
    /// then the streams behind the cluster-active, sessions, executors, results, known-clusters
    /// and claims buckets.
    pub fn stream_configs(&self, names: &Names) -> Vec<stream::Config> {
        vec![
            self.commands_stream_config(names),
            self.events_stream_config(names),
            self.audit_stream_config(names),
            self.kv_stream_config(
                &names.cluster_active_bucket(),
                Duration::ZERO,
                true,
                "Kubently: clusters with recent activity (fast fetch)",
            ),
            self.kv_stream_config(&names.sessions_bucket(), Duration::ZERO, true, "Kubently: debug sessions"),
            self.kv_stream_config(
                &names.executors_bucket(),
                Duration::ZERO,
                true,
                "Kubently: executor presence",
            ),
            // Results are a cache of outputs: when full, the oldest go first. Every record the
            // stream accepts is republished to `kubently.stored.<cluster>.<id>`, where the
            // gateway takes a final result as its command's reply (one hop after it is stored).
            stream::Config {
                max_bytes: bytes(self.limits.results_max_bytes),
                discard: DiscardPolicy::Old,
                republish: Some(stream::Republish {
                    source: format!("$KV.{}.>", names.results_bucket()),
                    destination: names.stored_results(),
                    headers_only: false,
                }),
                ..self.kv_stream_config(
                    &names.results_bucket(),
                    self.results_ttl,
                    true,
                    "Kubently: command results",
                )
            },
            self.kv_stream_config(
                &names.clusters_bucket(),
                Duration::ZERO,
                false,
                "Kubently: every cluster ever seen",
            ),
            stream::Config {
                max_bytes: bytes(self.limits.claims_max_bytes),
                ..self.kv_stream_config(
                    &names.claims_bucket(),
                    Duration::ZERO,
                    true,
                    "Kubently: which executor took each command (at most one execution)",
                )
            },
        ]
    }

    /// The stream behind a KV bucket, exactly as async-nats 0.51 shapes one
    /// (`kv_to_stream_config`), with per-key TTLs when `per_key_ttl`, holding at most
    /// [`StorageLimits::bucket_max_bytes`] and refusing writes beyond it.
    pub fn kv_stream_config(
        &self,
        bucket: &str,
        max_age: Duration,
        per_key_ttl: bool,
        description: &str,
    ) -> stream::Config {
        stream::Config {
            name: format!("KV_{bucket}"),
            description: Some(description.to_string()),
            subjects: vec![format!("$KV.{bucket}.>")],
            max_messages_per_subject: 1,
            max_age,
            storage: StorageType::File,
            allow_rollup: true,
            deny_delete: true,
            deny_purge: false,
            allow_direct: true,
            discard: DiscardPolicy::New,
            max_bytes: bytes(self.limits.bucket_max_bytes),
            num_replicas: self.replicas,
            allow_message_ttl: per_key_ttl,
            subject_delete_marker_ttl: per_key_ttl.then_some(self.kv_marker_ttl),
            ..Default::default()
        }
    }

    /// The durable pull consumer shared by every executor replica of `cluster_id`.
    pub fn cluster_consumer_config(&self, names: &Names, cluster_id: &str) -> pull::Config {
        let durable = names.executor_consumer(cluster_id);
        pull::Config {
            durable_name: Some(durable.clone()),
            name: Some(durable),
            description: Some(format!("Kubently executors of cluster {cluster_id}")),
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::Explicit,
            ack_wait: self.ack_wait,
            max_deliver: self.max_deliver,
            filter_subject: names.command_subject(cluster_id),
            max_ack_pending: self.max_ack_pending,
            ..Default::default()
        }
    }
}

/// A stream of records kept for `max_age` and at most `max_bytes`, the oldest dropped first.
fn limits_stream(
    name: String,
    subjects: String,
    (max_age, max_bytes): (Duration, u64),
    replicas: usize,
    description: &str,
) -> stream::Config {
    stream::Config {
        name,
        description: Some(description.into()),
        subjects: vec![subjects],
        retention: RetentionPolicy::Limits,
        storage: StorageType::File,
        discard: DiscardPolicy::Old,
        max_age,
        max_bytes: bytes(max_bytes),
        num_replicas: replicas,
        ..Default::default()
    }
}

/// Handles on every KV bucket of the command path.
#[derive(Debug, Clone)]
pub struct Buckets {
    /// cluster id → active marker, per-key TTL.
    pub cluster_active: kv::Store,
    /// session id → [`crate::protocol::SessionRecord`], per-key TTL = the session's TTL.
    pub sessions: kv::Store,
    /// `<cluster>.<executor>` → [`crate::protocol::ExecutorInfo`], per-key TTL ≈ 3 × heartbeat.
    pub executors: kv::Store,
    /// command id → [`crate::protocol::CommandResult`], bucket max age = results TTL.
    pub results: kv::Store,
    /// cluster id → first seen; every cluster ever seen, no TTL.
    pub clusters: kv::Store,
    /// `<cluster>.<command id>` → [`crate::claims::Claim`], per-key TTL = [`Self::claim_ttl`].
    pub claims: kv::Store,
    /// How long a claim is kept: the commands stream's max age (no redelivery comes later).
    pub claim_ttl: Duration,
}

/// The executor's handles: only its own cluster's keys are ever named (see [`kv_ttl::ScopedBucket`]).
#[derive(Debug, Clone)]
pub struct ExecutorBuckets {
    /// Its cluster's active marker (read and followed, never written).
    pub cluster_active: ScopedBucket,
    /// `<cluster>.<executor>` presence.
    pub executors: ScopedBucket,
    /// `<cluster>.<command id>` results.
    pub results: ScopedBucket,
    /// Its cluster's entry among the known clusters.
    pub clusters: ScopedBucket,
    /// `<cluster>.<command id>` claims.
    pub claims: ScopedBucket,
    /// How long a claim is kept: the commands stream's max age.
    pub claim_ttl: Duration,
}

/// The executor's bucket handles (sends nothing: the gateway provisioned them).
pub async fn bind_executor(js: &jetstream::Context, opts: &ProvisionOptions) -> Result<ExecutorBuckets> {
    let names = opts.names()?;
    Ok(ExecutorBuckets {
        cluster_active: ScopedBucket::bind(js, &names.cluster_active_bucket()).await?,
        executors: ScopedBucket::bind(js, &names.executors_bucket()).await?,
        results: ScopedBucket::bind(js, &names.results_bucket()).await?,
        clusters: ScopedBucket::bind(js, &names.clusters_bucket()).await?,
        claims: ScopedBucket::bind(js, &names.claims_bucket()).await?,
        claim_ttl: opts.command_max_age,
    })
}

/// Binds the durable consumer `executor-<cluster>` (one `CONSUMER.INFO` request), or `None` when
/// it does not exist yet.
pub async fn bind_cluster_consumer(
    js: &jetstream::Context,
    cluster_id: &str,
    opts: &ProvisionOptions,
) -> Result<Option<PullConsumer>> {
    let names = opts.names()?;
    let (stream, durable) = (names.commands_stream(), names.executor_consumer(cluster_id));
    let failed = |action: &'static str, source: async_nats::Error| Error::Consumer {
        stream: stream.clone(),
        consumer: durable.clone(),
        action,
        source,
    };
    match js.get_consumer_from_stream::<pull::Config, _, _>(&durable, &stream).await {
        Ok(consumer) => Ok(Some(consumer)),
        Err(e)
            if matches!(
                jetstream_code(&e),
                Some(ErrorCode::CONSUMER_NOT_FOUND | ErrorCode::STREAM_NOT_FOUND)
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(failed("bind", e.into())),
    }
}

/// An executor's request for its cluster's consumer.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ProvisionRequest {
    /// The ack wait the executor reports progress for (the gateway keeps it within
    /// [`ACK_WAIT_RANGE`]).
    #[serde(default)]
    pub ack_wait_seconds: u64,
}

/// Ack waits an executor may ask for, in seconds.
pub const ACK_WAIT_RANGE: std::ops::RangeInclusive<u64> = 1..=600;

/// The answer to a provisioning request.
#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ProvisionReply {
    /// The consumer now exists.
    pub ok: bool,
    /// Why not, when it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Handles on the gateway-only webhook buckets.
#[derive(Debug, Clone)]
pub struct WebhookBuckets {
    /// subscription id → subscription (no TTL).
    pub subscriptions: kv::Store,
    /// `<subscription>.<event_id>` → delivery record (per-key TTL = the delivery log's retention).
    pub deliveries: kv::Store,
}

impl ProvisionOptions {
    /// The callbacks work queue: one follow-up job per async command.
    pub fn callbacks_stream_config(&self, names: &Names) -> stream::Config {
        stream::Config {
            name: names.callbacks_stream(),
            description: Some(
                "Kubently: async commands' follow-up jobs (timeout event, callback), taken by the gateways"
                    .into(),
            ),
            subjects: vec![names.callback_subjects()],
            retention: RetentionPolicy::WorkQueue,
            storage: StorageType::File,
            discard: DiscardPolicy::Old,
            max_age: self.events_max_age,
            max_bytes: bytes(self.limits.callbacks_max_bytes),
            duplicate_window: self.duplicate_window,
            num_replicas: self.replicas,
            ..Default::default()
        }
    }

    /// The gateway-only streams [`ensure_webhooks`] provisions.
    pub fn webhook_stream_configs(&self, names: &Names) -> Vec<stream::Config> {
        vec![
            self.callbacks_stream_config(names),
            self.kv_stream_config(
                &names.webhooks_bucket(),
                Duration::ZERO,
                false,
                "Kubently: webhook subscriptions",
            ),
            self.kv_stream_config(
                &names.webhook_deliveries_bucket(),
                Duration::ZERO,
                true,
                "Kubently: webhook deliveries that failed at least once",
            ),
        ]
    }
}

/// Handles on the gateway-only A2A buckets.
#[derive(Debug, Clone)]
pub struct A2aBuckets {
    /// task id → task record (per-key TTL: the task retention).
    pub tasks: kv::Store,
    /// task id → that task's push notification configs (per-key TTL: the task retention).
    pub push: kv::Store,
}

impl ProvisionOptions {
    /// The streams behind the A2A buckets.
    pub fn a2a_stream_configs(&self, names: &Names) -> Vec<stream::Config> {
        vec![
            self.kv_stream_config(&names.a2a_tasks_bucket(), Duration::ZERO, true, "Kubently: A2A tasks"),
            self.kv_stream_config(
                &names.a2a_push_bucket(),
                Duration::ZERO,
                true,
                "Kubently: A2A push notification configs",
            ),
        ]
    }
}

impl ProvisionOptions {
    /// Every stream and bucket the gateway provisions: the command path's, the webhooks' and
    /// the A2A door's (what its storage watch reports on).
    pub fn every_stream_config(&self, names: &Names) -> Vec<stream::Config> {
        let mut all = self.stream_configs(names);
        all.extend(self.webhook_stream_configs(names));
        all.extend(self.a2a_stream_configs(names));
        all
    }
}

/// Creates or updates every stream of `configs`, concurrently.
async fn ensure_streams(js: &jetstream::Context, configs: Vec<stream::Config>) -> Result<()> {
    futures::future::try_join_all(configs.into_iter().map(|config| ensure_stream(js, config))).await?;
    Ok(())
}

/// A handle on the KV bucket `bucket` (its stream must exist).
async fn open_bucket(js: &jetstream::Context, bucket: String) -> Result<kv::Store> {
    js.get_key_value(bucket.as_str()).await.map_err(|e| Error::Bucket {
        bucket,
        action: "open",
        source: e.into(),
    })
}

/// Creates or updates the A2A tasks and push-config buckets.
pub async fn ensure_a2a(js: &jetstream::Context, opts: &ProvisionOptions) -> Result<A2aBuckets> {
    let names = opts.names()?;
    ensure_streams(js, opts.a2a_stream_configs(&names)).await?;
    let open = |bucket: String| open_bucket(js, bucket);
    let (tasks, push) = futures::try_join!(open(names.a2a_tasks_bucket()), open(names.a2a_push_bucket()))?;
    Ok(A2aBuckets { tasks, push })
}

/// Creates or updates the webhook subscriptions and deliveries buckets and the callbacks stream.
pub async fn ensure_webhooks(js: &jetstream::Context, opts: &ProvisionOptions) -> Result<WebhookBuckets> {
    let names = opts.names()?;
    ensure_streams(js, opts.webhook_stream_configs(&names)).await?;
    let open = |bucket: String| open_bucket(js, bucket);
    let (subscriptions, deliveries) =
        futures::try_join!(open(names.webhooks_bucket()), open(names.webhook_deliveries_bucket()))?;
    Ok(WebhookBuckets { subscriptions, deliveries })
}

/// [`ensure_command_path`], retried with backoff for about half a minute: NATS may still be
/// starting (compose, `./dev up`, a rolling restart).
pub async fn ensure_command_path_retrying(
    js: &jetstream::Context,
    opts: &ProvisionOptions,
) -> Result<Buckets> {
    let mut delay = Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        match ensure_command_path(js, opts).await {
            Ok(buckets) => return Ok(buckets),
            Err(e) if attempt < 8 => {
                tracing::warn!(attempt, error = %e, "provisioning NATS streams and buckets failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Creates or updates the commands, events and audit streams and every KV bucket.
pub async fn ensure_command_path(js: &jetstream::Context, opts: &ProvisionOptions) -> Result<Buckets> {
    let names = opts.names()?;
    if opts.kv_marker_ttl < Duration::from_secs(1) {
        return Err(Error::InvalidOption {
            option: "kv_marker_ttl",
            reason: format!("must be at least 1 s, got {:?}", opts.kv_marker_ttl),
        });
    }
    ensure_streams(js, opts.stream_configs(&names)).await?;
    let open = |bucket: String| open_bucket(js, bucket);
    let (cluster_active, sessions, executors, results, clusters, claims) = futures::try_join!(
        open(names.cluster_active_bucket()),
        open(names.sessions_bucket()),
        open(names.executors_bucket()),
        open(names.results_bucket()),
        open(names.clusters_bucket()),
        open(names.claims_bucket()),
    )?;
    Ok(Buckets {
        cluster_active,
        sessions,
        executors,
        results,
        clusters,
        claims,
        claim_ttl: opts.command_max_age,
    })
}

/// Creates or updates the durable pull consumer `executor-<cluster>` on the commands stream
/// (creating the stream too if it is missing) and returns it bound.
///
/// A work-queue stream refuses a second consumer whose filter overlaps an existing one, so
/// every replica must bind this one durable; racing creates converge on it.
pub async fn ensure_cluster_consumer(
    js: &jetstream::Context,
    cluster_id: &str,
    opts: &ProvisionOptions,
) -> Result<PullConsumer> {
    validate_cluster_id(cluster_id).map_err(|reason| Error::InvalidName {
        what: "cluster id",
        value: cluster_id.to_string(),
        reason,
    })?;
    let names = opts.names()?;
    ensure_consumer(js, opts.commands_stream_config(&names), opts.cluster_consumer_config(&names, cluster_id))
        .await
}

/// Creates or updates the durable pull consumer `desired` on the stream `stream_config` names
/// (creating the stream too if it is missing) and returns it bound. Racing creates converge.
pub async fn ensure_consumer(
    js: &jetstream::Context,
    stream_config: stream::Config,
    desired: pull::Config,
) -> Result<PullConsumer> {
    let stream = stream_config.name.clone();
    let durable = desired.durable_name.clone().unwrap_or_default();
    let consumer_error = |action: &'static str, source: async_nats::Error| Error::Consumer {
        stream: stream.clone(),
        consumer: durable.clone(),
        action,
        source,
    };

    let mut last_reason = String::new();
    for _ in 0..ATTEMPTS {
        match js.get_consumer_from_stream::<pull::Config, _, _>(&durable, &stream).await {
            Ok(existing) => {
                let diff = consumer_differences(&existing.cached_info().config, &desired);
                if diff.is_empty() {
                    return Ok(existing);
                }
                info!(stream, consumer = durable, ?diff, "updating the consumer");
            }
            Err(e) if jetstream_code(&e) == Some(ErrorCode::STREAM_NOT_FOUND) => {
                ensure_stream(js, stream_config.clone()).await?;
                last_reason = format!("the stream {stream} was missing");
                continue;
            }
            Err(e) if jetstream_code(&e) == Some(ErrorCode::CONSUMER_NOT_FOUND) => {
                debug!(stream, consumer = durable, "creating the consumer");
            }
            Err(e) => return Err(consumer_error("look up", e.into())),
        }
        // Create-or-update: identical racing creates all succeed and leave one consumer.
        match js.create_consumer_on_stream(desired.clone(), &stream).await {
            Ok(consumer) => return Ok(consumer),
            Err(e) if jetstream_code(&e) == Some(ErrorCode::STREAM_NOT_FOUND) => {
                ensure_stream(js, stream_config.clone()).await?;
                last_reason = format!("the stream {stream} was missing");
            }
            Err(e)
                if matches!(
                    jetstream_code(&e),
                    Some(ErrorCode::CONSUMER_NAME_EXIST | ErrorCode::CONSUMER_ALREADY_EXISTS)
                ) =>
            {
                last_reason = e.to_string();
            }
            Err(e) => return Err(consumer_error("create", e.into())),
        }
    }
    Err(Error::NotConverged {
        what: format!("consumer {durable} on stream {stream}"),
        attempts: ATTEMPTS,
        reason: last_reason,
    })
}

/// Creates `desired`, or updates the existing stream's Kubently-owned fields to match it.
pub async fn ensure_stream(js: &jetstream::Context, desired: stream::Config) -> Result<stream::Info> {
    let name = desired.name.clone();
    let stream_error = |action: &'static str, source: async_nats::Error| Error::Stream {
        stream: name.clone(),
        action,
        source,
    };
    let mut last_reason = String::new();
    for _ in 0..ATTEMPTS {
        match js.get_stream(&name).await {
            Ok(existing) => {
                let current = &existing.cached_info().config;
                let diff = stream_differences(current, &desired);
                if diff.is_empty() {
                    return Ok(existing.cached_info().clone());
                }
                info!(stream = name, ?diff, "updating stream to Kubently's configuration");
                let held = existing.cached_info().state.bytes;
                if desired.max_bytes > 0 && held > desired.max_bytes as u64 {
                    warn!(
                        stream = name,
                        held_bytes = held,
                        max_bytes = desired.max_bytes,
                        discard = ?desired.discard,
                        "the stream holds more than its new size limit: the server drops its oldest \
                         messages now (discard old) or refuses writes until it shrinks (discard new)"
                    );
                }
                match js.update_stream(&apply_owned(current, &desired)).await {
                    Ok(info) => return Ok(info),
                    Err(e) if e.kind() == CreateStreamErrorKind::NotFound => {
                        last_reason = "deleted while updating".into()
                    }
                    Err(e) => {
                        return Err(stream_error(
                            "update",
                            format!("{e} (fields that differ: {})", diff.join(", ")).into(),
                        ));
                    }
                }
            }
            Err(e) if matches!(e.kind(), GetStreamErrorKind::JetStream(ref j) if j.error_code() == ErrorCode::STREAM_NOT_FOUND) =>
            {
                match js.create_stream(desired.clone()).await {
                    Ok(stream) => {
                        info!(stream = name, "created stream");
                        return Ok(stream.cached_info().clone());
                    }
                    // Another replica created it first (with a config differing in some field):
                    // re-read and reconcile.
                    Err(e) if matches!(e.kind(), CreateStreamErrorKind::JetStream(ref j) if j.error_code() == ErrorCode::STREAM_NAME_EXIST) =>
                    {
                        last_reason = e.to_string();
                    }
                    Err(e) => return Err(stream_error("create", e.into())),
                }
            }
            Err(e) => return Err(stream_error("look up", e.into())),
        }
    }
    Err(Error::NotConverged { what: format!("stream {name}"), attempts: ATTEMPTS, reason: last_reason })
}

/// The Kubently-owned fields in which `current` differs from `desired`.
pub fn stream_differences(current: &stream::Config, desired: &stream::Config) -> Vec<&'static str> {
    let mut diff = Vec::new();
    let mut check = |field, differs: bool| {
        if differs {
            diff.push(field);
        }
    };
    let sorted = |s: &[String]| {
        let mut s = s.to_vec();
        s.sort();
        s
    };
    check("subjects", sorted(&current.subjects) != sorted(&desired.subjects));
    check("retention", current.retention != desired.retention);
    check("storage", current.storage != desired.storage);
    check("discard", current.discard != desired.discard);
    check("max_age", current.max_age != desired.max_age);
    check("max_bytes", current.max_bytes != desired.max_bytes);
    // The server fills in its default window (2 min, capped by max_age) when none is asked for.
    check(
        "duplicate_window",
        desired.duplicate_window != Duration::ZERO && current.duplicate_window != desired.duplicate_window,
    );
    check("num_replicas", current.num_replicas.max(1) != desired.num_replicas.max(1));
    check(
        "max_messages_per_subject",
        desired.max_messages_per_subject > 0
            && current.max_messages_per_subject != desired.max_messages_per_subject,
    );
    check("allow_rollup", current.allow_rollup != desired.allow_rollup);
    check("deny_delete", current.deny_delete != desired.deny_delete);
    check("allow_direct", current.allow_direct != desired.allow_direct);
    check("allow_msg_ttl", current.allow_message_ttl != desired.allow_message_ttl);
    check(
        "subject_delete_marker_ttl",
        current.subject_delete_marker_ttl != desired.subject_delete_marker_ttl,
    );
    check("republish", current.republish != desired.republish);
    diff
}

/// `current` with Kubently's fields taken from `desired` (everything else as the server has it).
fn apply_owned(current: &stream::Config, desired: &stream::Config) -> stream::Config {
    stream::Config {
        subjects: desired.subjects.clone(),
        retention: desired.retention,
        storage: desired.storage,
        discard: desired.discard,
        max_age: desired.max_age,
        max_bytes: desired.max_bytes,
        // Not asked for: keep the server's window, but never longer than the new max age (the
        // server refuses that).
        duplicate_window: match (desired.duplicate_window, desired.max_age) {
            (Duration::ZERO, Duration::ZERO) => current.duplicate_window,
            (Duration::ZERO, max_age) => current.duplicate_window.min(max_age),
            (window, _) => window,
        },
        num_replicas: desired.num_replicas,
        max_messages_per_subject: if desired.max_messages_per_subject > 0 {
            desired.max_messages_per_subject
        } else {
            current.max_messages_per_subject
        },
        allow_rollup: desired.allow_rollup,
        deny_delete: desired.deny_delete,
        allow_direct: desired.allow_direct,
        allow_message_ttl: desired.allow_message_ttl,
        subject_delete_marker_ttl: desired.subject_delete_marker_ttl,
        republish: desired.republish.clone(),
        ..current.clone()
    }
}

/// The Kubently-owned consumer fields in which `current` differs from `desired`.
pub fn consumer_differences(current: &consumer::Config, desired: &pull::Config) -> Vec<&'static str> {
    let mut diff = Vec::new();
    let mut check = |field, differs: bool| {
        if differs {
            diff.push(field);
        }
    };
    check("filter_subject", current.filter_subject != desired.filter_subject);
    check("filter_subjects", current.filter_subjects != desired.filter_subjects);
    check("deliver_policy", current.deliver_policy != desired.deliver_policy);
    check("ack_policy", current.ack_policy != desired.ack_policy);
    check("ack_wait", current.ack_wait != desired.ack_wait);
    check("max_deliver", current.max_deliver != desired.max_deliver);
    check("max_ack_pending", current.max_ack_pending != desired.max_ack_pending);
    check("deliver_subject (must be a pull consumer)", current.deliver_subject.is_some());
    diff
}

/// The JetStream API error code behind a consumer lookup/create error, if the server answered.
fn jetstream_code(e: &stream::ConsumerError) -> Option<ErrorCode> {
    match e.kind() {
        ConsumerErrorKind::JetStream(j) => Some(j.error_code()),
        _ => None,
    }
}
