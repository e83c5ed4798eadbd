//! Prometheus metrics, served at `GET /metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CommandLabels {
    pub cluster: String,
    pub verb: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerbLabels {
    pub verb: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    /// `subscription`, `callback` or `a2a_push`.
    pub kind: String,
    /// `delivered`, `gone` or `failed`.
    pub outcome: String,
}

pub struct Metrics {
    registry: Registry,
    pub commands: Family<CommandLabels, Counter>,
    pub latency: Family<VerbLabels, Histogram>,
    in_flight: Gauge,
    pub active_sessions: Gauge,
    pub connected_executors: Gauge,
    pub webhook_attempts: Family<WebhookLabels, Counter>,
    pub webhook_latency: Histogram,
    pub webhook_dead_letters: Counter,
    /// How full each stream and bucket is (`kubently_stream_*`).
    pub storage: crate::storage::watch::StorageMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("kubently");
        let commands = Family::<CommandLabels, Counter>::default();
        // 100 µs … ~100 s: our own overhead is sub-millisecond, commands may take seconds.
        let latency = Family::<VerbLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.0001, 2.5, 16))
        });
        let (in_flight, active_sessions, connected_executors) =
            (Gauge::default(), Gauge::default(), Gauge::default());
        registry.register("commands", "Commands by cluster, verb and final status", commands.clone());
        registry.register(
            "command_duration_seconds",
            "End-to-end command latency at the gateway",
            latency.clone(),
        );
        registry.register("commands_in_flight", "Commands waiting for their result", in_flight.clone());
        registry.register(
            "active_sessions",
            "Debug sessions that have not expired or ended",
            active_sessions.clone(),
        );
        registry.register(
            "connected_executors",
            "Executors with a live heartbeat",
            connected_executors.clone(),
        );
        let webhook_attempts = Family::<WebhookLabels, Counter>::default();
        let webhook_latency =
            Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.0005, 2.5, 14));
        let webhook_dead_letters = Counter::default();
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts by kind and outcome",
            webhook_attempts.clone(),
        );
        registry.register(
            "webhook_attempt_duration_seconds",
            "Time one webhook attempt took",
            webhook_latency.clone(),
        );
        registry.register(
            "webhook_dead_letters",
            "Webhook messages given up after the last attempt",
            webhook_dead_letters.clone(),
        );
        let storage = crate::storage::watch::StorageMetrics::register(&mut registry);
        Self {
            registry,
            storage,
            commands,
            latency,
            in_flight,
            active_sessions,
            connected_executors,
            webhook_attempts,
            webhook_latency,
            webhook_dead_letters,
        }
    }
}

/// One command waiting for its result: raises `commands_in_flight` until dropped (also when the
/// request is cancelled or fails half-way).
pub struct InFlight<'a>(&'a Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Metrics {
    pub fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.inc();
        InFlight(&self.in_flight)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        // Encoding into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// The exposition without cluster-labelled samples, for callers who may not see every
    /// tenant's activity.
    pub fn render_without_clusters(&self) -> String {
        self.render().lines().filter(|l| !l.contains("cluster=\"")).flat_map(|l| [l, "\n"]).collect()
    }

    pub fn record_command(&self, cluster: &str, verb: &str, status: &str, seconds: f64) {
        self.commands
            .get_or_create(&CommandLabels {
                cluster: cluster.into(),
                verb: verb.into(),
                status: status.into(),
            })
            .inc();
        self.latency.get_or_create(&VerbLabels { verb: verb.into() }).observe(seconds);
    }

    pub fn record_webhook(&self, kind: &str, outcome: &str, seconds: f64) {
        self.webhook_attempts
            .get_or_create(&WebhookLabels { kind: kind.into(), outcome: outcome.into() })
            .inc();
        self.webhook_latency.observe(seconds);
    }
}
