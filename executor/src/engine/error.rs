//! [`EngineError`]: what a command that did not (fully) succeed reports. The `Display` text is
//! what kubectl would have written to stderr for the same failure, so an agent that knows
//! kubectl's messages reads them unchanged.

use super::Output;
use super::jsonpath::TemplateError;

/// Why the engine could not produce (all of) a command's output.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The API server answered with a `Status` failure (NotFound, Forbidden, …).
    #[error("{}", api_text(.code, .reason, .message))]
    Api { code: u16, reason: String, message: String },
    /// Discovery knows no resource by that name, even after a refresh.
    #[error("error: the server doesn't have a resource type \"{resource}\"")]
    UnknownResource { resource: String },
    /// An output form of a verb this executor does not implement (`events -o name`).
    #[error("error: \"{verb}\" is not supported by the Kubently executor yet")]
    Unsupported { verb: String },
    /// The request cannot be carried out as given (kubectl's client-side validation errors).
    #[error("error: {0}")]
    Invalid(String),

    /// `-o jsonpath=` with a template that does not parse.
    #[error("error: error parsing jsonpath {template}, {source}")]
    JsonPathParse {
        template: String,
        #[source]
        source: TemplateError,
    },
    /// A JSONPath template that failed on the data, in kubectl's words (the object dump kubectl
    /// appends is left out); `quoted` is the template as Go's `%q` prints it.
    #[error(
        "error: error executing jsonpath {quoted}: Error executing template: {source}. Printing more information for debugging the template:\n\ttemplate was:\n\t\t{template}\n"
    )]
    JsonPathExecute {
        quoted: String,
        template: String,
        #[source]
        source: TemplateError,
    },
    /// A custom-columns template that does not parse or run.
    #[error("error: {0}")]
    Template(#[source] TemplateError),

    /// `logs --since-time` that is not an RFC 3339 time.
    #[error("error: invalid --since-time {value:?}: {source}")]
    SinceTime {
        value: String,
        #[source]
        source: k8s_openapi::jiff::Error,
    },

    /// The executor's read-only policy refuses the resolved resource.
    #[error("error: {0}")]
    Restricted(#[from] kubently_shared::policy::PolicyError),
    /// A request kube-rs could not build or send as asked.
    #[error("error: {0}")]
    Request(#[source] Box<kube::Error>),
    /// A request for this path could not be built.
    #[error("error: cannot build the request for {path}: {source}")]
    BuildRequest {
        path: String,
        #[source]
        source: http::Error,
    },
    /// The API server could not be reached, or the transport failed.
    #[error("Unable to connect to the server: {0}")]
    Connection(#[source] Box<kube::Error>),
    /// A followed log stream broke off.
    #[error("Unable to connect to the server: log stream ended: {0}")]
    LogStream(#[source] std::io::Error),
    /// The API server sent a body that does not parse as the API promises; `what` names the
    /// document when known.
    #[error("error: unexpected response from the server: {}", decode_text(.what.as_deref(), .source))]
    Decode {
        what: Option<String>,
        #[source]
        source: BodyError,
    },
    /// The API server's answer lacks something the API promises.
    #[error("error: unexpected response from the server: {0}")]
    Incomplete(String),
    /// The command's deadline passed before the engine finished.
    #[error("error: the command's deadline passed before the API server answered")]
    DeadlineExceeded,
    /// Some of the command succeeded (`output`), some did not (`errors`), as with
    /// `kubectl get pods a nope`: kubectl prints what it found and the errors on stderr.
    #[error("{}", join_errors(.errors))]
    Partial { output: Output, errors: Vec<EngineError> },
}

impl EngineError {
    /// True when the API server said NotFound (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Api { code: 404, .. })
            || matches!(self, Self::Api { reason, .. } if reason == "NotFound")
    }

    /// The output produced before the failure, if any (only [`EngineError::Partial`] has one).
    pub fn partial_output(&self) -> Option<&Output> {
        match self {
            Self::Partial { output, .. } => Some(output),
            _ => None,
        }
    }
}

/// A body that did not decode.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Utf8(#[from] std::string::FromUtf8Error),
}

impl EngineError {
    /// A body of the document `what` (a path, `table`) that did not decode.
    pub fn decode(what: impl Into<String>, source: impl Into<BodyError>) -> Self {
        Self::Decode { what: Some(what.into()), source: source.into() }
    }
}

impl From<kube::Error> for EngineError {
    fn from(e: kube::Error) -> Self {
        match e {
            kube::Error::Api(status) => {
                Self::Api { code: status.code, reason: status.reason, message: status.message }
            }
            kube::Error::SerdeError(e) => Self::Decode { what: None, source: e.into() },
            kube::Error::FromUtf8(e) => Self::Decode { what: None, source: e.into() },
            e @ (kube::Error::BuildRequest(_) | kube::Error::HttpError(_)) => Self::Request(Box::new(e)),
            // Refused before it left (impersonation's guard): not a connection problem.
            kube::Error::Service(e) if e.is::<crate::impersonation::MissingCaller>() => {
                Self::Request(Box::new(kube::Error::Service(e)))
            }
            other => Self::Connection(Box::new(other)),
        }
    }
}

/// `<what>: <cause>`, or the cause alone.
fn decode_text(what: Option<&str>, source: &BodyError) -> String {
    match what {
        Some(what) => format!("{what}: {source}"),
        None => source.to_string(),
    }
}

/// kubectl's `StandardErrorMessage` for API status errors.
fn api_text(_code: &u16, reason: &str, message: &str) -> String {
    match reason {
        "Unauthorized" => format!("error: You must be logged in to the server ({message})"),
        "" => format!("Error from server: {message}"),
        reason => format!("Error from server ({reason}): {message}"),
    }
}

fn join_errors(errors: &[EngineError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_read_like_kubectl() {
        let e =
            EngineError::Api { code: 404, reason: "NotFound".into(), message: "pods \"x\" not found".into() };
        assert_eq!(e.to_string(), "Error from server (NotFound): pods \"x\" not found");
        assert!(e.is_not_found());
        let e = EngineError::Api { code: 500, reason: String::new(), message: "boom".into() };
        assert_eq!(e.to_string(), "Error from server: boom");
        let e = EngineError::UnknownResource { resource: "x".into() };
        assert_eq!(e.to_string(), "error: the server doesn't have a resource type \"x\"");
    }

    #[test]
    fn kube_status_errors_convert() {
        let status = kube::core::Status::failure("pods is forbidden: User \"u\" cannot list resource \"pods\" in API group \"\" in the namespace \"x\"", "Forbidden").with_code(403);
        let e = EngineError::from(kube::Error::Api(status.boxed()));
        assert_eq!(
            e.to_string(),
            "Error from server (Forbidden): pods is forbidden: User \"u\" cannot list resource \"pods\" in API group \"\" in the namespace \"x\""
        );
    }

    #[test]
    fn causes_are_kept_and_read_like_before() {
        use std::error::Error as _;
        let json = serde_json::from_str::<serde_json::Value>("{").err().map(BodyError::from);
        let Some(json) = json else { panic!("`{{` is not JSON") };
        let cause = json.to_string();
        let e = EngineError::decode("/api", json);
        assert_eq!(e.to_string(), format!("error: unexpected response from the server: /api: {cause}"));
        assert_eq!(e.source().map(ToString::to_string), Some(cause));
        let e = EngineError::from(kube::Error::LinesCodecMaxLineLengthExceeded);
        assert!(e.to_string().starts_with("Unable to connect to the server: "), "{e}");
        assert!(e.source().is_some());
    }

    #[test]
    fn partial_lists_every_error() {
        let e = EngineError::Partial {
            output: Output::default(),
            errors: vec![
                EngineError::Invalid("a".into()),
                EngineError::UnknownResource { resource: "b".into() },
            ],
        };
        assert_eq!(e.to_string(), "error: a\nerror: the server doesn't have a resource type \"b\"");
    }
}
