//! Pieces the verb builders share: namespace scope, resource targets, output formats, selectors,
//! durations, and error constructors.

use super::config::PolicyConfig;
use super::error::{Location, PolicyError, preview};
use super::flags::{Occurrence, Scanned};
use super::request::{NamespaceScope, OutputFormat, ResourceRef};
use super::resources::{validate_name, validate_namespace, validate_resource};
use super::token::{MAX_TOKEN_CHARS, Token};

/// `-n`, `-A` and the body's namespace. `-n` and the body must agree; `-A` with `-n` or with the
/// body's namespace is refused.
pub(crate) fn namespace_scope(s: &Scanned<'_>, body: Option<&str>) -> Result<NamespaceScope, PolicyError> {
    let flag = s.text("namespace")?;
    let all = s.bool("all-namespaces").unwrap_or(false);
    match (all, flag) {
        (true, Some((_, o))) => Err(PolicyError::ConflictingFlags {
            first: s.find("all-namespaces").map_or("-A", |a| a.written).to_owned(),
            second: o.written.to_owned(),
            reason: "`-A` covers every namespace and `-n` picks one; drop one of them",
            at: o.at,
        }),
        (true, None) => match body {
            // Upstream ran `-A` with its default `-n default` appended; a namespace and `-A`
            // together are ambiguous, so neither wins.
            Some(body) => Err(PolicyError::ConflictingFlags {
                first: s.find("all-namespaces").map_or("-A", |a| a.written).to_owned(),
                second: format!("namespace {}", preview(body)),
                reason: "`-A` covers every namespace and the request's `namespace` picks one; drop one of them",
                at: s.find("all-namespaces").map_or(Location::NAMESPACE, |a| a.at),
            }),
            None => Ok(NamespaceScope::All),
        },
        (false, Some((value, o))) => {
            let namespace = validate_namespace(value, o.at)?;
            match body {
                Some(body) if body != namespace => Err(PolicyError::NamespaceConflict {
                    body: preview(body),
                    flag: format!("{} {namespace}", o.written),
                    at: o.at,
                }),
                _ => Ok(NamespaceScope::Namespace(namespace)),
            }
        }
        (false, None) => match body {
            Some(body) => Ok(NamespaceScope::Namespace(validate_namespace(body, Location::NAMESPACE)?)),
            None => Ok(NamespaceScope::Default),
        },
    }
}

/// get/describe positionals: `TYPE[,TYPE…] [NAME…]` or `TYPE/NAME…`. Returns the refs and the
/// first name token (for "names and selectors don't mix" checks).
pub(crate) fn targets<'a>(
    verb: &'static str,
    positionals: &[Token<'a>],
    config: &PolicyConfig,
) -> Result<(Vec<ResourceRef>, Option<Token<'a>>), PolicyError> {
    let Some(first) = positionals.first() else {
        return Err(PolicyError::MissingArgument {
            verb,
            expected: "a resource type, e.g. `pods`, `pods,svc`, `pod web-0` or `pod/web-0`",
            at: Location::ARGS,
        });
    };
    let slash_form = positionals.iter().any(|t| t.text.contains('/'));
    if !slash_form {
        let mut refs = Vec::new();
        let names = positionals[1..]
            .iter()
            .map(|t| validate_name(t.text, "name", t.at))
            .collect::<Result<Vec<_>, _>>()?;
        for ty in first.text.split(',') {
            if ty.is_empty() {
                return Err(PolicyError::InvalidResource {
                    value: preview(first.text),
                    reason: "the comma-separated list has an empty item; write e.g. `pods,svc`".to_owned(),
                    at: first.at,
                });
            }
            let resource = validate_resource(ty, first.at)?;
            if resource == "all" && !names.is_empty() {
                return Err(all_with_names(first));
            }
            config.check_typed(&resource, first.at)?;
            if !refs.iter().any(|r: &ResourceRef| r.resource == resource) {
                refs.push(ResourceRef { resource, names: names.clone() });
            }
        }
        return Ok((refs, positionals.get(1).copied()));
    }
    let mut refs: Vec<ResourceRef> = Vec::new();
    for t in positionals {
        let Some((ty, name)) = t.text.split_once('/') else {
            return Err(unexpected(
                verb,
                t,
                "once one argument is TYPE/NAME, all must be (e.g. `pod/a svc/b`)",
            ));
        };
        let resource = validate_resource(ty, t.at)?;
        if resource == "all" {
            return Err(all_with_names(t));
        }
        config.check_typed(&resource, t.at)?;
        let name = validate_name(name, "name", t.at)?;
        match refs.iter_mut().find(|r| r.resource == resource) {
            Some(existing) => existing.names.push(name),
            None => refs.push(ResourceRef { resource, names: vec![name] }),
        }
    }
    Ok((refs, Some(*first)))
}

/// `-o` for get.
pub(crate) fn get_output(value: &str, o: &Occurrence<'_>) -> Result<OutputFormat, PolicyError> {
    const FORMATS: &str = "one of `wide`, `json`, `yaml`, `name`, `jsonpath=<template>`, \
                           `custom-columns=<spec>` (omit `-o` for the default table)";
    let (format, inline) = match value.split_once('=') {
        Some((format, template)) => (format, Some(template)),
        None => (value, None),
    };
    let template = |kind: &str, example: &str| match inline.map(strip_quotes) {
        Some(t) if !t.is_empty() => Ok(t.to_owned()),
        _ => Err(invalid(o, value, &format!("`{kind}` needs a template, e.g. `-o {kind}={example}`"))),
    };
    Ok(match (format.to_ascii_lowercase().as_str(), inline.is_some()) {
        ("table", false) => OutputFormat::Table,
        ("wide", false) => OutputFormat::Wide,
        ("json", false) => OutputFormat::Json,
        ("yaml", false) => OutputFormat::Yaml,
        ("name", false) => OutputFormat::Name,
        ("jsonpath", _) => OutputFormat::JsonPath(template("jsonpath", "{.items[*].metadata.name}")?),
        ("custom-columns", _) => OutputFormat::CustomColumns(template(
            "custom-columns",
            "NAME:.metadata.name,NODE:.spec.nodeName",
        )?),
        ("go-template" | "go-template-file" | "template" | "templatefile", _) => {
            return Err(invalid(
                o,
                value,
                "Go templates are not supported; use `jsonpath=…` or `custom-columns=…`",
            ));
        }
        ("jsonpath-file" | "custom-columns-file", _) => {
            return Err(invalid(
                o,
                value,
                "file-based formats would read a file on the executor; give the template inline: \
                 `jsonpath=…` or `custom-columns=…`",
            ));
        }
        _ => return Err(invalid(o, value, FORMATS)),
    })
}

