//! The policy itself: `command_type` + `args` + `extra_args` + `namespace` (the REST body) →
//! [`KubectlRequest`], or a [`PolicyError`] saying what to send instead.
//!
//! Tokens are the caller's list elements, never re-split: shell metacharacters are ordinary
//! characters (there is no shell), and a flag is recognised by its exact name only, so
//! `logs credit-api-123`, namespace `web-editor` and `-l app=scaler` are fine.

use super::config::PolicyConfig;
use super::error::{Field, Location, PolicyError, preview};
use super::request::KubectlRequest;
use super::verbs;

/// The command part of an execute request, as the REST body carries it.
#[derive(Debug, Clone, Copy)]
pub struct CommandInput<'a> {
    /// `get`, `describe`, `logs`, `top`, `events`, `version`, `api-resources`, `api-versions`,
    /// `explain`, `rollout` or `cluster-info`.
    pub command_type: &'a str,
    /// Positional words and flags after the verb, one token per element.
    pub args: &'a [String],
    /// More flags (or words); read as if appended to `args`.
    pub extra_args: &'a [String],
    /// The body's namespace; `None` or empty = none given.
    pub namespace: Option<&'a str>,
}

/// The command types [`parse`] accepts.
pub const ALLOWED_VERBS: &[&str] = &[
    "get",
    "describe",
    "logs",
    "events",
    "top",
    "explain",
    "version",
    "cluster-info",
    "api-resources",
    "api-versions",
    "rollout",
];

/// What [`PolicyError::UnsupportedVerb`] lists.
const ALLOWED_COMMANDS: &[&str] = &[
    "get",
    "describe",
    "logs",
    "events",
    "top",
    "explain",
    "version",
    "cluster-info",
    "api-resources",
    "api-versions",
    "rollout (history, status)",
];

/// Verbs that, found as the first arg, mean the caller believes it is running them.
const MUTATING_VERBS: &[&str] = &[
    "delete",
    "apply",
    "create",
    "patch",
    "edit",
    "replace",
    "scale",
    "exec",
    "port-forward",
    "proxy",
    "cp",
    "attach",
    "drain",
    "cordon",
    "uncordon",
    "taint",
    "annotate",
    "debug",
    "autoscale",
    "expose",
];

/// At most this many `args`, and as many `extra_args`.
pub const MAX_ARGS: usize = 20;
/// Longest single token (and so longest selector or template).
pub const MAX_TOKEN_CHARS: usize = 1024;

/// One caller token and where it came from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token<'a> {
    pub text: &'a str,
    pub at: Location,
}

/// Parses a command into the typed read-only request, or refuses it.
pub fn parse(
    input: &CommandInput<'_>,
    config: &PolicyConfig,
) -> Result<KubectlRequest, PolicyError> {
    for (list, field) in [
        (input.args, Field::Args),
        (input.extra_args, Field::ExtraArgs),
    ] {
        if list.len() > MAX_ARGS {
            let at = Location::new(field, Some(MAX_ARGS));
            return Err(PolicyError::TooManyTokens {
                count: list.len(),
                max: MAX_ARGS,
                at,
            });
        }
    }
    parse_unbounded(input, config)
}

/// [`parse`] without the token-count limits (for re-checking a rendered request, whose canonical
/// spelling may take more tokens than the caller's).
pub(crate) fn parse_unbounded(
    input: &CommandInput<'_>,
    config: &PolicyConfig,
) -> Result<KubectlRequest, PolicyError> {
    let mut words = input.command_type.split_whitespace();
    let verb_word = words.next().unwrap_or_default().to_ascii_lowercase();
    let Some(verb) = ALLOWED_VERBS.iter().copied().find(|v| *v == verb_word) else {
        return Err(PolicyError::UnsupportedVerb {
            verb: preview(&verb_word),
            allowed: ALLOWED_COMMANDS,
            at: Location::COMMAND_TYPE,
        });
    };

    let mut tokens: Vec<Token<'_>> = words
        .map(|text| Token {
            text,
            at: Location::COMMAND_TYPE,
        })
        .collect();
    let from_command_type = tokens.len();
    for (list, field) in [
        (input.args, Field::Args),
        (input.extra_args, Field::ExtraArgs),
    ] {
        let located = list.iter().enumerate();
        tokens.extend(located.map(|(i, text)| Token {
            text,
            at: Location::new(field, Some(i)),
        }));
    }
    for token in &tokens {
        check_token(token)?;
    }

    // Agents often repeat the verb (`["get", "pods"]`), sometimes after `kubectl`.
    let mut skip = from_command_type;
    if tokens
        .get(skip)
        .is_some_and(|t| t.at.field == Field::Args && t.text.eq_ignore_ascii_case("kubectl"))
    {
        skip += 1;
    }
    if tokens
        .get(skip)
        .is_some_and(|t| t.at.field == Field::Args && t.text.eq_ignore_ascii_case(verb))
    {
        skip += 1;
    }
    tokens.drain(from_command_type..skip);
    let tokens = tokens.as_slice();
    if let Some(first) = tokens.first().filter(|t| t.at.field == Field::Args) {
        let word = first.text.to_ascii_lowercase();
        if MUTATING_VERBS.contains(&word.as_str()) {
            return Err(PolicyError::UnsupportedVerb {
                verb: word,
                allowed: ALLOWED_COMMANDS,
                at: first.at,
            });
        }
        if word != verb && word != "events" && ALLOWED_VERBS.contains(&word.as_str()) {
            return Err(PolicyError::VerbMismatch {
                command_type: verb,
                arg: word,
                at: first.at,
            });
        }
    }

    let body_namespace = input.namespace.filter(|ns| !ns.is_empty());
    match verb {
        "get" => verbs::get(tokens, body_namespace, config),
        "describe" => verbs::describe(tokens, body_namespace, config),
        "logs" => verbs::logs(tokens, body_namespace, config),
        "events" => verbs::events(tokens, body_namespace, config),
        "top" => verbs::top(tokens, body_namespace, config),
        "explain" => verbs::explain(tokens),
        "api-resources" => verbs::api_resources(tokens),
        "rollout" => verbs::rollout(tokens, body_namespace, config),
        "version" => verbs::no_arguments("version", tokens).map(|()| KubectlRequest::Version),
        "api-versions" => {
            verbs::no_arguments("api-versions", tokens).map(|()| KubectlRequest::ApiVersions)
        }
        _ => verbs::no_arguments("cluster-info", tokens).map(|()| KubectlRequest::ClusterInfo),
    }
}

fn check_token(token: &Token<'_>) -> Result<(), PolicyError> {
    let (what, reason) = if token.text.is_empty() {
        (
            "empty argument".to_owned(),
            "every element must be a non-empty word; remove it",
        )
    } else if token.text.chars().count() > MAX_TOKEN_CHARS {
        (
            format!("argument `{}`", preview(token.text)),
            "it is longer than 1024 characters",
        )
    } else if token.text.chars().any(char::is_control) {
        (
            format!("argument `{}`", preview(token.text)),
            "it contains a control character (newline, tab, …); send each word as its own \
             element, and write `{\"\\n\"}` for a newline inside a jsonpath template",
        )
    } else {
        return Ok(());
    };
    Err(PolicyError::InvalidToken {
        what,
        reason,
        at: token.at,
    })
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
