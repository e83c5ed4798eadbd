//! The door-neutral command request: what a caller asks for through REST, MCP or A2A, checked
//! (422s name the field) and parsed by the read-only policy into what [`super::commands`] runs.
//! A command the policy refuses is audited here and never reaches NATS.

use std::time::Duration;

use kubently_shared::budget::{MAX_BUDGET_BYTES, MIN_BUDGET_BYTES};
use kubently_shared::policy::{self, CommandInput, KubectlRequest};
use serde_json::{Value, json};

use super::headers::AgentHeaders;
use crate::AppState;
use crate::audit::AuditEntry;
use crate::auth::Caller;
use crate::error::{AppError, AppResult, FieldError};
use crate::webhooks::signing::SigningSecret;

/// Most `args` (and `extra_args`) one command may have.
pub const MAX_ARGS: usize = 20;

/// A command as a caller asks for it.
#[derive(Debug, Clone, Default)]
pub struct CommandRequest {
    pub cluster_id: String,
    pub session_id: Option<String>,
    /// Overridden by the `X-Correlation-ID` header.
    pub correlation_id: Option<String>,
    pub command_type: String,
    /// Positional words and flags after the verb, one token per element.
    pub args: Vec<String>,
    pub extra_args: Option<Vec<String>>,
    pub namespace: Option<String>,
    /// `X-Request-Timeout` takes precedence.
    pub timeout_seconds: Option<u64>,
    /// Bytes; the deployment's default when `None`.
    pub output_budget: Option<u64>,
    /// Async only: where to post the final result, and the secret to sign it with.
    pub callback_url: Option<String>,
    pub callback_secret: Option<String>,
}

/// A checked command, ready to run.
pub struct ExecuteInput {
    pub cluster_id: String,
    pub session_id: Option<String>,
    pub correlation_id: Option<String>,
    pub request: KubectlRequest,
    /// The canonical kubectl words of the request (audit).
    pub typed: String,
    pub timeout: Duration,
    /// Bytes; the deployment's default when `None`.
    pub output_budget: Option<u64>,
    /// Async only: post the final result here.
    pub callback: Option<Callback>,
}

/// Where and how to post an async command's final result.
pub struct Callback {
    pub url: String,
    pub secret: SigningSecret,
    /// The gateway made the secret (the 202 shows it once).
    pub generated: bool,
}

/// A command checked once for many clusters (fan-out): everything of an [`ExecuteInput`] but the
/// cluster, the session and the output budget.
pub struct CheckedCommand {
    pub correlation_id: Option<String>,
    pub request: KubectlRequest,
    /// The canonical kubectl words of the request (audit).
    pub typed: String,
    pub timeout: Duration,
}

impl CheckedCommand {
    /// The command for one cluster, sessionless, with `output_budget` bytes.
    pub fn on(&self, cluster_id: &str, output_budget: u64) -> ExecuteInput {
        ExecuteInput {
            cluster_id: cluster_id.to_string(),
            session_id: None,
            correlation_id: self.correlation_id.clone(),
            request: self.request.clone(),
            typed: self.typed.clone(),
            timeout: self.timeout,
            output_budget: Some(output_budget),
            callback: None,
        }
    }
}

impl CommandRequest {
    fn validate(&self, max_timeout: u64) -> AppResult<()> {
        let mut errors = Vec::new();
        check_cluster_id(&self.cluster_id, &mut errors);
        self.check_fields(max_timeout, &mut errors);
        finish(errors)
    }

    /// Every field but `cluster_id` (a fan-out names its clusters otherwise).
    pub(super) fn check_fields(&self, max_timeout: u64, errors: &mut Vec<FieldError>) {
        check_correlation_id(self.correlation_id.as_deref(), errors);
        if self.args.len() > MAX_ARGS {
            errors.push(FieldError::new(
                &["body", "args"],
                "too_long",
                format!("at most {MAX_ARGS} args"),
                json!(self.args.len()),
            ));
        }
        if self.extra_args.as_ref().is_some_and(|a| a.len() > MAX_ARGS) {
            errors.push(FieldError::new(
                &["body", "extra_args"],
                "too_long",
                format!("at most {MAX_ARGS} extra_args"),
                Value::Null,
            ));
        }
        let (min, max) = (MIN_BUDGET_BYTES as u64, MAX_BUDGET_BYTES as u64);
        if let Some(b) = self.output_budget
            && !(min..=max).contains(&b)
        {
            errors.push(FieldError::new(
                &["body", "output_budget"],
                "range",
                format!("output_budget must be between {min} and {max} bytes"),
                json!(b),
            ));
        }
        if let Some(t) = self.timeout_seconds
            && !(1..=max_timeout).contains(&t)
        {
            errors.push(FieldError::new(
                &["body", "timeout_seconds"],
                "range",
                format!("timeout_seconds must be between 1 and {max_timeout}"),
                json!(t),
            ));
        }
    }

