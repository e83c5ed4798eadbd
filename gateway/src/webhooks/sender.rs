//! One signed HTTP POST of one webhook message, and what its answer means.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kubently_shared::names::{HEADER_WEBHOOK_ID, HEADER_WEBHOOK_SIGNATURE, HEADER_WEBHOOK_TIMESTAMP};
use kubently_shared::protocol::Event;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::WebhookError;
use super::signing::SigningSecret;
use super::target::{GuardedResolver, TargetPolicy};

/// How much of a failing receiver's answer is kept as the delivery's last error.
const ERROR_BODY_BYTES: usize = 256;

/// What an attempt's answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Delivered,
    /// 410 Gone: the subscriber wants no more deliveries.
    Gone,
    /// Anything else (other status, timeout, connection failure): try again later.
    Retry,
}

impl Outcome {
    /// `delivered`, `gone` or `failed` (metrics and the attempt views).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Gone => "gone",
            Self::Retry => "failed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Attempt {
    pub outcome: Outcome,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration: Duration,
}

/// The Standard Webhooks body: `{type, timestamp, data}`; `data` carries the event's fields plus
/// its `cluster_id` and `event_id`.
pub fn event_body(event: &Event) -> Bytes {
    let mut data = match &event.data {
        Value::Object(m) => m.clone(),
        Value::Null => serde_json::Map::new(),
        other => serde_json::Map::from_iter([("value".to_string(), other.clone())]),
    };
    data.entry("cluster_id").or_insert_with(|| json!(event.cluster_id));
    data.insert("event_id".into(), json!(event.id));
    body(event.event_type.as_str(), event.timestamp, Value::Object(data))
}

/// `{type, timestamp, data}` as bytes.
pub fn body(event_type: &str, timestamp: OffsetDateTime, data: Value) -> Bytes {
    let ts = timestamp.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    Bytes::from(json!({"type": event_type, "timestamp": ts, "data": data}).to_string())
}

/// Posts webhook messages: no redirects (a redirect could point anywhere), addresses checked by
/// [`TargetPolicy`] at resolution time, a per-attempt timeout.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    policy: TargetPolicy,
}

impl Sender {
    pub fn new(policy: TargetPolicy, timeout: Duration) -> Result<Self, WebhookError> {
        // reqwest is built without a bundled crypto provider; use ring, like the rest of the
        // workspace (a no-op if one is already installed).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(GuardedResolver::shared(policy))
            .user_agent(concat!("Kubently-Webhooks/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(WebhookError::Client)?;
        Ok(Self { client, policy })
    }

    pub fn policy(&self) -> TargetPolicy {
        self.policy
    }

    /// One attempt: signs `body` under `msg_id` with a fresh timestamp and posts it.
    pub async fn send(&self, url: &str, secret: &SigningSecret, msg_id: &str, body: Bytes) -> Attempt {
        let timestamp = OffsetDateTime::now_utc().unix_timestamp();
        let signature = secret.sign(msg_id, timestamp, &body);
        let headers = [
            (HEADER_WEBHOOK_ID, msg_id.to_string()),
            (HEADER_WEBHOOK_TIMESTAMP, timestamp.to_string()),
            (HEADER_WEBHOOK_SIGNATURE, signature),
        ];
        self.post(url, &headers, body).await
    }

    /// One attempt of a JSON POST with `headers` (A2A push notifications carry their own token
    /// instead of a signature).
    pub async fn post(&self, url: &str, headers: &[(&str, String)], body: Bytes) -> Attempt {
        let started = Instant::now();
        let done = |outcome, status_code, error: Option<String>| Attempt {
            outcome,
            status_code,
            error,
            duration: started.elapsed(),
        };
        // Literal-IP URLs skip DNS, so the policy is re-checked here too.
        if let Err(e) = self.policy.check_url(url) {
            return done(Outcome::Retry, None, Some(format!("target refused: {e}")));
        }
        let mut request =
            self.client.post(url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await;
        match response {
            Ok(r) if r.status().is_success() => done(Outcome::Delivered, Some(r.status().as_u16()), None),
            Ok(r) if r.status() == reqwest::StatusCode::GONE => done(Outcome::Gone, Some(410), None),
            Ok(r) => {
                let code = r.status().as_u16();
                let text = r.text().await.unwrap_or_default();
                let excerpt: String = text.chars().take(ERROR_BODY_BYTES).collect();
                done(
                    Outcome::Retry,
                    Some(code),
                    Some(
                        format!("receiver answered {code}: {excerpt}")
                            .trim_end_matches([' ', ':'])
                            .to_string(),
                    ),
                )
            }
            Err(e) => done(Outcome::Retry, None, Some(describe(&e))),
        }
    }
}

/// A reqwest error with its cause chain (the top-level message alone is "error sending request").
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    match std::error::Error::source(e) {
        Some(cause) => format!("{kind}: {}", crate::error::chain(cause)),
        None => kind.to_string(),
    }
}

/// The wait before attempt `attempt + 1` (`attempt` ≥ 1 attempts made so far): the schedule's
/// entry, ±20 % jitter so a burst of failures does not come back in step.
pub fn backoff(schedule: &[Duration], attempt: u32, jitter: f64) -> Duration {
    let base = schedule
        .get(attempt.saturating_sub(1) as usize)
        .or(schedule.last())
        .copied()
        .unwrap_or(Duration::from_secs(5));
    base.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubently_shared::protocol::EventType;

    #[test]
    fn backoff_follows_the_schedule_with_jitter() {
        let s = [Duration::from_secs(5), Duration::from_secs(300)];
        assert_eq!(backoff(&s, 1, 0.5), Duration::from_secs(5));
        assert_eq!(backoff(&s, 2, 0.0), Duration::from_secs(240));
        assert_eq!(backoff(&s, 2, 1.0), Duration::from_secs(360));
        assert_eq!(backoff(&s, 9, 0.5), Duration::from_secs(300));
    }

    #[test]
    fn the_body_is_type_timestamp_data() {
        let event = Event::new(
            EventType::ClusterDisconnected,
            "prod",
            json!({"revision": 3}),
            time::macros::datetime!(2026-01-02 03:04:05 UTC),
        );
        let body: Value = serde_json::from_slice(&event_body(&event)).expect("json");
        assert_eq!(body["type"], "cluster.disconnected");
        assert_eq!(body["timestamp"], "2026-01-02T03:04:05Z");
        assert_eq!(body["data"]["cluster_id"], "prod");
        assert_eq!(body["data"]["revision"], 3);
        assert_eq!(body["data"]["event_id"], json!(event.id));
    }
}
