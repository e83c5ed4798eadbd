//! The per-verb flag allow-lists and the scanner that splits tokens into flags and positionals
//! with pflag's (kubectl's) syntax: `--name`, `--name=value`, `--name value`, `-x`, `-x value`,
//! `-x=value`, `-xvalue`, and clusters of boolean shorthands (`-Ap`).
//!
//! A flag is recognised by its exact name only; a flag that is not on the verb's list is refused,
//! with a dedicated explanation for the dangerous ones (credentials, server, files, watch, …).

use super::error::{Location, PolicyError, preview};
use super::token::Token;
use super::verb::{CommandName, RolloutAction, Verb};

/// Whether a flag takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Takes {
    /// `--flag` or `--flag=true|false`; never consumes the next token.
    Bool,
    /// `--flag=value` or `--flag value`.
    Value,
    /// As `Value`, but the value may be a negative number (`--tail -1`).
    Int,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FlagSpec {
    pub long: &'static str,
    pub short: Option<char>,
    pub takes: Takes,
    /// How the flag is listed in messages: `-n/--namespace`.
    pub usage: &'static str,
    /// What its value should look like (for "needs a value" messages).
    pub hint: &'static str,
}

const fn flag(
    long: &'static str,
    short: Option<char>,
    takes: Takes,
    usage: &'static str,
    hint: &'static str,
) -> FlagSpec {
    FlagSpec { long, short, takes, usage, hint }
}

const NAMESPACE: FlagSpec =
    flag("namespace", Some('n'), Takes::Value, "-n/--namespace", "a namespace, e.g. `-n kube-system`");
const ALL_NAMESPACES: FlagSpec = flag("all-namespaces", Some('A'), Takes::Bool, "-A/--all-namespaces", "");
const SELECTOR: FlagSpec =
    flag("selector", Some('l'), Takes::Value, "-l/--selector", "a label selector, e.g. `-l app=web`");
const FIELD_SELECTOR: FlagSpec = flag(
    "field-selector",
    None,
    Takes::Value,
    "--field-selector",
    "a field selector, e.g. `--field-selector status.phase=Running`",
);
const OUTPUT: FlagSpec =
    flag("output", Some('o'), Takes::Value, "-o/--output", "an output format, e.g. `-o wide`");
const SHOW_LABELS: FlagSpec = flag("show-labels", None, Takes::Bool, "--show-labels", "");
const LABEL_COLUMNS: FlagSpec =
    flag("label-columns", Some('L'), Takes::Value, "-L/--label-columns", "label keys, e.g. `-L app,tier`");
const NO_HEADERS: FlagSpec = flag("no-headers", None, Takes::Bool, "--no-headers", "");
const SHOW_KIND: FlagSpec = flag("show-kind", None, Takes::Bool, "--show-kind", "");
const SORT_BY: FlagSpec = flag(
    "sort-by",
    None,
    Takes::Value,
    "--sort-by",
    "a JSONPath, e.g. `--sort-by=.metadata.creationTimestamp`",
);
const CHUNK_SIZE: FlagSpec =
    flag("chunk-size", None, Takes::Int, "--chunk-size", "a page size, e.g. `--chunk-size=500`");
const SHOW_EVENTS: FlagSpec = flag("show-events", None, Takes::Bool, "--show-events", "");
const CONTAINER: FlagSpec =
    flag("container", Some('c'), Takes::Value, "-c/--container", "a container name, e.g. `-c app`");
const ALL_CONTAINERS: FlagSpec = flag("all-containers", None, Takes::Bool, "--all-containers", "");
const PREVIOUS: FlagSpec = flag("previous", Some('p'), Takes::Bool, "-p/--previous", "");
const TAIL: FlagSpec = flag("tail", None, Takes::Int, "--tail", "a line count, e.g. `--tail=100` (-1 = all)");
const SINCE: FlagSpec =
    flag("since", None, Takes::Value, "--since", "a duration, e.g. `--since=5m` or `--since=1h30m`");
const SINCE_TIME: FlagSpec = flag(
    "since-time",
    None,
    Takes::Value,
    "--since-time",
    "an RFC 3339 time, e.g. `--since-time=2024-05-01T10:00:00Z`",
);
const TIMESTAMPS: FlagSpec = flag("timestamps", None, Takes::Bool, "--timestamps", "");
const LIMIT_BYTES: FlagSpec =
    flag("limit-bytes", None, Takes::Int, "--limit-bytes", "a byte count, e.g. `--limit-bytes=65536`");
