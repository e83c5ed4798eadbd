//! Why a command was refused. Every message names the offending token and says what would be
//! accepted instead, because the reader is usually an LLM that will correct itself and retry.

use std::fmt::Write as _;

use super::verb::Verb;

/// The request field a [`PolicyError`] is about (the gateway turns it into a 422 `loc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    CommandType,
    Args,
    ExtraArgs,
    Namespace,
}

impl Field {
    /// The field's name in the REST body: `command_type`, `args`, `extra_args` or `namespace`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CommandType => "command_type",
            Self::Args => "args",
            Self::ExtraArgs => "extra_args",
            Self::Namespace => "namespace",
        }
    }
}

/// Where in the request the fault is: the field and, for `args`/`extra_args`, the index of the
/// token within that list as the caller sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Location {
    pub field: Field,
    pub index: Option<usize>,
}

impl Location {
    pub const COMMAND_TYPE: Self = Self { field: Field::CommandType, index: None };
    pub const ARGS: Self = Self { field: Field::Args, index: None };
    pub const NAMESPACE: Self = Self { field: Field::Namespace, index: None };

    pub fn new(field: Field, index: Option<usize>) -> Self {
        Self { field, index }
    }
}

/// A command the read-only policy refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("{}", unsupported_verb(.verb, .allowed))]
    UnsupportedVerb { verb: String, allowed: &'static [&'static str], at: Location },

    #[error("{}", unsupported_subcommand(.verb, .subcommand, .allowed))]
    UnsupportedSubcommand {
        verb: &'static str,
        subcommand: String,
        allowed: &'static [&'static str],
        at: Location,
    },

    #[error(
        "args start with the verb `{arg}` but command_type is `{command_type}`: send \
         command_type `{arg}` and leave the verb out of args"
    )]
    VerbMismatch { command_type: &'static str, arg: String, at: Location },

    #[error("{}", unknown_flag(.verb, .flag, .allowed, .hint.as_deref()))]
    UnknownFlag {
        verb: &'static str,
        flag: String,
        allowed: Vec<&'static str>,
        /// e.g. "did you mean `--previous`?" or "`--tail` is accepted by `logs`".
        hint: Option<String>,
        at: Location,
    },

    #[error("`{flag}` {reason}")]
    ForbiddenFlag { verb: &'static str, flag: String, reason: &'static str, at: Location },

    #[error("`{flag}` needs a value: {expected}")]
    MissingValue { flag: String, expected: &'static str, at: Location },

    #[error("`{value}` is not a valid value for `{flag}`: {expected}")]
    InvalidValue { flag: String, value: String, expected: String, at: Location },

    #[error("`{flag}` is given more than once with different values; give it once")]
    RepeatedFlag { flag: String, at: Location },

    #[error("`{first}` and `{second}` conflict: {reason}")]
    ConflictingFlags { first: String, second: String, reason: &'static str, at: Location },

    #[error(
        "the request's namespace `{body}` and the flag `{flag}` disagree; give the namespace \
         once (the `namespace` field or `-n`, not both)"
    )]
    NamespaceConflict { body: String, flag: String, at: Location },

    #[error(
        "`{value}` is not a valid namespace: {reason} (a namespace is a DNS-1123 label: at most \
         63 lowercase letters, digits and `-`, starting and ending with a letter or digit)"
    )]
    InvalidNamespace { value: String, reason: &'static str, at: Location },

    #[error("`{value}` is not a valid {what}: {reason}")]
    InvalidName { value: String, what: &'static str, reason: String, at: Location },

    #[error("`{value}` is not a valid resource type: {reason}")]
    InvalidResource { value: String, reason: String, at: Location },

    #[error("{what} {}: {reason}", token_position(*.at))]
    InvalidToken { what: String, reason: &'static str, at: Location },

    #[error("too many {}: {count} given, at most {max}", .at.field.as_str())]
    TooManyTokens { count: usize, max: usize, at: Location },

    #[error("`{verb}` needs {expected}")]
    MissingArgument { verb: &'static str, expected: &'static str, at: Location },

    #[error("unexpected argument `{arg}` for `{verb}`: {expected}")]
    UnexpectedArgument { verb: &'static str, arg: String, expected: &'static str, at: Location },

    #[error(
        "the request is not one the policy produces (it reads as `{argv}`); build requests with \
         `policy::parse`"
    )]
    NotCanonical { argv: String, at: Location },

    #[error(
        "`{resource}` is restricted on this Kubently deployment (rule `{rule}`): its objects \
         cannot be read through Kubently under any name, so do not retry with another \
         spelling; ask an operator if you need it"
    )]
    RestrictedResource { resource: String, rule: String, at: Location },
}

