//! Bounded mixed load: a fixed rate of read-only commands against the demo scenario, alternating
//! between the gateways, as sync calls, async calls with a callback to the local receiver, and
//! async calls without one. Arrivals are open-loop (a stalled command does not slow the load).
//! A connection the gateway refuses (it is down) is retried at the other gateway, as a load
//! balancer would: nothing was sent. Every request and what came of it is recorded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use uuid::Uuid;

use super::deployment::{API_KEY, CLUSTER_ID};

/// One kind of command of the mix.
pub struct Spec {
    pub label: &'static str,
    command_type: &'static str,
    args: &'static [&'static str],
    namespace: Option<&'static str>,
}

const SHORT: [Spec; 5] = [
    Spec {
        label: "get pods -n demo-shop",
        command_type: "get",
        args: &["pods"],
        namespace: Some("demo-shop"),
    },
    Spec { label: "get nodes", command_type: "get", args: &["nodes"], namespace: None },
    Spec { label: "version", command_type: "version", args: &[], namespace: None },
    Spec {
        label: "get deploy -n demo-batch",
        command_type: "get",
        args: &["deploy"],
        namespace: Some("demo-batch"),
    },
    Spec { label: "events -n demo-shop", command_type: "events", args: &[], namespace: Some("demo-shop") },
];

/// Follows a pod's log until shortly before its deadline: always in flight somewhere.
const LONG: Spec = Spec {
    label: "logs deploy/storefront -f -n demo-shop",
    command_type: "logs",
    args: &["deploy/storefront", "-f"],
    namespace: Some("demo-shop"),
};

/// The gateway's `commands.default_timeout_seconds` (short commands send no timeout).
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sync,
    /// Async with a `callback_url` to the receiver.
    Callback,
    /// Async without a callback.
    Async,
}

/// What came of one request.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Sync: 200 with the command's outcome.
    Answered { command_id: Uuid, status: String },
    /// Async: 202.
    Accepted { command_id: Uuid, callback_secret: Option<String> },
    /// Any other HTTP status.
    Refused { code: u16, body: String },
    /// The exchange broke after the request was sent (connection reset, client timeout).
    Broken { error: String },
    /// No gateway accepted the connection.
    Unreachable,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub seq: u64,
    pub kind: Kind,
    pub label: &'static str,
    /// A long command (`logs -f`, which runs until shortly before its deadline).
    pub long: bool,
    /// Seconds the command may take (its deadline is `sent + timeout`).
    pub timeout: u64,
    /// The gateway that took the request.
    pub gateway: usize,
    /// The first gateway refused the connection.
    pub rerouted: bool,
    pub correlation_id: String,
    /// Seconds since the scenario started.
    pub sent: f64,
    pub done: f64,
    pub outcome: Outcome,
}

impl Request {
    pub fn command_id(&self) -> Option<Uuid> {
        match &self.outcome {
            Outcome::Answered { command_id, .. } | Outcome::Accepted { command_id, .. } => Some(*command_id),
            _ => None,
        }
    }
}

pub struct Plan {
    pub duration: Duration,
    pub rate_per_second: f64,
    /// `X-Request-Timeout` of the long commands.
    pub long_timeout: u64,
    /// The receiver's base URL for this scenario (`http://127.0.0.1:p/cb/<scenario>`).
    pub callback_base: String,
    /// `chaos-<scenario>` (correlation ids are `<tag>-<seq>`).
    pub tag: String,
}

/// The running load's record.
pub struct Load {
    start: Instant,
    http: reqwest::Client,
    urls: Vec<String>,
    pub records: Mutex<Vec<Request>>,
    pub in_flight: AtomicUsize,
    /// Requests waiting for an answer, per gateway.
    pub in_flight_at: [AtomicUsize; 2],
    pub submitted: AtomicUsize,
}

impl Load {
    pub fn new(start: Instant, urls: Vec<String>) -> anyhow::Result<Arc<Self>> {
        let http = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(64).build()?;
        Ok(Arc::new(Self {
            start,
            http,
            urls,
            records: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            in_flight_at: [AtomicUsize::new(0), AtomicUsize::new(0)],
            submitted: AtomicUsize::new(0),
        }))
    }

