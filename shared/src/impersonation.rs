//! Kubernetes impersonation's vocabulary, shared by the executor (which sends the caller as
//! `Impersonate-User`/`Impersonate-Group`/`Impersonate-Extra-*`) and `kubently-admin` (which
//! writes the RBAC rule that lets the executor do so): the header names, the extra keys, the
//! default prefix, and which names and prefixes may be sent.

/// The impersonated user (Kubernetes' `Impersonate-User`).
pub const HEADER_USER: &str = "Impersonate-User";
/// One impersonated group per header (Kubernetes' `Impersonate-Group`).
pub const HEADER_GROUP: &str = "Impersonate-Group";
/// `Impersonate-Extra-<key>`: one extra value of the impersonated user's info.
pub const HEADER_EXTRA_PREFIX: &str = "Impersonate-Extra-";

/// The extra naming the command a request belongs to (the API server's audit log shows it under
/// `impersonatedUser.extra`).
pub const EXTRA_COMMAND_ID: &str = "kubently-command-id";
/// The extra naming the command's debug session, when it has one.
pub const EXTRA_SESSION_ID: &str = "kubently-session-id";
/// Every extra key the executor sends.
pub const EXTRA_KEYS: [&str; 2] = [EXTRA_COMMAND_ID, EXTRA_SESSION_ID];

/// The API group of impersonated extras (`userextras/<key>`) in RBAC.
pub const EXTRAS_API_GROUP: &str = "authentication.k8s.io";
/// RBAC's resource for impersonated extras; the key is the subresource (`userextras/<key>`).
pub const EXTRAS_RESOURCE: &str = "userextras";

/// The prefix a cluster puts before callers' user and group names unless configured otherwise.
pub const DEFAULT_PREFIX: &str = "kubently:";
/// Kubernetes' reserved namespace of user and group names (`system:masters`, …): no prefix may
/// lead into it.
pub const RESERVED_PREFIX: &str = "system:";
/// Longest user or group name (before the prefix) the executor sends.
pub const MAX_NAME_BYTES: usize = 253;

/// Why a user name, group name, extra value or prefix cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("it is empty")]
    Empty,
    #[error("it is {len} bytes long; at most {max} are allowed")]
    TooLong { len: usize, max: usize },
    #[error("it holds the control character {0:?} (HTTP headers cannot carry it)")]
    Control(char),
    #[error("it starts or ends with whitespace (HTTP strips it, so another name would arrive)")]
    Whitespace,
    #[error("it starts with `{RESERVED_PREFIX}`, Kubernetes' reserved names (system users and groups)")]
    Reserved,
}

/// Whether `name` (a caller's user or group, or an extra value) can be sent as an impersonation
/// header value and arrive unchanged: not empty, at most [`MAX_NAME_BYTES`], no control
/// characters, no leading or trailing whitespace. Kubernetes allows any other string.
pub fn validate_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(NameError::TooLong { len: name.len(), max: MAX_NAME_BYTES });
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(NameError::Control(c));
    }
    if name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace) {
        return Err(NameError::Whitespace);
    }
    Ok(())
}

/// Whether `prefix` may be a cluster's user or group prefix: a valid name that does not lead
/// into Kubernetes' reserved `system:` names (a caller named `masters` must never become
/// `system:masters`).
pub fn validate_prefix(prefix: &str) -> Result<(), NameError> {
    validate_name(prefix)?;
    if prefix.starts_with(RESERVED_PREFIX) {
        return Err(NameError::Reserved);
    }
    Ok(())
}

/// `prefix` + `name`, the name Kubernetes sees, after checking both.
pub fn prefixed(prefix: &str, name: &str) -> Result<String, NameError> {
    validate_prefix(prefix)?;
    validate_name(name)?;
    Ok(format!("{prefix}{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_arrive_unchanged_pass() {
        for name in ["alice", "alice@example.com", "https://issuer.example#1234", "Équipe SRE", "a b"] {
            assert_eq!(validate_name(name), Ok(()), "{name}");
        }
        assert_eq!(prefixed("kubently:", "sre"), Ok("kubently:sre".into()));
    }

    #[test]
    fn names_that_cannot_be_sent_are_refused_with_the_reason() {
        assert_eq!(validate_name(""), Err(NameError::Empty));
        assert_eq!(validate_name("a\r\nImpersonate-Group: system:masters"), Err(NameError::Control('\r')));
        assert_eq!(validate_name("tab\there"), Err(NameError::Control('\t')));
        assert_eq!(validate_name("\u{7f}"), Err(NameError::Control('\u{7f}')));
        assert_eq!(validate_name(" alice"), Err(NameError::Whitespace));
        assert_eq!(validate_name("alice "), Err(NameError::Whitespace));
        let long = "a".repeat(MAX_NAME_BYTES + 1);
        assert_eq!(
            validate_name(&long),
            Err(NameError::TooLong { len: MAX_NAME_BYTES + 1, max: MAX_NAME_BYTES })
        );
        assert_eq!(
            NameError::Control('\n').to_string(),
            "it holds the control character '\\n' (HTTP headers cannot carry it)"
        );
    }

    #[test]
    fn prefixes_never_lead_into_system_names() {
        assert_eq!(validate_prefix("kubently:"), Ok(()));
        assert_eq!(validate_prefix(""), Err(NameError::Empty));
        assert_eq!(validate_prefix("system:"), Err(NameError::Reserved));
        assert_eq!(validate_prefix("system:kubently:"), Err(NameError::Reserved));
        assert_eq!(prefixed("", "masters"), Err(NameError::Empty));
    }
}