impl PolicyError {
    /// Where the fault is.
    pub fn location(&self) -> Location {
        match self {
            Self::UnsupportedVerb { at, .. }
            | Self::UnsupportedSubcommand { at, .. }
            | Self::VerbMismatch { at, .. }
            | Self::UnknownFlag { at, .. }
            | Self::ForbiddenFlag { at, .. }
            | Self::MissingValue { at, .. }
            | Self::InvalidValue { at, .. }
            | Self::RepeatedFlag { at, .. }
            | Self::ConflictingFlags { at, .. }
            | Self::NamespaceConflict { at, .. }
            | Self::InvalidNamespace { at, .. }
            | Self::InvalidName { at, .. }
            | Self::InvalidResource { at, .. }
            | Self::InvalidToken { at, .. }
            | Self::TooManyTokens { at, .. }
            | Self::MissingArgument { at, .. }
            | Self::UnexpectedArgument { at, .. }
            | Self::NotCanonical { at, .. }
            | Self::RestrictedResource { at, .. } => *at,
        }
    }

    /// The request field at fault: `command_type`, `args`, `extra_args` or `namespace`.
    pub fn field(&self) -> &'static str {
        self.location().field.as_str()
    }

    /// The index of the offending token within [`Self::field`], when there is one.
    pub fn index(&self) -> Option<usize> {
        self.location().index
    }
}

/// A token quoted for a message: escaped (control characters visible) and cut to 80 characters.
pub(crate) fn preview(token: &str) -> String {
    const MAX: usize = 80;
    let mut out = String::new();
    for (i, c) in token.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn token_position(at: Location) -> String {
    match at.index {
        Some(i) => format!("in {}[{i}]", at.field.as_str()),
        None => format!("in {}", at.field.as_str()),
    }
}

fn join(items: &[&str]) -> String {
    items.join(", ")
}

/// Verbs that change the cluster or open a session into it, for a more pointed message.
const MUTATING: &[&str] = &[
    "annotate",
    "apply",
    "attach",
    "autoscale",
    "cordon",
    "cp",
    "create",
    "debug",
    "delete",
    "drain",
    "edit",
    "exec",
    "expose",
    "label",
    "patch",
    "port-forward",
    "proxy",
    "replace",
    "run",
    "scale",
    "set",
    "taint",
    "uncordon",
];

fn unsupported_verb(verb: &str, allowed: &[&str]) -> String {
    let mut msg = if verb.is_empty() {
        "command_type is empty".to_owned()
    } else if MUTATING.contains(&verb) {
        format!(
            "`{verb}` is not supported: it changes the cluster or opens a session into it, and \
             Kubently runs read-only commands only"
        )
    } else {
        format!("`{verb}` is not a supported command")
    };
    let _ = write!(msg, "; allowed command types: {}", command_types(allowed));
    msg
}

/// `get, …, rollout (history, status)`: each verb with the subcommands it must be followed by.
fn command_types(verbs: &[&str]) -> String {
    let listed: Vec<String> = verbs
        .iter()
        .map(|word| match Verb::from_word(word).map(Verb::subcommands) {
            Some(subcommands) if !subcommands.is_empty() => {
                format!("{word} ({})", join(subcommands))
            }
            _ => (*word).to_owned(),
        })
        .collect();
    listed.join(", ")
}

fn unsupported_subcommand(verb: &str, subcommand: &str, allowed: &[&str]) -> String {
    if allowed.is_empty() {
        format!("`{verb} {subcommand}` is not supported; `{verb}` takes no subcommand or arguments")
    } else {
        let list: Vec<String> = allowed.iter().map(|s| format!("`{verb} {s}`")).collect();
        format!(
            "`{verb} {subcommand}` is not supported (Kubently is read-only); allowed: {}",
            list.join(", ")
        )
    }
}

fn unknown_flag(verb: &str, flag: &str, allowed: &[&str], hint: Option<&str>) -> String {
    let mut msg = if allowed.is_empty() {
        format!("`{flag}` is not allowed: `{verb}` takes no flags")
    } else {
        format!("`{flag}` is not allowed for `{verb}`; allowed flags: {}", join(allowed))
    };
    if let Some(hint) = hint {
        let _ = write!(msg, " ({hint})");
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_and_index_come_from_the_location() {
        let err =
            PolicyError::RepeatedFlag { flag: "-n".into(), at: Location::new(Field::ExtraArgs, Some(3)) };
        assert_eq!(err.field(), "extra_args");
        assert_eq!(err.index(), Some(3));
        assert_eq!(
            PolicyError::MissingArgument { verb: "get", expected: "x", at: Location::ARGS }.field(),
            "args"
        );
    }

    #[test]
    fn preview_escapes_and_cuts() {
        assert_eq!(preview("a\nb"), "a\\nb");
        assert_eq!(preview(&"x".repeat(100)).chars().count(), 81);
    }

    #[test]
    fn mutating_verbs_say_why() {
        let msg = unsupported_verb("delete", &["get", "describe"]);
        assert!(msg.contains("`delete`") && msg.contains("read-only") && msg.contains("get, describe"));
        let msg = unsupported_verb("frobnicate", &["get"]);
        assert!(msg.contains("`frobnicate` is not a supported command; allowed command types: get"));
        let msg = unsupported_verb("frobnicate", &["logs", "rollout"]);
        assert!(msg.ends_with("allowed command types: logs, rollout (history, status)"), "{msg}");
    }
}
