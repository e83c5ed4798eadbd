//! The policy itself: `command_type` + `args` + `extra_args` + `namespace` (the REST body) →
//! [`KubectlRequest`], or a [`PolicyError`] saying what to send instead.
//!
//! Tokens are the caller's list elements, never re-split: shell metacharacters are ordinary
//! characters (there is no shell), and a flag is recognised by its exact name only, so
//! `logs credit-api-123`, namespace `web-editor` and `-l app=scaler` are fine.

use super::builders;
use super::config::PolicyConfig;
use super::error::{Field, Location, PolicyError, preview};
use super::request::KubectlRequest;
use super::token::{Token, check_token};
use super::verb::{VERB_WORDS, Verb};

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

/// The command types [`parse`] accepts ([`Verb::ALL`] spelled out).
pub const ALLOWED_VERBS: &[&str] = &VERB_WORDS;

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

/// Parses a command into the typed read-only request, or refuses it.
pub fn parse(input: &CommandInput<'_>, config: &PolicyConfig) -> Result<KubectlRequest, PolicyError> {
    for (list, field) in [(input.args, Field::Args), (input.extra_args, Field::ExtraArgs)] {
        if list.len() > MAX_ARGS {
            let at = Location::new(field, Some(MAX_ARGS));
            return Err(PolicyError::TooManyTokens { count: list.len(), max: MAX_ARGS, at });
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
    let Some(verb) = Verb::from_word(&verb_word) else {
        return Err(PolicyError::UnsupportedVerb {
            verb: preview(&verb_word),
            allowed: ALLOWED_VERBS,
            at: Location::COMMAND_TYPE,
        });
    };

    let mut tokens: Vec<Token<'_>> = words.map(|text| Token { text, at: Location::COMMAND_TYPE }).collect();
    let from_command_type = tokens.len();
    for (list, field) in [(input.args, Field::Args), (input.extra_args, Field::ExtraArgs)] {
        let located = list.iter().enumerate();
        tokens.extend(located.map(|(i, text)| Token { text, at: Location::new(field, Some(i)) }));
    }
    for token in &tokens {
        check_token(token)?;
    }

    // Agents often repeat the verb (`["get", "pods"]`), sometimes after `kubectl`.
    let mut skip = from_command_type;
    if tokens.get(skip).is_some_and(|t| t.at.field == Field::Args && t.text.eq_ignore_ascii_case("kubectl")) {
        skip += 1;
    }
    if tokens
        .get(skip)
        .is_some_and(|t| t.at.field == Field::Args && t.text.eq_ignore_ascii_case(verb.as_str()))
    {
        skip += 1;
    }
    tokens.drain(from_command_type..skip);
    let tokens = tokens.as_slice();
    if let Some(first) = tokens.first().filter(|t| t.at.field == Field::Args) {
        let word = first.text.to_ascii_lowercase();
        if MUTATING_VERBS.contains(&word.as_str()) {
            return Err(PolicyError::UnsupportedVerb { verb: word, allowed: ALLOWED_VERBS, at: first.at });
        }
        if word != verb.as_str() && word != "events" && Verb::from_word(&word).is_some() {
            return Err(PolicyError::VerbMismatch { command_type: verb.as_str(), arg: word, at: first.at });
        }
    }

    let body_namespace = input.namespace.filter(|ns| !ns.is_empty());
    match verb {
        Verb::Get => builders::get(tokens, body_namespace, config),
        Verb::Describe => builders::describe(tokens, body_namespace, config),
        Verb::Logs => builders::logs(tokens, body_namespace, config),
        Verb::Events => builders::events(tokens, body_namespace, config),
        Verb::Top => builders::top(tokens, body_namespace, config),
        Verb::Explain => builders::explain(tokens),
        Verb::ApiResources => builders::api_resources(tokens),
        Verb::Rollout => builders::rollout(tokens, body_namespace, config),
        Verb::Diagnose => builders::diagnose(tokens, body_namespace, config),
        Verb::Version => builders::no_arguments(verb, tokens).map(|()| KubectlRequest::Version),
        Verb::ApiVersions => builders::no_arguments(verb, tokens).map(|()| KubectlRequest::ApiVersions),
        Verb::ClusterInfo => builders::no_arguments(verb, tokens).map(|()| KubectlRequest::ClusterInfo),
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