/// A label or field selector: surrounding quotes stripped, non-empty, at most 1024 characters.
pub(crate) fn selector(s: &Scanned<'_>, long: &str) -> Result<Option<String>, PolicyError> {
    let Some((value, o)) = s.text(long)? else {
        return Ok(None);
    };
    let example = if long == "selector" {
        "a label selector, e.g. `app=web`"
    } else {
        "a field selector, e.g. `status.phase=Running`"
    };
    if strip_quotes(value).chars().count() > MAX_TOKEN_CHARS {
        return Err(invalid(&o, value, "a selector of at most 1024 characters"));
    }
    non_empty(value, &o, example).map(Some)
}

/// `--since=5m`, `1h30m`, `10s`, `1.5h` (Go durations) → whole seconds, rounded up.
pub(crate) fn since(value: &str, o: &Occurrence<'_>) -> Result<i64, PolicyError> {
    const EXPECTED: &str = "a positive duration such as `10s`, `5m`, `1h30m` (units: ns, us, ms, s, m, h)";
    let seconds = go_duration_seconds(value).ok_or_else(|| {
        if value.ends_with('d') {
            invalid(o, value, "a duration in hours (no `d` unit), e.g. `--since=48h`")
        } else {
            invalid(o, value, EXPECTED)
        }
    })?;
    if !(seconds > 0.0 && seconds < 1e11) {
        return Err(invalid(o, value, EXPECTED));
    }
    // In range: checked above.
    #[allow(clippy::cast_possible_truncation)]
    Ok(seconds.ceil() as i64)
}

pub(crate) fn go_duration_seconds(value: &str) -> Option<f64> {
    if value == "0" {
        return Some(0.0);
    }
    let mut rest = value;
    let mut total = 0.0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_len = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * scale;
    }
    Some(total)
}

/// An integer flag at least `min`.
pub(crate) fn int(
    s: &Scanned<'_>,
    long: &str,
    min: i64,
    expected: &'static str,
) -> Result<Option<i64>, PolicyError> {
    let Some((value, o)) = s.text(long)? else {
        return Ok(None);
    };
    match value.parse::<i64>() {
        Ok(n) if n >= min => Ok(Some(n)),
        _ => Err(invalid(&o, value, expected)),
    }
}

/// `'…'` or `"…"` → `…` (agents often quote as if for a shell; there is none).
pub(crate) fn strip_quotes(mut value: &str) -> &str {
    // Every layer, so that stripping is idempotent (a rendered request parses back the same).
    while let Some(inner) = ['\'', '"']
        .into_iter()
        .find_map(|quote| value.strip_prefix(quote).and_then(|v| v.strip_suffix(quote)))
    {
        value = inner;
    }
    value
}

/// `raw` with surrounding quotes stripped; refused (quoting `raw`) if nothing is left.
pub(crate) fn non_empty(raw: &str, o: &Occurrence<'_>, expected: &str) -> Result<String, PolicyError> {
    let value = strip_quotes(raw);
    if value.trim().is_empty() {
        return Err(invalid(o, raw, expected));
    }
    Ok(value.to_owned())
}

pub(crate) fn invalid(o: &Occurrence<'_>, value: &str, expected: &str) -> PolicyError {
    PolicyError::InvalidValue {
        flag: o.written.to_owned(),
        value: preview(value),
        expected: expected.to_owned(),
        at: o.at,
    }
}

pub(crate) fn unexpected(verb: &'static str, t: &Token<'_>, expected: &'static str) -> PolicyError {
    PolicyError::UnexpectedArgument { verb, arg: preview(t.text), expected, at: t.at }
}

pub(crate) fn conflict(s: &Scanned<'_>, first: &str, second: &str, reason: &'static str) -> PolicyError {
    let written = |long: &str| s.find(long).map_or_else(|| format!("--{long}"), |o| o.written.to_owned());
    let at = s.find(second).or_else(|| s.find(first)).map_or(Location::ARGS, |o| o.at);
    PolicyError::ConflictingFlags { first: written(first), second: written(second), reason, at }
}

pub(crate) fn names_with_selector(verb: &'static str, t: Token<'_>) -> PolicyError {
    unexpected(
        verb,
        &t,
        "object names cannot be combined with a selector: select by name or by label, not both",
    )
}

pub(crate) fn names_with_all(verb: &'static str, t: Token<'_>) -> PolicyError {
    unexpected(
        verb,
        &t,
        "object names cannot be combined with `-A`: a name is looked up in one namespace, so use `-n <namespace>`",
    )
}

pub(crate) fn all_with_names(t: &Token<'_>) -> PolicyError {
    PolicyError::InvalidResource {
        value: preview(t.text),
        reason: "`all` lists every object of several types and cannot be combined with names; name a type, e.g. `pod/web-0`"
            .to_owned(),
        at: t.at,
    }
}
