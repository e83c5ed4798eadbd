//! The agent-to-agent headers every door honours: `X-Correlation-ID`, `X-Service-Identity` and
//! `X-Request-Timeout` (MCP and A2A read them from the HTTP request they came in).

use serde_json::json;

use crate::error::{AppError, AppResult};

pub const CORRELATION_ID: &str = "x-correlation-id";
pub const SERVICE_IDENTITY: &str = "x-service-identity";
pub const REQUEST_TIMEOUT: &str = "x-request-timeout";
/// Largest `X-Request-Timeout`, in seconds.
pub const HEADER_TIMEOUT_MAX: u64 = 60;
const MAX_HEADER_CHARS: usize = 256;

/// The headers, validated (422 when out of range).
#[derive(Debug, Default, Clone)]
pub struct AgentHeaders {
    pub correlation_id: Option<String>,
    pub service_identity: Option<String>,
    pub request_timeout: Option<u64>,
}

impl AgentHeaders {
    pub fn from_headers(headers: &http::HeaderMap) -> AppResult<Self> {
        let text = |name: &'static str| -> AppResult<Option<String>> {
            match headers.get(name) {
                None => Ok(None),
                Some(v) => match v.to_str() {
                    Ok(s) if s.len() <= MAX_HEADER_CHARS => {
                        Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty()))
                    }
                    _ => Err(AppError::field(
                        &["header", name],
                        "string_type",
                        format!("{name} must be printable ASCII, at most {MAX_HEADER_CHARS} characters"),
                        serde_json::Value::Null,
                    )),
                },
            }
        };
        let request_timeout = text(REQUEST_TIMEOUT)?.map(|v| parse_timeout(&v)).transpose()?;
        Ok(Self {
            correlation_id: text(CORRELATION_ID)?,
            service_identity: text(SERVICE_IDENTITY)?,
            request_timeout,
        })
    }
}

/// `X-Request-Timeout`: whole seconds, 1–60.
fn parse_timeout(value: &str) -> AppResult<u64> {
    match value.trim().parse::<u64>() {
        Ok(t) if (1..=HEADER_TIMEOUT_MAX).contains(&t) => Ok(t),
        _ => Err(AppError::field(
            &["header", "x-request-timeout"],
            "range",
            format!("X-Request-Timeout must be a whole number of seconds between 1 and {HEADER_TIMEOUT_MAX}"),
            json!(value),
        )),
    }
}