const COMPACT: FlagSpec = flag("compact", None, Takes::Bool, "--compact", "");
const FOLLOW: FlagSpec = flag("follow", Some('f'), Takes::Bool, "-f/--follow", "");
const PREFIX: FlagSpec = flag("prefix", None, Takes::Bool, "--prefix", "");
const FOR: FlagSpec =
    flag("for", None, Takes::Value, "--for", "an object as TYPE/NAME, e.g. `--for pod/web-0`");
const TYPES: FlagSpec = flag("types", None, Takes::Value, "--types", "event types, e.g. `--types=Warning`");
const CONTAINERS: FlagSpec = flag("containers", None, Takes::Bool, "--containers", "");
const TOP_SORT_BY: FlagSpec = flag("sort-by", None, Takes::Value, "--sort-by", "`cpu` or `memory`");
const RECURSIVE: FlagSpec = flag("recursive", None, Takes::Bool, "--recursive", "");
const API_VERSION: FlagSpec =
    flag("api-version", None, Takes::Value, "--api-version", "a group/version, e.g. `--api-version=apps/v1`");
const NAMESPACED: FlagSpec = flag("namespaced", None, Takes::Bool, "--namespaced", "");
const API_GROUP: FlagSpec = flag(
    "api-group",
    None,
    Takes::Value,
    "--api-group",
    "an API group, e.g. `--api-group=apps` (empty = core)",
);
const VERBS: FlagSpec = flag("verbs", None, Takes::Value, "--verbs", "API verbs, e.g. `--verbs=list,get`");
const REVISION: FlagSpec =
    flag("revision", None, Takes::Int, "--revision", "a revision number, e.g. `--revision=3`");
const WATCH: FlagSpec = flag("watch", Some('w'), Takes::Bool, "-w/--watch", "");

pub(crate) const GET: &[FlagSpec] = &[
    NAMESPACE,
    ALL_NAMESPACES,
    SELECTOR,
    FIELD_SELECTOR,
    OUTPUT,
    SHOW_LABELS,
    LABEL_COLUMNS,
    NO_HEADERS,
    SHOW_KIND,
    SORT_BY,
    CHUNK_SIZE,
];
pub(crate) const DESCRIBE: &[FlagSpec] = &[NAMESPACE, ALL_NAMESPACES, SELECTOR, SHOW_EVENTS];
pub(crate) const LOGS: &[FlagSpec] = &[
    NAMESPACE,
    CONTAINER,
    ALL_CONTAINERS,
    PREVIOUS,
    TAIL,
    SINCE,
    SINCE_TIME,
    TIMESTAMPS,
    LIMIT_BYTES,
    SELECTOR,
    FOLLOW,
    PREFIX,
    COMPACT,
];
pub(crate) const EVENTS: &[FlagSpec] = &[NAMESPACE, ALL_NAMESPACES, FOR, TYPES, OUTPUT, NO_HEADERS];
pub(crate) const TOP: &[FlagSpec] =
    &[NAMESPACE, ALL_NAMESPACES, SELECTOR, CONTAINERS, TOP_SORT_BY, NO_HEADERS];
pub(crate) const EXPLAIN: &[FlagSpec] = &[RECURSIVE, API_VERSION];
pub(crate) const API_RESOURCES: &[FlagSpec] = &[NAMESPACED, API_GROUP, VERBS, OUTPUT, NO_HEADERS];
/// Scanned with the union; the subcommand's own list is enforced afterwards.
pub(crate) const ROLLOUT: &[FlagSpec] = &[NAMESPACE, REVISION, WATCH];
pub(crate) const ROLLOUT_HISTORY: &[FlagSpec] = &[NAMESPACE, REVISION];
pub(crate) const ROLLOUT_STATUS: &[FlagSpec] = &[NAMESPACE, WATCH];
pub(crate) const DIAGNOSE: &[FlagSpec] = &[NAMESPACE, ALL_NAMESPACES, OUTPUT];
pub(crate) const NONE: &[FlagSpec] = &[];

