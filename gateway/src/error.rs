//! Which error type belongs in which layer of the gateway:
//!
//! * [`crate::Error`] (`lib.rs`): building and running the gateway (configuration, bind, NATS at
//!   start-up). Only `startup` and `main` see it.
//! * [`AppError`] (here): what the application layer (`crate::app`) answers a caller when a
//!   request cannot be served: the caller's mistake (validation, not found, forbidden), a
//!   dependency that is down (`Unavailable`, with the NATS error as its source) or a bug
//!   (`Internal`, with its cause kept). It is door-neutral: its `IntoResponse` (below) is the
//!   HTTP answer of REST and of the HTTP-level refusals of every door (and logs the whole cause
//!   chain); MCP turns it into a tool error and A2A into a task state, both through
//!   [`AppError::for_agent`].
//! * Module errors of the machinery below the application layer
//!   ([`crate::webhooks::WebhookError`], [`crate::session_store::StoreError`],
//!   [`crate::audit::AuditReadError`], [`crate::settings::SettingsError`],
//!   `kubently_shared::Error`): typed, with `#[source]`; the application layer wraps them into
//!   `AppError::Unavailable`/`Internal` (see [`AppError::nats`], [`AppError::internal`]), never
//!   formats them into strings.

use serde_json::Value;

/// A boxed cause, kept as the `#[source]` of an [`AppError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

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
pub enum AppError {
    /// No valid credentials: a 401 whose `WWW-Authenticate` names each accepted scheme.
    #[error("{detail}")]
    Unauthorized { detail: String, challenges: Vec<axum::http::HeaderValue> },
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The request body is larger than `server.max_body_bytes`.
    #[error("{0}")]
    TooLarge(String),
    /// A dependency (NATS) did not do its part; the caller may retry.
    #[error("{what} (NATS): {source}")]
    Unavailable {
        what: &'static str,
        #[source]
        source: BoxError,
    },
    /// A token issuer's keys could not be fetched; the caller may retry.
    #[error("cannot verify the token: {0}")]
    IssuerUnavailable(String),
    /// A bug or a corrupt record: logged with its cause, the caller sees an error id.
    #[error("internal error: {context}")]
    Internal {
        context: &'static str,
        #[source]
        source: BoxError,
    },
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn field(loc: &[&str], kind: &'static str, msg: impl Into<String>, input: Value) -> Self {
        Self::Validation(vec![FieldError::new(loc, kind, msg, input)])
    }

    /// `map_err(AppError::internal("reading the session"))`: keeps the cause.
    pub fn internal<E: Into<BoxError>>(context: &'static str) -> impl FnOnce(E) -> Self {
        move |e| Self::Internal { context, source: e.into() }
    }

    /// `map_err(AppError::nats("cannot queue the command"))`: NATS did not answer or refused;
    /// a 503 that says what could not be done.
    pub fn nats<E: Into<BoxError>>(what: &'static str) -> impl FnOnce(E) -> Self {
        move |e| Self::Unavailable { what, source: e.into() }
    }

    /// The caller asked for something impossible (as opposed to the gateway failing).
    pub fn is_callers_fault(&self) -> bool {
        matches!(
            self,
            Self::Validation(_)
                | Self::NotFound(_)
                | Self::BadRequest(_)
                | Self::Forbidden(_)
                | Self::TooLarge(_)
                | Self::Unauthorized { .. }
        )
    }

    /// One sentence for an agent (MCP tool errors, A2A status messages): validation problems
    /// with the field they concern; internal details stay in the log.
    pub fn for_agent(&self) -> String {
        match self {
            Self::Validation(errors) => errors
                .iter()
                .map(|f| {
                    format!(
                        "{} ({}): {}",
                        f.loc.last().map_or("input", String::as_str),
                        f.loc.join("."),
                        f.msg
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            Self::Internal { .. } => {
                "Kubently hit an internal error (details in the gateway log); try again".into()
            }
            other => other.to_string(),
        }
    }
}

/// `error: cause: cause…`, for logs.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The HTTP face of an [`AppError`], for every door's HTTP-level refusals: Kubently's
/// (FastAPI-shaped) bodies — `{"detail": "..."}`, and `{"detail": [{type, loc, msg, input}]}`
/// with 422 for validation — and server-side failures logged with their whole cause chain.
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        use axum::Json;
        use axum::http::{StatusCode, header};
        use serde_json::json;
        let (status, body) = match &self {
            Self::Unauthorized { detail, challenges } => {
                let mut response =
                    (StatusCode::UNAUTHORIZED, Json(json!({"detail": detail}))).into_response();
                for challenge in challenges {
                    response.headers_mut().append(header::WWW_AUTHENTICATE, challenge.clone());
                }
                return response;
            }
            Self::IssuerUnavailable(_) => {
                tracing::warn!(error = %self, "request failed: a token issuer is unavailable");
                (StatusCode::SERVICE_UNAVAILABLE, json!({"detail": self.to_string()}))
            }
            Self::Validation(errors) => (StatusCode::UNPROCESSABLE_ENTITY, json!({"detail": errors})),
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, json!({"detail": m})),
            Self::Forbidden(m) => (StatusCode::FORBIDDEN, json!({"detail": m})),
            Self::NotFound(m) => (StatusCode::NOT_FOUND, json!({"detail": m})),
            Self::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, json!({"detail": m})),
            Self::Unavailable { .. } => {
                // The cause is part of the message (the caller sees it too).
                tracing::warn!(error = %self, "request failed: a dependency is unavailable");
                (StatusCode::SERVICE_UNAVAILABLE, json!({"detail": self.to_string()}))
            }
            Self::Internal { .. } => {
                let id = uuid::Uuid::new_v4();
                tracing::error!(error_id = %id, error = chain(&self), "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"detail": format!("internal error (id {id}; details in the gateway log)")}),
                )
            }
        };
        (status, Json(body)).into_response()
    }
}

/// Malformed JSON bodies become 422s that say what was wrong, like the rest of validation; a body
/// over the size limit is a 413.
impl From<axum::extract::rejection::JsonRejection> for AppError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        use axum::extract::rejection::JsonRejection;
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            return Self::TooLarge(too_large());
        }
        let kind = match &rejection {
            JsonRejection::JsonDataError(_) => "value_error",
            JsonRejection::JsonSyntaxError(_) => "json_invalid",
            JsonRejection::MissingJsonContentType(_) => "content_type",
            _ => "body",
        };
        Self::field(&["body"], kind, rejection.body_text(), Value::Null)
    }
}

/// Query strings that do not parse (`?limit=-1`, `?limit=abc`) are 422s like body errors.
impl From<axum::extract::rejection::QueryRejection> for AppError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        Self::field(&["query"], "query", rejection.body_text(), Value::Null)
    }
}

pub fn too_large() -> String {
    "the request body is larger than this gateway accepts (server.max_body_bytes)".into()
}
