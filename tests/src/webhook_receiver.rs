//! A real HTTP webhook receiver for tests and the benchmark: records every request it gets
//! (headers, body, arrival time), answers with a status the test sets, can be slow, and can go
//! down and come back on the same port. [`verify`] checks a Standard Webhooks signature with an
//! implementation independent of the gateway's (RustCrypto `hmac` here, `ring` there).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::Notify;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    /// `A2A-Notification-Token` (A2A push notifications).
    pub a2a_token: String,
    /// The request's path (`/cb/17`).
    pub path: String,
    pub body: Bytes,
    pub at: Instant,
    /// Wall-clock arrival (latency against the event's own timestamp).
    pub wall: time::OffsetDateTime,
    /// What the receiver answered.
    pub answered: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }
}

#[derive(Default)]
struct Behaviour {
    status: u16,
    delay: Duration,
}

struct Shared {
    behaviour: Mutex<Behaviour>,
    received: Mutex<Vec<Received>>,
    /// Requests that arrived (before the answer), for "the delivery is in progress" checks.
    arrived: Mutex<usize>,
    changed: Notify,
}

pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    /// Listens on a free loopback port, answering 204.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
        let addr = listener.local_addr().expect("receiver address");
        let shared = Arc::new(Shared {
            behaviour: Mutex::new(Behaviour { status: 204, delay: Duration::ZERO }),
            received: Mutex::new(Vec::new()),
            arrived: Mutex::new(0),
            changed: Notify::new(),
        });
        let mut r = Self { addr, shared, server: None };
        r.serve(listener);
        r
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let app = Router::new()
            .route("/{*path}", post(handle))
            .route("/", post(handle))
            .with_state(self.shared.clone());
        self.server = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.addr, path.trim_start_matches('/'))
    }

    /// Answer every request with `status` after `delay`.
    pub fn respond(&self, status: u16, delay: Duration) {
        *self.shared.behaviour.lock().expect("lock") = Behaviour { status, delay };
    }

    /// Stops listening (connections are refused) until [`Receiver::up`].
    pub fn down(&mut self) {
        if let Some(s) = self.server.take() {
            s.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn up(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    tracing::debug!(error = %e, "receiver port not free yet");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot re-bind the receiver on {}: {e}", self.addr),
            }
        };
        self.serve(listener);
    }

    /// Every request answered so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("lock").clone()
    }

    /// Requests answered 2xx.
    pub fn delivered(&self) -> Vec<Received> {
        self.received().into_iter().filter(|r| (200..300).contains(&r.answered)).collect()
    }

    pub fn arrived(&self) -> usize {
        *self.shared.arrived.lock().expect("lock")
    }

    /// Waits until `done(received)` holds, or panics after `timeout` saying what arrived.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        what: &str,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            let got = self.received();
            if done(&got) {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let summary: Vec<String> = got
                    .iter()
                    .map(|r| {
                        format!(
                            "{} {} {}",
                            r.answered,
                            r.id,
                            String::from_utf8_lossy(&r.body).chars().take(120).collect::<String>()
                        )
                    })
                    .collect();
                panic!(
                    "receiver: {what} did not happen within {timeout:?}; got {} requests:\n{}",
                    got.len(),
                    summary.join("\n")
                );
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.down();
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    *shared.arrived.lock().expect("lock") += 1;
    shared.changed.notify_waiters();
    let (status, delay) = {
        let b = shared.behaviour.lock().expect("lock");
        (b.status, b.delay)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let received = Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        a2a_token: header("a2a-notification-token"),
        path: uri.path().to_string(),
        body,
        at: Instant::now(),
        wall: time::OffsetDateTime::now_utc(),
        answered: status,
    };
    shared.received.lock().expect("lock").push(received);
    shared.changed.notify_waiters();
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Verifies a Standard Webhooks signature the way a subscriber would: `whsec_` secret,
/// HMAC-SHA256 over `id.timestamp.body`, any `v1,` signature in the space-separated header,
/// timestamp within 5 minutes.
pub fn verify(secret: &str, r: &Received) -> Result<(), String> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").ok_or("secret lacks whsec_")?)
        .map_err(|e| format!("secret: {e}"))?;
    let ts: i64 = r.timestamp.parse().map_err(|e| format!("webhook-timestamp {:?}: {e}", r.timestamp))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if (now - ts).abs() > 300 {
        return Err(format!("timestamp {ts} is more than 5 minutes from now ({now})"));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(format!("{}.{}.", r.id, r.timestamp).as_bytes());
    mac.update(&r.body);
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    let ok = r.signature.split(' ').filter_map(|s| s.strip_prefix("v1,")).any(|sig| sig == expected);
    if ok {
        Ok(())
    } else {
        Err(format!("signature {:?} does not match (expected v1,{expected})", r.signature))
    }
}