/// A command's allow-list (for bare `rollout`, the union of its actions' lists).
pub(crate) const fn allow_list(command: CommandName) -> &'static [FlagSpec] {
    match command {
        CommandName::Verb(verb) => match verb {
            Verb::Get => GET,
            Verb::Describe => DESCRIBE,
            Verb::Logs => LOGS,
            Verb::Events => EVENTS,
            Verb::Top => TOP,
            Verb::Explain => EXPLAIN,
            Verb::Version | Verb::ClusterInfo | Verb::ApiVersions => NONE,
            Verb::ApiResources => API_RESOURCES,
            Verb::Rollout => ROLLOUT,
            Verb::Diagnose => DIAGNOSE,
        },
        CommandName::Rollout(RolloutAction::History) => ROLLOUT_HISTORY,
        CommandName::Rollout(RolloutAction::Status) => ROLLOUT_STATUS,
    }
}

/// The flags a verb accepts, as listed in error messages (`-n/--namespace`, …). `verb` is a
/// command type (`get`, `logs`, …) or `rollout history` / `rollout status`; `None` for anything
/// else.
pub fn allowed_flags(verb: &str) -> Option<Vec<&'static str>> {
    CommandName::from_name(verb).map(|command| usages(allow_list(command)))
}

pub(crate) fn usages(specs: &[FlagSpec]) -> Vec<&'static str> {
    specs.iter().map(|s| s.usage).collect()
}

const CREDENTIALS: &str = "would change the credentials, identity or API server the command runs \
    with; Kubently never accepts it (commands always run as the executor's own service account)";
const FILES: &str = "reads manifests or files on the executor, which Kubently never does; name \
    objects as `TYPE NAME` or `TYPE/NAME` instead";
const WATCH_REASON: &str = "would stream a watch, which Kubently does not do (only `logs -f` and \
    `rollout status --watch` stream, until the command's deadline); run the command again to see \
    changes";
const TIMEOUT: &str = "sets a client timeout, which Kubently does not accept: the command's \
    deadline is the request's `timeout_seconds` (or the `X-Request-Timeout` header)";
const MUTATING: &str = "belongs to commands that change the cluster or attach to it; Kubently is \
    read-only";
const VERBOSE: &str = "turns on client debug logging, which can print credentials; not supported";

/// Flags refused everywhere, with the reason. Consulted only for flags that are not on the
/// verb's allow-list (`-f` is `--follow` for `logs`, `-w` is `--watch` for `rollout status`).
const DENIED: &[(&str, &str)] = &[
    ("--token", CREDENTIALS),
    ("--token-file", CREDENTIALS),
    ("--server", CREDENTIALS),
    ("-s", CREDENTIALS),
    ("--kubeconfig", CREDENTIALS),
    ("--context", CREDENTIALS),
    ("--cluster", CREDENTIALS),
    ("--user", CREDENTIALS),
    ("--as", CREDENTIALS),
    ("--as-group", CREDENTIALS),
    ("--as-uid", CREDENTIALS),
    ("--username", CREDENTIALS),
    ("--password", CREDENTIALS),
    ("--client-certificate", CREDENTIALS),
    ("--client-key", CREDENTIALS),
    ("--certificate-authority", CREDENTIALS),
    ("--insecure-skip-tls-verify", CREDENTIALS),
    ("--insecure", CREDENTIALS),
    ("--tls-server-name", CREDENTIALS),
    ("--disable-compression", CREDENTIALS),
    ("-f", FILES),
    ("--filename", FILES),
    ("-k", FILES),
    ("--kustomize", FILES),
    ("-R", FILES),
    ("--recursive", FILES),
    (
        "--raw",
        "requests an arbitrary API path, which Kubently does not allow; name a resource type (and object) instead",
    ),
    ("--overrides", MUTATING),
    ("--cache-dir", "would write to the executor's filesystem; not supported"),
    ("--profile-output", "would write to the executor's filesystem; not supported"),
    ("--request-timeout", TIMEOUT),
    ("--timeout", TIMEOUT),
    ("-v", VERBOSE),
    ("--v", VERBOSE),
    ("--vmodule", VERBOSE),
    ("-w", WATCH_REASON),
    ("--watch", WATCH_REASON),
    ("--watch-only", WATCH_REASON),
    ("--output-watch-events", WATCH_REASON),
    (
        "--template",
        "runs a Go template, which is not supported; use `-o jsonpath=…` or `-o custom-columns=…`",
    ),
    ("-i", MUTATING),
    ("--stdin", MUTATING),
    ("-t", MUTATING),
    ("--tty", MUTATING),
    ("--dry-run", MUTATING),
    ("--force", MUTATING),
    ("--grace-period", MUTATING),
    ("--cascade", MUTATING),
    ("--overwrite", MUTATING),
    ("--record", MUTATING),
    ("--all", MUTATING),
    ("--", "(end of flags) is not supported; object names never start with `-`, so it is never needed"),
];

