//! Request and response bodies of the REST API, in upstream Kubently's shapes, with their
//! validation (422 with `loc`/`msg`, like FastAPI).

use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::error::{ApiError, FieldError};

pub const TTL_MIN: u32 = 60;
pub const TTL_MAX: u32 = 3600;
pub const TTL_DEFAULT: u32 = 300;
pub const HEADER_TIMEOUT_MAX: u64 = 60;
pub const MAX_ARGS: usize = 20;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionRequest {
    /// Lowercase letters, digits and `-`; 1–100 characters.
    pub cluster_id: String,
    #[serde(default)]
    pub user_id: Option<String>,
    /// Overridden by the `X-Correlation-ID` header.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// Overridden by the `X-Service-Identity` header.
    #[serde(default)]
    pub service_identity: Option<String>,
    /// Session lifetime, 60–3600 s (default 300). Every execute in the session extends it.
    #[serde(default = "default_ttl")]
    pub ttl_seconds: u32,
}

fn default_ttl() -> u32 {
    TTL_DEFAULT
}

impl CreateSessionRequest {
    pub fn validate(&self) -> Result<(), ApiError> {
        let mut errors = Vec::new();
        check_cluster_id(&self.cluster_id, &mut errors);
        if !(TTL_MIN..=TTL_MAX).contains(&self.ttl_seconds) {
            errors.push(FieldError::new(
                &["body", "ttl_seconds"],
                "range",
                format!("ttl_seconds must be between {TTL_MIN} and {TTL_MAX}"),
                json!(self.ttl_seconds),
            ));
        }
        finish(errors)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionResponse {
    pub session_id: String,
    pub cluster_id: String,
    /// `active`, `expired` or `ended`.
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Moves forward on every execute in the session.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
    pub ttl_seconds: u32,
    pub correlation_id: Option<String>,
    pub service_identity: Option<String>,
    pub command_count: u64,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteRequest {
    pub cluster_id: String,
    #[serde(default)]
    pub session_id: Option<String>,
    /// Overridden by the `X-Correlation-ID` header.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// get, describe, logs, top, events, version, api-resources, api-versions, explain, rollout, cluster-info.
    #[serde(default = "default_command_type")]
    pub command_type: String,
    /// Positional words and flags after the verb, one token per element (no shell parsing).
    #[serde(default)]
    pub args: Vec<String>,
    /// Namespace for namespaced resources; omit for the executor's default.
    #[serde(default)]
    pub namespace: Option<String>,
    /// 1 to the configured maximum (default 30); `X-Request-Timeout` (1–60) takes precedence.
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    #[serde(default)]
    pub extra_args: Option<Vec<String>>,
    /// Output budget in bytes (1 KiB–1 MiB; default 16 KiB ≈ 4 000 tokens). Longer outputs are
    /// cut at a line with a note; the rest is at `GET /debug/result/{command_id}?offset=`.
    #[serde(default)]
    pub output_budget: Option<u64>,
    /// Async only: where to post the result when it is final (Standard Webhooks signed, retried
    /// like subscriptions). http(s); internal addresses only if the deployment allows them.
    #[serde(default)]
    pub callback_url: Option<String>,
    /// Async only: the `whsec_…` secret to sign the callback with; generated (and returned once)
    /// when omitted.
    #[serde(default)]
    pub callback_secret: Option<String>,
}

fn default_command_type() -> String {
    "get".into()
}

impl ExecuteRequest {
    pub fn validate(&self, max_timeout: u64) -> Result<(), ApiError> {
        let mut errors = Vec::new();
        check_cluster_id(&self.cluster_id, &mut errors);
        if self.args.len() > MAX_ARGS {
            errors.push(FieldError::new(&["body", "args"], "too_long", format!("at most {MAX_ARGS} args"), json!(self.args.len())));
        }
        if self.extra_args.as_ref().is_some_and(|a| a.len() > MAX_ARGS) {
            errors.push(FieldError::new(&["body", "extra_args"], "too_long", format!("at most {MAX_ARGS} extra_args"), serde_json::Value::Null));
        }
        let (min, max) = (kubently_shared::budget::MIN_BUDGET_BYTES as u64, kubently_shared::budget::MAX_BUDGET_BYTES as u64);
        if let Some(b) = self.output_budget
            && !(min..=max).contains(&b)
        {
            errors.push(FieldError::new(&["body", "output_budget"], "range", format!("output_budget must be between {min} and {max} bytes"), json!(b)));
        }
        if let Some(t) = self.timeout_seconds
            && !(1..=max_timeout).contains(&t)
        {
            errors.push(FieldError::new(&["body", "timeout_seconds"], "range", format!("timeout_seconds must be between 1 and {max_timeout}"), json!(t)));
        }
        finish(errors)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CommandResponse {
    pub command_id: String,
    pub session_id: Option<String>,
    pub cluster_id: String,
    /// `success`, `failure` or `timeout`.
    pub status: String,
    pub correlation_id: Option<String>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub execution_time_ms: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub executed_at: OffsetDateTime,
    /// What the output is and whether it was cut (absent on timeouts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<OutputInfo>,
}

/// Says what an output is, how big, and whether (and where) the rest is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OutputInfo {
    pub verb: String,
    /// `Pod`, `Pod,Service`, `Log`, `Version`, …
    pub kind: Option<String>,
    pub rows: Option<u64>,
    /// Size and line count of the full output.
    pub bytes: u64,
    pub lines: u64,
    /// Size of `output` as returned, and its rough token cost (bytes / 4).
    pub returned_bytes: u64,
    pub tokens_estimate: u64,
    pub truncated: bool,
    /// Where the full output can be paged (`?offset=&limit=`).
    pub result_url: String,
}

/// `POST /debug/execute/async` → 202.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AsyncAccepted {
    pub command_id: String,
    /// Always `pending`.
    pub status: String,
    /// `GET` it for the result (`pending` until the executor answers).
    pub result_url: String,
    /// The secret the callback is signed with, when the gateway generated it (shown only here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_secret: Option<String>,
}

/// `GET /debug/result/{command_id}`: a page of a stored result.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResultPage {
    pub command_id: String,
    pub cluster_id: String,
    /// `pending`, `success`, `failure` or `timeout`.
    pub status: String,
    pub verb: Option<String>,
    pub error: Option<String>,
    pub execution_time_ms: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub executed_at: OffsetDateTime,
    /// This page of the full output.
    pub output: String,
    pub offset: u64,
    /// Where the next page starts; absent on the last page.
    pub next_offset: Option<u64>,
    pub total_bytes: u64,
    /// True when even the stored copy was cut (outputs over 4 MiB).
    pub stored_truncated: bool,
}

/// `X-Request-Timeout`: whole seconds, 1–60.
pub fn parse_timeout_header(value: &str) -> Result<u64, ApiError> {
    match value.trim().parse::<u64>() {
        Ok(t) if (1..=HEADER_TIMEOUT_MAX).contains(&t) => Ok(t),
        _ => Err(ApiError::field(
            &["header", "x-request-timeout"],
            "range",
            format!("X-Request-Timeout must be a whole number of seconds between 1 and {HEADER_TIMEOUT_MAX}"),
            json!(value),
        )),
    }
}

fn check_cluster_id(id: &str, errors: &mut Vec<FieldError>) {
    if let Err(msg) = kubently_shared::names::validate_cluster_id(id) {
        errors.push(FieldError::new(&["body", "cluster_id"], "string_pattern_mismatch", msg, json!(id)));
    }
}

fn finish(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() { Ok(()) } else { Err(ApiError::Validation(errors)) }
}
