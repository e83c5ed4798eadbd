//! [`EngineError`]: what a command that did not (fully) succeed reports. The `Display` text is
//! what kubectl would have written to stderr for the same failure, so an agent that knows
//! kubectl's messages reads them unchanged.

use super::Output;

/// Why the engine could not produce (all of) a command's output.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The API server answered with a `Status` failure (NotFound, Forbidden, …).
    #[error("{}", api_text(.code, .reason, .message))]
    Api { code: u16, reason: String, message: String },
    /// Discovery knows no resource by that name, even after a refresh.
    #[error("error: the server doesn't have a resource type \"{resource}\"")]
    UnknownResource { resource: String },
    /// A verb (or an output form of a verb) this executor does not implement yet.
    #[error("error: \"{verb}\" is not supported by the Kubently executor yet")]
    Unsupported { verb: String },
    /// The request cannot be carried out as given (kubectl's client-side validation errors).
    #[error("error: {0}")]
    Invalid(String),

    /// The executor's read-only policy refuses the resolved resource.
    #[error("error: {0}")]
    Restricted(#[from] kubently_shared::policy::PolicyError),
    /// The API server could not be reached, or the transport failed.
    #[error("Unable to connect to the server: {0}")]
    Connection(String),
    /// The API server sent something that is not what the API promises.
    #[error("error: unexpected response from the server: {0}")]
    Decode(String),
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
        matches!(self, Self::Api { code: 404, .. }) || matches!(self, Self::Api { reason, .. } if reason == "NotFound")
    }

    /// The output produced before the failure, if any (only [`EngineError::Partial`] has one).
    pub fn partial_output(&self) -> Option<&Output> {
        match self {
            Self::Partial { output, .. } => Some(output),
            _ => None,
        }
    }
}

impl From<kube::Error> for EngineError {
    fn from(e: kube::Error) -> Self {
        match e {
            kube::Error::Api(status) => Self::Api { code: status.code, reason: status.reason, message: status.message },
            kube::Error::SerdeError(e) => Self::Decode(e.to_string()),
            kube::Error::FromUtf8(e) => Self::Decode(e.to_string()),
            kube::Error::BuildRequest(e) => Self::Invalid(e.to_string()),
            kube::Error::HttpError(e) => Self::Invalid(e.to_string()),
            other => Self::Connection(other.to_string()),
        }
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
        let e = EngineError::Api { code: 404, reason: "NotFound".into(), message: "pods \"x\" not found".into() };
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
        assert_eq!(e.to_string(), "Error from server (Forbidden): pods is forbidden: User \"u\" cannot list resource \"pods\" in API group \"\" in the namespace \"x\"");
    }

    #[test]
    fn partial_lists_every_error() {
        let e = EngineError::Partial {
            output: Output::default(),
            errors: vec![EngineError::Invalid("a".into()), EngineError::UnknownResource { resource: "b".into() }],
        };
        assert_eq!(e.to_string(), "error: a\nerror: the server doesn't have a resource type \"b\"");
    }
}