/// One flag as given.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Occurrence<'a> {
    pub spec: &'static FlagSpec,
    /// The flag as typed, without its value: `-n`, `--namespace`.
    pub written: &'a str,
    pub value: Value<'a>,
    pub at: Location,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Bool(bool),
    Text(&'a str),
}

/// Tokens split into flags and positionals.
#[derive(Debug, Default)]
pub(crate) struct Scanned<'a> {
    pub flags: Vec<Occurrence<'a>>,
    pub positionals: Vec<Token<'a>>,
}

impl<'a> Scanned<'a> {
    /// The first occurrence of a flag.
    pub fn find(&self, long: &str) -> Option<&Occurrence<'a>> {
        self.flags.iter().find(|o| o.spec.long == long)
    }

    /// A boolean flag: the last occurrence wins, as in kubectl.
    pub fn bool(&self, long: &str) -> Option<bool> {
        self.flags.iter().rev().find(|o| o.spec.long == long).and_then(|o| match o.value {
            Value::Bool(b) => Some(b),
            Value::Text(_) => None,
        })
    }

    /// A single-valued flag. Repeating it with a different value is an error (kubectl would
    /// silently take the last one).
    pub fn text(&self, long: &str) -> Result<Option<(&'a str, Occurrence<'a>)>, PolicyError> {
        let mut found: Option<(&'a str, Occurrence<'a>)> = None;
        for o in self.flags.iter().filter(|o| o.spec.long == long) {
            let Value::Text(v) = o.value else { continue };
            match found {
                Some((prev, _)) if prev != v => {
                    return Err(PolicyError::RepeatedFlag { flag: o.written.to_owned(), at: o.at });
                }
                Some(_) => {}
                None => found = Some((v, *o)),
            }
        }
        Ok(found)
    }

    /// A comma-separated list flag; repetitions accumulate (`--types a --types b`).
    pub fn list(&self, long: &str) -> Vec<(&'a str, Occurrence<'a>)> {
        self.flags
            .iter()
            .filter(|o| o.spec.long == long)
            .filter_map(|o| match o.value {
                Value::Text(v) => Some((v, *o)),
                Value::Bool(_) => None,
            })
            .flat_map(|(v, o)| v.split(',').map(move |item| (item, o)))
            .collect()
    }
}

/// pflag's (strconv.ParseBool's) spellings of a boolean.
pub(crate) fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Splits `tokens` into flags (checked against `specs`) and positionals.
pub(crate) fn scan<'a>(
    verb: &'static str,
    specs: &'static [FlagSpec],
    tokens: &[Token<'a>],
) -> Result<Scanned<'a>, PolicyError> {
    let mut out = Scanned::default();
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        let text = token.text;
        i += 1;
        if text == "--" {
            return Err(refused(verb, specs, "--", None, token.at));
        }
        if let Some(body) = text.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (body, None),
            };
            let written = &text[..2 + name.len()];
            let Some(spec) = specs.iter().find(|s| s.long == name) else {
                return Err(refused(verb, specs, written, None, token.at));
            };
            let value = take_value(spec, written, inline, tokens, &mut i, token.at)?;
            out.flags.push(Occurrence { spec, written, value, at: token.at });
        } else if text.len() > 1 && text.starts_with('-') {
            scan_shorthands(verb, specs, token, tokens, &mut i, &mut out)?;
        } else {
            out.positionals.push(token);
        }
    }
    Ok(out)
}

