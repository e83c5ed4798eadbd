//! Building and running the executor: serve the health endpoints, check that the Kubernetes
//! identity is read-only ([`crate::privileges`]; refuse to start otherwise), connect, provision,
//! bind the cluster's durable consumer, announce presence, then run the pull loop
//! ([`crate::pull`]) until shutdown and drain.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::PullConsumer};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kubently_shared::events::EventPublisher;
use kubently_shared::names::Names;
use kubently_shared::policy::Verb;
use kubently_shared::protocol::{AccessReport, ExecutorInfo, FetchMode, PROTOCOL_VERSION};
use kubently_shared::provision;
use kubently_shared::signing::CommandVerifier;
use time::OffsetDateTime;
use tokio::sync::{Semaphore, watch};

use crate::engine::Engine;
use crate::health::{self, HealthServer, HealthState};
use crate::impersonation::Impersonation;
use crate::presence::Presence;
use crate::worker::Worker;
use crate::{Error, Result, Settings, mode, privileges, pull};

/// How often readiness asks the API server whether it answers.
const KUBE_CHECK_INTERVAL: Duration = Duration::from_secs(10);

pub struct Application {
    settings: Settings,
    /// The executor's own client (readiness): never impersonates, never carries a command.
    own_kube: kube::Client,
    worker: Arc<Worker>,
    consumer: PullConsumer,
    presence: Presence,
    health: Arc<HealthState>,
    health_server: HealthServer,
}

impl Application {
    /// Serves the health endpoints (live at once, ready once everything below is), checks the
    /// Kubernetes identity's privileges, connects to NATS, provisions (idempotent, race-safe) and
    /// binds the cluster's durable consumer, shared by every replica of this cluster.
    pub async fn build(settings: Settings) -> Result<Self> {
        let cluster_id = settings.executor.cluster_id.clone();
        let verifier = CommandVerifier::new(&settings.signing.keys()?)?;
        kubently_shared::names::validate_cluster_id(&cluster_id)
            .map_err(|e| Error::Config(format!("executor.cluster_id: {e}")))?;
        let health = Arc::new(HealthState::default());
        let health_server =
            health::serve(&settings.executor.health_host, settings.executor.health_port, health.clone())
                .await?;
        let impersonation = Impersonation::from_settings(&settings.impersonation, &cluster_id)?;
        let config = kube_config(&settings).await?;
        let server_url = config.cluster_url.to_string();
        let own_kube = kube::Client::try_from(config)?;
        // Commands' requests: on an impersonating cluster each must carry its caller (see
        // `impersonation`); the executor's own requests use `own_kube`.
        let commands_kube = match &impersonation {
            Some(_) => crate::impersonation::guarded(&own_kube),
            None => own_kube.clone(),
        };
        let access = check_privileges(&own_kube, &settings, impersonation.as_ref()).await?;
        let executor_id = settings.executor.id.clone().unwrap_or_else(default_executor_id);
        let opts = settings.nats.provision_options();
        let names = opts.names()?;
        let nats = settings
            .nats
            .connect_with(
                format!("kubently-executor/{cluster_id}/{executor_id}"),
                Some(&names.executor_inbox_prefix(&cluster_id)),
            )
            .await?;
        health.set_nats(nats.clone());
        let js = jetstream::new(nats.clone());
        let buckets = provision::bind_executor(&js, &opts).await?;
        let consumer = bind_consumer(&nats, &js, &names, &cluster_id, &opts).await?;
        health.set_consumer(Ok(()));

        let engine =
            Engine::new(commands_kube).with_policy(settings.policy.clone()).with_server_url(server_url);
        let kubernetes_version = match own_kube.apiserver_version().await {
            Ok(v) => {
                health.set_kube_api(Ok(()));
                Some(v.git_version)
            }
            Err(e) => {
                tracing::warn!(error = %e, "the Kubernetes API is not reachable yet; commands will fail until it is");
                health.set_kube_api(Err(e.to_string()));
                None
            }
        };
        let now = OffsetDateTime::now_utc();
        let info = ExecutorInfo {
            v: PROTOCOL_VERSION,
            cluster_id: cluster_id.clone(),
            executor_id: executor_id.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            hostname: hostname(),
            pod: std::env::var("POD_NAME").ok(),
            kubernetes_version,
            mode: FetchMode::Slow,
            in_flight: 0,
            started_at: now,
            last_seen: now,
            capabilities: Verb::ALL.iter().map(|v| v.as_str().to_string()).collect(),
            access,
        };
        let presence = Presence {
            js: js.clone(),
            buckets: buckets.clone(),
            key: names.executor_key(&cluster_id, &executor_id),
            info,
            interval: Duration::from_secs(settings.executor.heartbeat_seconds.max(1)),
            concurrency: settings.executor.concurrency.max(1),
        };
        let worker = Arc::new(Worker {
            engine,
            nats,
            events: EventPublisher::new(js.clone(), names.clone()),
            js,
            names,
            buckets,
            executor_id,
            cluster_id,
            policy: settings.policy.clone(),
            default_namespace: settings.kube.default_namespace.clone(),
            ack_wait: opts.ack_wait,
            verifier,
            impersonation,
        });
        Ok(Self { settings, own_kube, worker, consumer, presence, health, health_server })
    }