    pub fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    pub fn snapshot(&self) -> Vec<Request> {
        self.records.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Sends the plan's requests, then waits until every one has its answer.
    pub async fn run(self: Arc<Self>, plan: Plan) {
        let plan = Arc::new(plan);
        let interval = Duration::from_secs_f64(1.0 / plan.rate_per_second.max(0.1));
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let until = Instant::now() + plan.duration;
        let mut seq = 0u64;
        while Instant::now() < until {
            tick.tick().await;
            let (this, plan) = (self.clone(), plan.clone());
            self.submitted.fetch_add(1, Ordering::Relaxed);
            self.in_flight.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let request = this.send(&plan, seq).await;
                this.records.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(request);
                this.in_flight.fetch_sub(1, Ordering::Relaxed);
            });
            seq += 1;
        }
        while self.in_flight.load(Ordering::Relaxed) > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The mix, in blocks of 8: sync ×4, callback ×2, async ×1, and one long command (sync in
    /// two blocks, callback in the next two, and so on).
    fn pick(seq: u64) -> (Kind, &'static Spec, bool) {
        let short = &SHORT[(seq / 8 % SHORT.len() as u64 + seq) as usize % SHORT.len()];
        match seq % 8 {
            0 | 2 | 4 | 6 => (Kind::Sync, short, false),
            1 | 5 => (Kind::Callback, short, false),
            3 => (Kind::Async, short, false),
            _ if (seq / 16).is_multiple_of(2) => (Kind::Sync, &LONG, true),
            _ => (Kind::Callback, &LONG, true),
        }
    }

    async fn send(&self, plan: &Plan, seq: u64) -> Request {
        let (kind, spec, long) = Self::pick(seq);
        let timeout = if long { plan.long_timeout } else { DEFAULT_TIMEOUT_SECONDS };
        let correlation_id = format!("{}-{seq}", plan.tag);
        let mut body =
            json!({"cluster_id": CLUSTER_ID, "command_type": spec.command_type, "args": spec.args});
        if let Some(ns) = spec.namespace {
            body["namespace"] = json!(ns);
        }
        if kind == Kind::Callback {
            body["callback_url"] = json!(format!("{}/{seq}", plan.callback_base));
        }
        let path = if kind == Kind::Sync { "/debug/execute" } else { "/debug/execute/async" };
        let sent = self.now();
        // Alternating, and flipped every block, so every kind reaches both gateways.
        let first = (seq + seq / 8) as usize % self.urls.len();
        let mut request = Request {
            seq,
            kind,
            label: spec.label,
            long,
            timeout,
            gateway: first,
            rerouted: false,
            correlation_id: correlation_id.clone(),
            sent,
            done: sent,
            outcome: Outcome::Unreachable,
        };
        for attempt in 0..self.urls.len() {
            let gateway = (first + attempt) % self.urls.len();
            let mut call = self
                .http
                .post(format!("{}{path}", self.urls[gateway]))
                .header("X-API-Key", API_KEY)
                .header("X-Correlation-ID", &correlation_id)
                .timeout(Duration::from_secs(timeout + 30))
                .json(&body);
            if long {
                call = call.header("X-Request-Timeout", timeout.to_string());
            }
            request.gateway = gateway;
            request.rerouted = attempt > 0;
            self.in_flight_at[gateway % 2].fetch_add(1, Ordering::Relaxed);
            let sent = call.send().await;
            self.in_flight_at[gateway % 2].fetch_sub(1, Ordering::Relaxed);
            match sent {
                Err(e) if e.is_connect() => continue,
                Err(e) => {
                    request.outcome = Outcome::Broken { error: error_chain(&e) };
                    break;
                }
                Ok(resp) => {
                    let code = resp.status().as_u16();
                    let text = resp.text().await;
                    request.outcome = match text {
                        Err(e) => Outcome::Broken { error: error_chain(&e) },
                        Ok(text) => outcome_of(kind, code, &text),
                    };
                    break;
                }
            }
        }
        request.done = self.now();
        request
    }
}

fn outcome_of(kind: Kind, code: u16, text: &str) -> Outcome {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let id = v["command_id"].as_str().and_then(|s| Uuid::parse_str(s).ok());
    match (kind, code, id) {
        (Kind::Sync, 200, Some(command_id)) => {
            Outcome::Answered { command_id, status: v["status"].as_str().unwrap_or_default().to_string() }
        }
        (Kind::Callback | Kind::Async, 202, Some(command_id)) => Outcome::Accepted {
            command_id,
            callback_secret: v["callback_secret"].as_str().map(str::to_string),
        },
        _ => Outcome::Refused { code, body: text.chars().take(300).collect() },
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