/// `-A`, `-n ns`, `-n=ns`, `-nns`, `-Ap`, `-ojson`.
fn scan_shorthands<'a>(
    verb: &'static str,
    specs: &'static [FlagSpec],
    token: Token<'a>,
    tokens: &[Token<'a>],
    i: &mut usize,
    out: &mut Scanned<'a>,
) -> Result<(), PolicyError> {
    let text = token.text;
    // `-namespace`, `-previous`, `-token=x`: a long flag written with one dash.
    let name = text[1..].split_once('=').map_or(&text[1..], |(n, _)| n);
    if name.chars().count() > 1 {
        let flag = &text[..1 + name.len()];
        if let Some(spec) = specs.iter().find(|s| s.long == name) {
            return Err(PolicyError::UnknownFlag {
                verb,
                flag: preview(flag),
                allowed: usages(specs),
                hint: Some(format!("long flags take two dashes: did you mean `--{}`?", spec.long)),
                at: token.at,
            });
        }
        let long = format!("-{flag}");
        if let Some((_, reason)) = DENIED.iter().find(|(denied, _)| *denied == long) {
            return Err(PolicyError::ForbiddenFlag { verb, flag: preview(flag), reason, at: token.at });
        }
    }
    let mut pos = 1;
    while let Some(c) = text[pos..].chars().next() {
        let after = &text[pos + c.len_utf8()..];
        let Some(spec) = specs.iter().find(|s| s.short == Some(c)) else {
            let hint = (text.chars().count() > 2).then(|| format!("in `{}`", preview(text)));
            return Err(refused(verb, specs, &format!("-{c}"), hint, token.at));
        };
        // `-n/--namespace` → `-n`: the shorthand as written, even inside a cluster (`-Ap`).
        let written = spec.usage.split('/').next().unwrap_or(spec.usage);
        match spec.takes {
            Takes::Bool => {
                if let Some(v) = after.strip_prefix('=') {
                    let value = bool_value(spec, written, v, token.at)?;
                    out.flags.push(Occurrence { spec, written, value, at: token.at });
                    return Ok(());
                }
                out.flags.push(Occurrence { spec, written, value: Value::Bool(true), at: token.at });
                pos += c.len_utf8();
            }
            Takes::Value | Takes::Int => {
                let inline =
                    if after.is_empty() { None } else { Some(after.strip_prefix('=').unwrap_or(after)) };
                let value = take_value(spec, written, inline, tokens, i, token.at)?;
                out.flags.push(Occurrence { spec, written, value, at: token.at });
                return Ok(());
            }
        }
    }
    Ok(())
}

fn bool_value<'a>(
    spec: &FlagSpec,
    written: &str,
    v: &'a str,
    at: Location,
) -> Result<Value<'a>, PolicyError> {
    parse_bool(v).map(Value::Bool).ok_or_else(|| PolicyError::InvalidValue {
        flag: written.to_owned(),
        value: preview(v),
        expected: format!("`{written}` is a switch: write `--{0}`, `--{0}=true` or `--{0}=false`", spec.long),
        at,
    })
}

/// The flag's value: inline (`=value`, attached shorthand value) or the next token.
fn take_value<'a>(
    spec: &FlagSpec,
    written: &str,
    inline: Option<&'a str>,
    tokens: &[Token<'a>],
    i: &mut usize,
    at: Location,
) -> Result<Value<'a>, PolicyError> {
    if spec.takes == Takes::Bool {
        return match inline {
            Some(v) => bool_value(spec, written, v, at),
            None => Ok(Value::Bool(true)),
        };
    }
    if let Some(v) = inline {
        return Ok(Value::Text(v));
    }
    let missing = || PolicyError::MissingValue { flag: written.to_owned(), expected: spec.hint, at };
    let next = tokens.get(*i).ok_or_else(missing)?;
    let negative_number = spec.takes == Takes::Int
        && next
            .text
            .strip_prefix('-')
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
    if next.text.len() > 1 && next.text.starts_with('-') && !negative_number {
        return Err(missing());
    }
    *i += 1;
    Ok(Value::Text(next.text))
}

/// The error for a flag that is not on the verb's list: the deny-table reason when there is one,
/// else the allow-list (and which verbs would accept it).
pub(crate) fn refused(
    verb: &'static str,
    specs: &[FlagSpec],
    flag: &str,
    hint: Option<String>,
    at: Location,
) -> PolicyError {
    if let Some((_, reason)) = DENIED.iter().find(|(denied, _)| *denied == flag) {
        return PolicyError::ForbiddenFlag { verb, flag: flag.to_owned(), reason, at };
    }
    let others: Vec<&str> = CommandName::RUNNABLE
        .iter()
        .map(|command| (command.as_str(), allow_list(*command)))
        .filter(|(v, list)| {
            *v != verb
                && list.iter().any(|s| match flag.strip_prefix("--") {
                    Some(long) => s.long == long,
                    None => {
                        flag.strip_prefix('-').and_then(|c| c.chars().next()) == s.short
                            && flag.chars().count() == 2
                    }
                })
        })
        .map(|(v, _)| v)
        .collect();
    let accepted = (!others.is_empty()).then(|| {
        let list: Vec<String> = others.iter().map(|v| format!("`{v}`")).collect();
        format!("`{flag}` is accepted by {}", list.join(", "))
    });
    let hint = match (hint, accepted) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    };
    PolicyError::UnknownFlag { verb, flag: preview(flag), allowed: usages(specs), hint, at }
}
