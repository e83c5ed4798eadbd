//! How full every stream and bucket is: read every `storage.check_interval_seconds`, exported as
//! metrics, and a warning when one passes `storage.warn_at_percent` of its limit (again every
//! [`REWARN_AFTER`] while it stays there; an info line when it drops back).

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use async_nats::jetstream::{self, stream::DiscardPolicy};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::time::Instant;

/// A stream that stays above the warning level is warned about again after this long.
pub const REWARN_AFTER: Duration = Duration::from_secs(3600);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StreamLabels {
    pub stream: String,
}

/// `kubently_stream_*`: per stream or bucket (label `stream`, the JetStream stream name).
#[derive(Debug, Default)]
pub struct StorageMetrics {
    pub bytes: Family<StreamLabels, Gauge>,
    pub limit_bytes: Family<StreamLabels, Gauge>,
    pub messages: Family<StreamLabels, Gauge>,
    pub fill_ratio: Family<StreamLabels, Gauge<f64, AtomicU64>>,
    pub limit_warnings: Family<StreamLabels, Counter>,
}

impl StorageMetrics {
    /// Registers the metrics in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register("stream_bytes", "Bytes a stream or bucket holds", metrics.bytes.clone());
        registry.register(
            "stream_limit_bytes",
            "A stream's or bucket's size limit (max_bytes)",
            metrics.limit_bytes.clone(),
        );
        registry.register("stream_messages", "Messages a stream or bucket holds", metrics.messages.clone());
        registry.register(
            "stream_fill_ratio",
            "Bytes held / size limit (at 1 the oldest records are dropped, or writes refused)",
            metrics.fill_ratio.clone(),
        );
        registry.register(
            "stream_limit_warnings",
            "Warnings that a stream or bucket passed storage.warn_at_percent of its limit",
            metrics.limit_warnings.clone(),
        );
        metrics
    }
}

/// One reading of a stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fill {
    pub bytes: u64,
    pub messages: u64,
    pub max_bytes: i64,
}

impl Fill {
    /// Bytes held over the limit; `None` when the stream has no limit.
    pub fn ratio(&self) -> Option<f64> {
        (self.max_bytes > 0).then(|| self.bytes as f64 / self.max_bytes as f64)
    }
}

/// What happens to a stream at its limit, in the warning's words.
fn at_limit(discard: DiscardPolicy) -> &'static str {
    match discard {
        DiscardPolicy::Old => "its oldest records are dropped",
        DiscardPolicy::New => "new writes are refused",
    }
}

/// Watches the size of `streams` (every stream and bucket the gateway provisioned).
pub struct StorageWatch {
    pub js: jetstream::Context,
    pub streams: Vec<String>,
    pub warn_at: f64,
    pub interval: Duration,
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
}

impl StorageWatch {
    /// Checks every interval, forever.
    pub async fn run(self) {
        let mut warned: HashMap<String, Instant> = HashMap::new();
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.check(&mut warned).await;
        }
    }

    /// One round: reads each stream, updates the metrics, warns.
    pub async fn check(&self, warned: &mut HashMap<String, Instant>) {
        for name in &self.streams {
            let info = match self.js.get_stream(name).await {
                Ok(stream) => stream.cached_info().clone(),
                Err(e) => {
                    tracing::debug!(stream = name, error = %e, "cannot read the stream's size");
                    continue;
                }
            };
            let fill = Fill {
                bytes: info.state.bytes,
                messages: info.state.messages,
                max_bytes: info.config.max_bytes,
            };
            self.record(name, &fill);
            let above = fill.ratio().is_some_and(|r| r >= self.warn_at);
            match (above, warned.get(name)) {
                (true, Some(at)) if at.elapsed() < REWARN_AFTER => {}
                (true, _) => {
                    self.warn(name, &fill, info.config.discard);
                    warned.insert(name.clone(), Instant::now());
                }
                (false, Some(_)) => {
                    tracing::info!(
                        stream = name,
                        bytes = fill.bytes,
                        max_bytes = fill.max_bytes,
                        "the stream is below its warning level again"
                    );
                    warned.remove(name);
                }
                (false, None) => {}
            }
        }
    }

    fn record(&self, name: &str, fill: &Fill) {
        let storage = &self.metrics.storage;
        let labels = StreamLabels { stream: name.to_string() };
        storage.bytes.get_or_create(&labels).set(i64::try_from(fill.bytes).unwrap_or(i64::MAX));
        storage.messages.get_or_create(&labels).set(i64::try_from(fill.messages).unwrap_or(i64::MAX));
        storage.limit_bytes.get_or_create(&labels).set(fill.max_bytes);
        if let Some(ratio) = fill.ratio() {
            storage.fill_ratio.get_or_create(&labels).set(ratio);
        }
    }

    fn warn(&self, name: &str, fill: &Fill, discard: DiscardPolicy) {
        self.metrics.storage.limit_warnings.get_or_create(&StreamLabels { stream: name.to_string() }).inc();
        tracing::warn!(
            stream = name,
            bytes = fill.bytes,
            max_bytes = fill.max_bytes,
            percent = (fill.ratio().unwrap_or_default() * 100.0).round(),
            at_limit = at_limit(discard),
            "a stream is near its size limit: at the limit {}; raise its storage.*.max_bytes (and nats-server's \
             max_file_store) or shorten its retention",
            at_limit(discard)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_ratio_needs_a_limit() {
        assert_eq!(Fill { bytes: 80, messages: 1, max_bytes: 100 }.ratio(), Some(0.8));
        assert_eq!(Fill { bytes: 80, messages: 1, max_bytes: -1 }.ratio(), None);
        assert_eq!(at_limit(DiscardPolicy::Old), "its oldest records are dropped");
    }
}
