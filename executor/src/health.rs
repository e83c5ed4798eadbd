//! The health endpoints the kubelet probes, on `executor.health_host:health_port`:
//! `GET /healthz` (liveness: the process serves requests) and `GET /readyz` (readiness: NATS
//! connected, the cluster's consumer bound and fetching, the Kubernetes API reachable, not
//! shutting down). Both answer JSON; `/readyz` is 503 with the failing checks named.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::{Error, Result};

/// Liveness: the process serves requests.
pub const LIVENESS_PATH: &str = "/healthz";
/// Readiness: NATS connected, consumer bound, API server reachable, not shutting down.
pub const READINESS_PATH: &str = "/readyz";

/// How long one Kubernetes API reachability check may take.
const KUBE_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// What readiness is made of; shared by the server and the parts of the executor that know.
#[derive(Debug, Default)]
pub struct HealthState {
    nats: OnceLock<async_nats::Client>,
    consumer: Mutex<Check>,
    kube_api: Mutex<Check>,
    draining: AtomicBool,
}

/// One readiness check's last outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Check {
    #[default]
    Pending,
    Ok,
    Failing(String),
}

impl HealthState {
    /// The NATS client whose connection state readiness reports.
    pub fn set_nats(&self, client: async_nats::Client) {
        let _ = self.nats.set(client);
    }

    /// The cluster's consumer is bound (`Ok`) or the last fetch from it failed (`Err`).
    pub fn set_consumer(&self, outcome: std::result::Result<(), String>) {
        set(&self.consumer, outcome);
    }

    /// The last Kubernetes API reachability check.
    pub fn set_kube_api(&self, outcome: std::result::Result<(), String>) {
        set(&self.kube_api, outcome);
    }

    /// Shutting down: not ready any more (rollouts wait for the replacement instead).
    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// `(ready, checks)`: every check by name with its state.
    pub fn readiness(&self) -> (bool, Value) {
        let nats = match self.nats.get().map(async_nats::Client::connection_state) {
            None => Check::Pending,
            Some(async_nats::connection::State::Connected) => Check::Ok,
            Some(other) => Check::Failing(other.to_string()),
        };
        let consumer = lock(&self.consumer);
        let kube_api = lock(&self.kube_api);
        let draining = self.draining.load(Ordering::Relaxed);
        let ready = !draining && [&nats, &consumer, &kube_api].iter().all(|c| **c == Check::Ok);
        let checks = json!({
            "nats": describe(&nats, "connected", "not connected yet"),
            "consumer": describe(&consumer, "bound", "not bound yet"),
            "kubernetes_api": describe(&kube_api, "reachable", "not checked yet"),
            "shutting_down": draining,
        });
        (ready, checks)
    }
}

fn set(slot: &Mutex<Check>, outcome: std::result::Result<(), String>) {
    let check = match outcome {
        Ok(()) => Check::Ok,
        Err(e) => Check::Failing(e),
    };
    *slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = check;
}

fn lock(slot: &Mutex<Check>) -> Check {
    slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
}

fn describe(check: &Check, ok: &str, pending: &str) -> String {
    match check {
        Check::Ok => ok.to_string(),
        Check::Pending => pending.to_string(),
        Check::Failing(e) => format!("failing: {e}"),
    }
}

/// The running health server; dropping it stops serving.
#[derive(Debug)]
pub struct HealthServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl HealthServer {
    /// Where it listens (the real port when `health_port` was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for HealthServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `host:port` (an IP address, never a name to resolve) and serves the endpoints.
pub async fn serve(host: &str, port: u16, state: Arc<HealthState>) -> Result<HealthServer> {
    let ip: IpAddr = host.parse().map_err(|e| {
        Error::Config(format!("executor.health_host `{host}` is not an IP address (e.g. 0.0.0.0): {e}"))
    })?;
    let listener = tokio::net::TcpListener::bind((ip, port))
        .await
        .map_err(|source| Error::HealthBind { addr: SocketAddr::new(ip, port), source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| Error::HealthBind { addr: SocketAddr::new(ip, port), source })?;
    let router = axum::Router::new()
        .route(LIVENESS_PATH, get(live))
        .route(READINESS_PATH, get(ready))
        .with_state(state);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "the health endpoints stopped serving");
        }
    });
    tracing::info!(%addr, liveness = LIVENESS_PATH, readiness = READINESS_PATH, "serving the health endpoints");
    Ok(HealthServer { addr, task })
}

async fn live() -> Json<Value> {
    Json(json!({"status": "alive"}))
}

async fn ready(State(state): State<Arc<HealthState>>) -> (StatusCode, Json<Value>) {
    let (ready, checks) = state.readiness();
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({"status": if ready { "ready" } else { "not ready" }, "checks": checks})))
}

/// Asks the API server for its version every `interval` (bounded by a timeout) and records
/// whether it answered, until `stop` is set.
pub async fn watch_kube_api(
    state: Arc<HealthState>,
    client: kube::Client,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            changed = stop.changed() => if changed.is_err() || *stop.borrow() { return },
        }
        let outcome = match tokio::time::timeout(KUBE_CHECK_TIMEOUT, client.apiserver_version()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(kube::Error::Api(status))) => Err(format!("HTTP {}: {}", status.code, status.message)),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {}s", KUBE_CHECK_TIMEOUT.as_secs())),
        };
        if let Err(e) = &outcome {
            tracing::warn!(error = %e, "the Kubernetes API is not reachable");
        }
        state.set_kube_api(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_every_check_passes_and_not_draining() {
        let state = HealthState::default();
        let (ready, checks) = state.readiness();
        assert!(!ready);
        assert_eq!(checks["nats"], "not connected yet");
        assert_eq!(checks["consumer"], "not bound yet");
        assert_eq!(checks["kubernetes_api"], "not checked yet");

        state.set_consumer(Ok(()));
        state.set_kube_api(Err("connection refused".into()));
        let (ready, checks) = state.readiness();
        assert!(!ready, "{checks}");
        assert_eq!(checks["consumer"], "bound");
        assert_eq!(checks["kubernetes_api"], "failing: connection refused");
    }
}
