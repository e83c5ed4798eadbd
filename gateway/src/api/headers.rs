//! The agent-to-agent headers every door honours.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::api::models::parse_timeout_header;
use crate::error::ApiError;
use crate::AppState;

pub const CORRELATION_ID: &str = "x-correlation-id";
pub const SERVICE_IDENTITY: &str = "x-service-identity";
pub const REQUEST_TIMEOUT: &str = "x-request-timeout";
const MAX_HEADER_CHARS: usize = 256;

/// `X-Correlation-ID`, `X-Service-Identity`, `X-Request-Timeout` (validated: 422 when out of range).
#[derive(Debug, Default, Clone)]
pub struct AgentHeaders {
    pub correlation_id: Option<String>,
    pub service_identity: Option<String>,
    pub request_timeout: Option<u64>,
}

impl FromRequestParts<Arc<AppState>> for AgentHeaders {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        Self::from_headers(&parts.headers)
    }
}

impl AgentHeaders {
    /// Reads and validates the headers (MCP and A2A read them from the request they came in).
    pub fn from_headers(headers: &axum::http::HeaderMap) -> Result<Self, ApiError> {
        let text = |name: &'static str| -> Result<Option<String>, ApiError> {
            match headers.get(name) {
                None => Ok(None),
                Some(v) => match v.to_str() {
                    Ok(s) if s.len() <= MAX_HEADER_CHARS => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
                    _ => Err(ApiError::field(&["header", name], "string_type", format!("{name} must be printable ASCII, at most {MAX_HEADER_CHARS} characters"), serde_json::Value::Null)),
                },
            }
        };
        let request_timeout = text(REQUEST_TIMEOUT)?.map(|v| parse_timeout_header(&v)).transpose()?;
        Ok(Self { correlation_id: text(CORRELATION_ID)?, service_identity: text(SERVICE_IDENTITY)?, request_timeout })
    }
}
