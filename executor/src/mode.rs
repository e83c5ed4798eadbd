//! Fast or slow fetching, following the cluster-active key: the gateway sets it (per-key TTL) on
//! every session and execute; its expiry or deletion switches back to slow at once.
//!
//! The executor may name only its own cluster's key on the bus, so it does not open a KV watch
//! (a consumer on the whole bucket): it subscribes to the key's subject (`$KV.<bucket>.<cluster>`,
//! where every write of the key is published), reads the key once by a direct get, and computes
//! the expiry from each write's `Nats-TTL`. When that time comes it reads the key again (a
//! refresh missed during a reconnect extends it) before switching to slow.

use std::time::Duration;

use async_nats::HeaderMap;
use futures::StreamExt;
use kubently_shared::kv_ttl::{Bucket, ScopedBucket};
use kubently_shared::names::{HEADER_KV_OPERATION, HEADER_MARKER_REASON, HEADER_TTL};
use kubently_shared::protocol::FetchMode;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::time::Instant;

/// How far ahead "never expires" is put.
const FOREVER: Duration = Duration::from_secs(365 * 24 * 3600);

/// Follows `cluster_id`'s key and publishes the mode; resubscribes if the subscription breaks.
pub async fn follow(
    nats: async_nats::Client,
    bucket: ScopedBucket,
    cluster_id: String,
    tx: watch::Sender<FetchMode>,
) {
    let subject = format!("{}{cluster_id}", bucket.key_prefix());
    loop {
        match nats.subscribe(subject.clone()).await {
            Ok(mut writes) => {
                // Subscribed first, read second: no write can fall in between.
                let mut until = read_current(&bucket, &subject).await;
                loop {
                    set(&tx, mode_at(until));
                    let wake = until.filter(|u| *u > Instant::now());
                    tokio::select! {
                        write = writes.next() => match write {
                            Some(msg) => until = active_until(msg.headers.as_ref(), Instant::now()),
                            None => break,
                        },
                        _ = sleep_until(wake), if wake.is_some() => {
                            until = read_current(&bucket, &subject).await;
                        }
                    }
                    if tx.is_closed() {
                        return;
                    }
                }
                tracing::warn!("the cluster-active subscription ended; resubscribing");
            }
            Err(e) => tracing::warn!(error = %e, "cannot follow the cluster-active key; retrying"),
        }
        if tx.is_closed() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

fn set(tx: &watch::Sender<FetchMode>, mode: FetchMode) {
    if *tx.borrow() != mode {
        tracing::info!(?mode, "fetch mode changed");
    }
    tx.send_replace(mode);
}

fn mode_at(until: Option<Instant>) -> FetchMode {
    match until {
        Some(u) if u > Instant::now() => FetchMode::Fast,
        _ => FetchMode::Slow,
    }
}

/// The key's current state: active until when (from its write time and TTL), or `None`.
async fn read_current(bucket: &ScopedBucket, subject: &str) -> Option<Instant> {
    match bucket.read_last(subject.to_string()).await {
        Ok(Some(message)) => {
            let age = (OffsetDateTime::now_utc() - message.time).try_into().unwrap_or(Duration::ZERO);
            let now = Instant::now();
            active_until(Some(&message.headers), now.checked_sub(age).unwrap_or(now))
        }
        Ok(None) => None,
        Err(e) => {
            // Unknown: stay fast for a moment and look again (fast only costs polls).
            tracing::warn!(error = %e, "cannot read the cluster-active key");
            Some(Instant::now() + Duration::from_secs(1))
        }
    }
}

/// Until when a write made at `written` keeps the cluster active: `None` for a delete, purge or
/// expiry marker; its TTL after `written` otherwise (no TTL or `never`: indefinitely).
fn active_until(headers: Option<&HeaderMap>, written: Instant) -> Option<Instant> {
    let header = |name: &str| headers.and_then(|h| h.get(name)).map(|v| v.as_str().to_string());
    if matches!(header(HEADER_KV_OPERATION).as_deref(), Some("DEL" | "PURGE"))
        || header(HEADER_MARKER_REASON).is_some()
    {
        return None;
    }
    let ttl = header(HEADER_TTL).map_or(Some(FOREVER), |v| parse_ttl(&v));
    Some(written + ttl.unwrap_or(FOREVER))
}

/// A `Nats-TTL` value: `30s`, `5m`, `1h`, `30` (seconds) or `never` (`None`).
fn parse_ttl(value: &str) -> Option<Duration> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("never") {
        return None;
    }
    let digits = value.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let n: u64 = digits.parse().ok()?;
    let unit = match &value[digits.len()..] {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return None,
    };
    Some(Duration::from_secs(n.saturating_mul(unit)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_parse_as_nats_writes_them() {
        assert_eq!(parse_ttl("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_ttl("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_ttl("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_ttl("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("never"), None);
        assert_eq!(parse_ttl("soon"), None);
    }

    #[test]
    fn markers_end_activity_and_ttls_bound_it() {
        let now = Instant::now();
        let mut headers = HeaderMap::new();
        headers.insert(HEADER_TTL, "30s");
        assert_eq!(active_until(Some(&headers), now), Some(now + Duration::from_secs(30)));
        headers.insert(HEADER_MARKER_REASON, "MaxAge");
        assert_eq!(active_until(Some(&headers), now), None);
        let mut deleted = HeaderMap::new();
        deleted.insert(HEADER_KV_OPERATION, "DEL");
        assert_eq!(active_until(Some(&deleted), now), None);
        assert_eq!(active_until(None, now), Some(now + FOREVER));
    }
}