    /// The command as the caller typed it (audit of refused commands).
    fn typed(&self) -> String {
        let mut words = vec![self.command_type.clone()];
        words.extend(self.args.iter().cloned());
        words.extend(self.extra_args.iter().flatten().cloned());
        if let Some(ns) = &self.namespace {
            words.push(format!("(namespace {ns})"));
        }
        words.join(" ")
    }
}

/// Validation and the read-only policy, the same for every door.
pub fn prepare(
    state: &AppState,
    caller: &Caller,
    headers: AgentHeaders,
    req: CommandRequest,
) -> AppResult<ExecuteInput> {
    req.validate(state.settings.commands.max_timeout_seconds)?;
    let checked = check(state, caller, headers, &req, std::slice::from_ref(&req.cluster_id))?;
    let callback = callback(state, &req)?;
    Ok(ExecuteInput {
        cluster_id: req.cluster_id,
        session_id: req.session_id,
        correlation_id: checked.correlation_id,
        request: checked.request,
        typed: checked.typed,
        timeout: checked.timeout,
        output_budget: req.output_budget,
        callback,
    })
}

/// The read-only policy and the headers applied to a validated request; a refusal is audited
/// once for each of `clusters` (the clusters the command was meant for).
pub(super) fn check(
    state: &AppState,
    caller: &Caller,
    headers: AgentHeaders,
    req: &CommandRequest,
    clusters: &[String],
) -> AppResult<CheckedCommand> {
    let correlation_id = headers.correlation_id.or(req.correlation_id.clone());
    let extra = req.extra_args.clone().unwrap_or_default();
    let input = CommandInput {
        command_type: &req.command_type,
        args: &req.args,
        extra_args: &extra,
        namespace: req.namespace.as_deref(),
    };
    let request = match policy::parse(&input, &state.policy) {
        Ok(r) => r,
        Err(e) => {
            for cluster_id in clusters {
                state.audit.record(AuditEntry::rejected(
                    &caller.wire(),
                    cluster_id,
                    req.typed(),
                    correlation_id.clone(),
                    &e.to_string(),
                ));
            }
            let loc = e.location();
            let mut path = vec!["body".to_string(), loc.field.as_str().to_string()];
            if let Some(i) = loc.index {
                path.push(i.to_string());
            }
            return Err(AppError::Validation(vec![FieldError {
                kind: "policy",
                loc: path,
                msg: e.to_string(),
                input: Value::Null,
            }]));
        }
    };
    let typed = policy::to_argv(&request).join(" ");
    let timeout = headers
        .request_timeout
        .or(req.timeout_seconds)
        .unwrap_or(state.settings.commands.default_timeout_seconds);
    Ok(CheckedCommand { correlation_id, request, typed, timeout: Duration::from_secs(timeout) })
}

/// `callback_url` (checked like a subscription's URL) and its secret (given or generated).
fn callback(state: &AppState, req: &CommandRequest) -> AppResult<Option<Callback>> {
    let Some(raw) = &req.callback_url else {
        if req.callback_secret.is_some() {
            return Err(AppError::field(
                &["body", "callback_secret"],
                "missing_url",
                "callback_secret needs a callback_url",
                Value::Null,
            ));
        }
        return Ok(None);
    };
    let url = state.webhooks.sender().policy().check_url(raw).map_err(|e| {
        AppError::field(&["body", "callback_url"], "url", format!("callback_url {e}"), json!(raw))
    })?;
    let (secret, generated) = match &req.callback_secret {
        Some(s) => (
            SigningSecret::parse(s).map_err(|e| {
                AppError::field(
                    &["body", "callback_secret"],
                    "secret",
                    format!("callback_secret {e}"),
                    Value::Null,
                )
            })?,
            false,
        ),
        None => (SigningSecret::generate(), true),
    };
    Ok(Some(Callback { url: url.to_string(), secret, generated }))
}

/// Longest correlation id: it travels as a NATS header.
pub const MAX_CORRELATION_ID: usize = 256;

/// A correlation id becomes a NATS header: at most 256 printable ASCII characters (a CR or LF
/// would end the header).
pub(super) fn check_correlation_id(value: Option<&str>, errors: &mut Vec<FieldError>) {
    if let Some(v) = value
        && (v.len() > MAX_CORRELATION_ID || !v.bytes().all(|b| (b' '..=b'~').contains(&b)))
    {
        errors.push(FieldError::new(
            &["body", "correlation_id"],
            "string_pattern_mismatch",
            format!(
                "correlation_id must be at most {MAX_CORRELATION_ID} printable ASCII characters (no control characters such as CR or LF)"
            ),
            Value::Null,
        ));
    }
}

pub(super) fn check_cluster_id(id: &str, errors: &mut Vec<FieldError>) {
    if let Err(msg) = kubently_shared::names::validate_cluster_id(id) {
        errors.push(FieldError::new(&["body", "cluster_id"], "string_pattern_mismatch", msg, json!(id)));
    }
}

pub(super) fn finish(errors: Vec<FieldError>) -> AppResult<()> {
    if errors.is_empty() { Ok(()) } else { Err(AppError::Validation(errors)) }
}