    pub fn engine(&self) -> &Engine {
        &self.worker.engine
    }

    /// Where the health endpoints listen (`/healthz`, `/readyz`).
    pub fn health_addr(&self) -> SocketAddr {
        self.health_server.local_addr()
    }

    /// What the privilege check found (None only when it could not run and
    /// `executor.allow_write_identity` let the executor start anyway).
    pub fn access(&self) -> Option<&AccessReport> {
        self.presence.info.access.as_ref()
    }

    /// Runs until SIGTERM or Ctrl-C.
    pub async fn run(self) -> Result<()> {
        self.run_until(kubently_shared::shutdown::signal()).await
    }

    /// Runs until `shutdown` resolves: then stops fetching, finishes in-flight commands (up to the
    /// grace period), leaves the registry and returns.
    pub async fn run_until(self, shutdown: impl std::future::Future<Output = ()>) -> Result<()> {
        let s = &self.settings.executor;
        let concurrency = s.concurrency.max(1);
        let slots = Arc::new(Semaphore::new(concurrency));
        let (mode_tx, mode_rx) = watch::channel(FetchMode::Slow);
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(mode::follow(
            self.worker.nats.clone(),
            self.worker.buckets.cluster_active.clone(),
            self.worker.cluster_id.clone(),
            mode_tx,
        ));
        tokio::spawn(health::watch_kube_api(
            self.health.clone(),
            self.own_kube.clone(),
            KUBE_CHECK_INTERVAL,
            stop_rx.clone(),
        ));
        self.presence.register_cluster().await;
        let presence = tokio::spawn(self.presence.run(mode_rx.clone(), slots.clone(), stop_rx.clone()));
        tracing::info!(cluster_id = %self.worker.cluster_id, executor_id = %self.worker.executor_id, concurrency, "executor started");

        let (stop_fetch_tx, stop_fetch_rx) = watch::channel(false);
        let fetching = tokio::spawn(pull::fetch_loop(
            self.consumer,
            self.worker.clone(),
            slots.clone(),
            mode_rx,
            stop_fetch_rx,
            Duration::from_millis(s.fast_fetch_ms.max(10)),
            Duration::from_secs(s.slow_fetch_seconds.max(1)),
            self.health.clone(),
        ));
        shutdown.await;
        self.health.set_draining();
        tracing::info!("shutting down: no new commands after the current poll; finishing in-flight ones");
        let _ = stop_fetch_tx.send(true);
        let _ = fetching.await;
        let grace = Duration::from_secs(s.shutdown_grace_seconds);
        match tokio::time::timeout(grace, slots.acquire_many(concurrency as u32)).await {
            Ok(_) => tracing::info!("in-flight commands finished"),
            Err(_) => tracing::warn!(
                in_flight = concurrency - slots.available_permits(),
                "grace period over; unfinished commands will be redelivered"
            ),
        }
        let _ = stop_tx.send(true);
        let _ = presence.await;
        drop(self.health_server);
        Ok(())
    }
}

