//! A simulated executor: on the bus, exactly what a `kubently-executor` does — its own NATS
//! connection with its cluster's credentials and inbox prefix, the cluster's durable consumer
//! (asked of the gateway on `kubently.provision.<cluster>`, then bound), presence heartbeats, the
//! cluster-active watch switching fast/slow fetching, and the executor's own [`Worker`] taking
//! each command (signature verified, claimed, result stored and so answered, event, ack) — but
//! the Kubernetes API it talks to is a canned in-process answer to `GET /version`, so a thousand
//! of them fit in one process.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use kubently_executor::engine::Engine;
use kubently_executor::health::HealthState;
use kubently_executor::presence::Presence;
use kubently_executor::worker::Worker;
use kubently_executor::{mode, pull, startup};
use kubently_shared::config::NatsSettings;
use kubently_shared::events::EventPublisher;
use kubently_shared::policy::PolicyConfig;
use kubently_shared::protocol::{ExecutorInfo, FetchMode, PROTOCOL_VERSION};
use kubently_shared::provision;
use kubently_shared::signing::CommandVerifier;
use time::OffsetDateTime;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

/// The Kubernetes version the canned API server reports.
pub const CANNED_VERSION: &str = "v1.33.0-fleet-sim";

/// What every simulated executor shares.
#[derive(Clone)]
pub struct SimConfig {
    /// `nats.url`: the hub, or an edge cluster's leaf node.
    pub nats_url: String,
    pub tls_ca: PathBuf,
    /// The gateway's public signing key.
    pub trusted_key: String,
    /// The executor's defaults: heartbeat 5 s, slow fetch 15 s, fast fetch 1 s.
    pub heartbeat: Duration,
    pub slow_fetch: Duration,
    pub fast_fetch: Duration,
    pub concurrency: usize,
    /// The canned API server (one for all: it answers in-process).
    pub kube: kube::Client,
}

/// A kube client whose API server answers `GET /version` with [`CANNED_VERSION`] and anything
/// else with 404.
pub fn canned_kube() -> kube::Client {
    let service = tower::service_fn(|request: http::Request<kube::client::Body>| async move {
        let (status, body) = match request.uri().path() {
            "/version" => (
                200,
                serde_json::json!({"major": "1", "minor": "33", "gitVersion": CANNED_VERSION, "gitCommit": "sim",
                    "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24", "compiler": "gc",
                    "platform": "linux/amd64"}),
            ),
            _ => (
                404,
                serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": "the simulated API server serves /version only", "reason": "NotFound", "code": 404}),
            ),
        };
        let response = http::Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(kube::client::Body::from(body.to_string().into_bytes()))
            .expect("a status and a JSON body make a response");
        Ok::<_, Infallible>(response)
    });
    kube::Client::new(service, "default")
}

/// One running simulated executor; dropping it stops it at once (like a killed process: no
/// goodbye, its presence expires).
pub struct SimExecutor {
    pub cluster_id: String,
    tasks: Vec<JoinHandle<()>>,
    _stop: watch::Sender<bool>,
}

impl Drop for SimExecutor {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl SimExecutor {
    /// Connects as executor `sim-<cluster>` of `cluster_id` with `creds`, gets and binds the
    /// cluster's consumer, announces presence and starts fetching.
    pub async fn start(config: &SimConfig, cluster_id: &str, creds: PathBuf) -> anyhow::Result<Self> {
        let settings = NatsSettings {
            url: config.nats_url.clone(),
            credentials_file: Some(creds),
            tls_ca_file: Some(config.tls_ca.clone()),
            ..NatsSettings::default()
        };
        let opts = settings.provision_options();
        let names = opts.names()?;
        let executor_id = format!("sim-{cluster_id}");
        let nats = settings
            .connect_with(
                format!("kubently-executor/{cluster_id}/{executor_id}"),
                Some(&names.executor_inbox_prefix(cluster_id)),
            )
            .await?;
        let js = jetstream::new(nats.clone());
        let buckets = provision::bind_executor(&js, &opts).await?;
        let consumer = startup::bind_consumer(&nats, &js, &names, cluster_id, &opts).await?;
        let now = OffsetDateTime::now_utc();
        let info = ExecutorInfo {
            v: PROTOCOL_VERSION,
            cluster_id: cluster_id.to_string(),
            executor_id: executor_id.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            hostname: "fleet-sim".into(),
            pod: None,
            kubernetes_version: Some(CANNED_VERSION.into()),
            mode: FetchMode::Slow,
            in_flight: 0,
            started_at: now,
            last_seen: now,
            capabilities: vec!["version".into()],
            access: None,
        };
        let presence = Presence {
            js: js.clone(),
            buckets: buckets.clone(),
            key: names.executor_key(cluster_id, &executor_id),
            info,
            interval: config.heartbeat,
            concurrency: config.concurrency,
        };
        let worker = Arc::new(Worker {
            engine: Engine::new(config.kube.clone()),
            nats: nats.clone(),
            events: EventPublisher::new(js.clone(), names.clone()),
            js,
            names,
            buckets: buckets.clone(),
            executor_id,
            cluster_id: cluster_id.to_string(),
            policy: PolicyConfig::default(),
            default_namespace: "default".into(),
            ack_wait: opts.ack_wait,
            verifier: CommandVerifier::new(std::slice::from_ref(&config.trusted_key))?,
            impersonation: None,
        });

        // As `kubently_executor::Application::run_until` runs them.
        let slots = Arc::new(Semaphore::new(config.concurrency));
        let (mode_tx, mode_rx) = watch::channel(FetchMode::Slow);
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(mode::follow(
            nats,
            buckets.cluster_active.clone(),
            cluster_id.to_string(),
            mode_tx,
        ))];
        presence.register_cluster().await;
        tasks.push(tokio::spawn(presence.run(mode_rx.clone(), slots.clone(), stop_rx.clone())));
        tasks.push(tokio::spawn(pull::fetch_loop(
            consumer,
            worker,
            slots,
            mode_rx,
            stop_rx,
            config.fast_fetch,
            config.slow_fetch,
            Arc::new(HealthState::default()),
        )));
        Ok(Self { cluster_id: cluster_id.to_string(), tasks, _stop: stop_tx })
    }
}
