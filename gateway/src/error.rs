//! Every HTTP error goes through [`ApiError`]: Kubently's (FastAPI-shaped) JSON bodies —
//! `{"detail": "..."}`, and `{"detail": [{type, loc, msg, input}]}` with 422 for validation — and
//! server-side failures logged with their whole error chain.

use axum::extract::rejection::JsonRejection;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// One validation problem: where (`["body", "ttl_seconds"]`), what, and the offending input.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FieldError {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub loc: Vec<String>,
    pub msg: String,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub input: Value,
}

impl FieldError {
    pub fn new(loc: &[&str], kind: &'static str, msg: impl Into<String>, input: Value) -> Self {
        Self { kind, loc: loc.iter().map(|s| s.to_string()).collect(), msg: msg.into(), input }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Missing API key")]
    MissingApiKey,
    #[error("Invalid API key")]
    InvalidApiKey,
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn field(loc: &[&str], kind: &'static str, msg: impl Into<String>, input: Value) -> Self {
        Self::Validation(vec![FieldError::new(loc, kind, msg, input)])
    }

    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        Self::Internal(anyhow::anyhow!("{context}: {err}"))
    }

    /// One sentence for an agent (MCP tool errors, A2A status messages): validation problems
    /// with the field they concern; internal details stay in the log.
    pub fn for_agent(&self) -> String {
        match self {
            Self::Validation(errors) => errors
                .iter()
                .map(|f| format!("{} ({}): {}", f.loc.last().map_or("input", String::as_str), f.loc.join("."), f.msg))
                .collect::<Vec<_>>()
                .join("; "),
            Self::Internal(_) => "Kubently hit an internal error (details in the gateway log); try again".into(),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            Self::MissingApiKey | Self::InvalidApiKey => {
                let body = Json(json!({"detail": self.to_string()}));
                return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "ApiKey")], body).into_response();
            }
            Self::Validation(errors) => (StatusCode::UNPROCESSABLE_ENTITY, json!({"detail": errors})),
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, json!({"detail": m})),
            Self::Forbidden(m) => (StatusCode::FORBIDDEN, json!({"detail": m})),
            Self::NotFound(m) => (StatusCode::NOT_FOUND, json!({"detail": m})),
            Self::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, json!({"detail": m})),
            Self::Internal(e) => {
                let id = uuid::Uuid::new_v4();
                tracing::error!(error_id = %id, error = format!("{e:#}"), "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, json!({"detail": format!("internal error (id {id}; details in the gateway log)")}))
            }
        };
        (status, Json(body)).into_response()
    }
}

/// Malformed JSON bodies become 422s that say what was wrong, like the rest of validation.
impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let kind = match &rejection {
            JsonRejection::JsonDataError(_) => "value_error",
            JsonRejection::JsonSyntaxError(_) => "json_invalid",
            JsonRejection::MissingJsonContentType(_) => "content_type",
            _ => "body",
        };
        Self::field(&["body"], kind, rejection.body_text(), Value::Null)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