/// Binds the cluster's durable consumer; while it does not exist (or its ack wait is not this
/// executor's), asks the gateways to create or update it (executors may not) and waits for one
/// to answer. (Public for the fleet simulation of the developer tools.)
pub async fn bind_consumer(
    nats: &async_nats::Client,
    js: &jetstream::Context,
    names: &Names,
    cluster_id: &str,
    opts: &provision::ProvisionOptions,
) -> Result<PullConsumer> {
    let mut delay = Duration::from_millis(100);
    loop {
        if let Some(consumer) = provision::bind_cluster_consumer(js, cluster_id, opts).await?
            && consumer.cached_info().config.ack_wait == opts.ack_wait
        {
            return Ok(consumer);
        }
        let subject = names.provision_subject(cluster_id);
        let request = provision::ProvisionRequest { ack_wait_seconds: opts.ack_wait.as_secs() };
        let body = serde_json::to_vec(&request).unwrap_or_default();
        match tokio::time::timeout(Duration::from_secs(5), nats.request(subject, body.into())).await {
            Ok(Ok(msg)) => match serde_json::from_slice::<provision::ProvisionReply>(&msg.payload) {
                Ok(reply) if reply.ok => {
                    tracing::info!("the gateway created this cluster's consumer");
                    continue;
                }
                Ok(reply) => tracing::warn!(
                    error = reply.error,
                    "the gateway could not create this cluster's consumer; asking again"
                ),
                Err(e) => tracing::warn!(error = %e, "undecodable answer to the provisioning request"),
            },
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "no gateway answered the provisioning request yet; waiting for one")
            }
            Err(_) => tracing::warn!("no gateway answered the provisioning request within 5 s; asking again"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_string()))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

/// `<hostname>-<8 hex>`, safe as a KV key token.
fn default_executor_id() -> String {
    let host: String = hostname()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c.to_ascii_lowercase() } else { '-' })
        .take(40)
        .collect();
    format!("{host}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// The Kubernetes client configuration.
async fn kube_config(settings: &Settings) -> Result<kube::Config> {
    let options = KubeConfigOptions { context: settings.kube.context.clone(), ..Default::default() };
    let config = match &settings.kube.kubeconfig {
        Some(path) => {
            let unreadable = |source| Error::Kubeconfig { path: path.clone(), source };
            let kubeconfig = Kubeconfig::read_from(path).map_err(unreadable)?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &options).await.map_err(unreadable)?
        }
        None => kube::Config::infer().await.map_err(Error::InferKubeConfig)?,
    };
    Ok(config)
}

/// The privilege self-check: refuses an identity that can change the cluster unless
/// `executor.allow_write_identity` is set, and fails closed when the check cannot run. Returns
/// the access the presence record publishes.
async fn check_privileges(
    kube: &kube::Client,
    settings: &Settings,
    impersonation: Option<&Impersonation>,
) -> Result<Option<AccessReport>> {
    let allow = settings.executor.allow_write_identity;
    let mut namespaces = settings.executor.namespaces.clone();
    namespaces.push(settings.kube.default_namespace.clone());
    let started = Instant::now();
    let review = match review_retrying(kube, &namespaces, impersonation).await {
        Ok(review) => review,
        Err(e) if allow => {
            tracing::warn!(error = %e, "the privilege check could not run; starting anyway (executor.allow_write_identity = true)");
            return Ok(None);
        }
        Err(e) => return Err(Error::PrivilegeCheck(e)),
    };
    let mut access = review.access;
    if review.dangerous.is_empty() {
        tracing::info!(
            namespaces = ?access.namespaces,
            secrets = ?access.secrets,
            logs = ?access.logs,
            metrics = ?access.metrics,
            complete = access.complete,
            namespaces_reviewed = review.namespaces_reviewed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "privilege check passed: the Kubernetes identity is read-only"
        );
        return Ok(Some(access));
    }
    if !allow {
        return Err(Error::WriteIdentity { dangerous: review.dangerous });
    }
    tracing::warn!(
        count = review.dangerous.len(),
        "RUNNING WITH A KUBERNETES IDENTITY THAT CAN CHANGE THE CLUSTER (executor.allow_write_identity = true; \
         lab use only): the presence record says so"
    );
    for permission in &review.dangerous {
        tracing::warn!(%permission, "dangerous permission held");
    }
    access.write_identity = true;
    access.dangerous_permissions = review.dangerous;
    Ok(Some(access))
}

/// [`privileges::review`], retried a few times while the API server is unreachable (an answer,
/// even a refusal, is final).
async fn review_retrying(
    kube: &kube::Client,
    namespaces: &[String],
    impersonation: Option<&Impersonation>,
) -> std::result::Result<privileges::PrivilegeReview, kube::Error> {
    const ATTEMPTS: u32 = 4;
    let mut delay = Duration::from_millis(500);
    let mut attempt = 1;
    loop {
        match privileges::review(kube, namespaces, impersonation).await {
            Err(e) if attempt < ATTEMPTS && !matches!(e, kube::Error::Api(_)) => {
                tracing::warn!(error = %e, attempt, "the privilege check could not reach the API server; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}
