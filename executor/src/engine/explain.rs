//! `explain` from the server's OpenAPI v3 documents where served ([`super::explain_v3`], kubectl's
//! default layout), else from the OpenAPI v2 document (`/openapi/v2`, served from 1.x through
//! today's releases), printed as kubectl prints the v2 model (`--output=plaintext-openapiv2`):
//! `KIND`/`VERSION`, `RESOURCE`/`FIELD`, the descriptions wrapped at 80 columns, `FIELDS` with
//! `<type>` and `-required-`, or the field tree with `--recursive`. The resource is resolved
//! through discovery; the document is read for each command (it is served from the apiserver's
//! memory).

use std::collections::BTreeSet;

use kubently_shared::policy::ExplainRequest;
use serde_json::{Map, Value};

use super::context::Context;
use super::http::{self, ACCEPT_JSON};
use super::{EngineError, Output, explain_v3};

/// kubectl wraps descriptions at this width (minus the indentation).
const WRAP: usize = 80;
const DESCRIPTION_INDENT: usize = 5;
const FIELD_INDENT: usize = 3;

pub(super) async fn run(ctx: &Context<'_>, req: &ExplainRequest) -> Result<Output, EngineError> {
    let mut parts = req.path.split('.').map(str::trim);
    let typed = parts
        .next()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| EngineError::Invalid("You must specify the type of resource to explain".into()))?;
    let fields: Vec<&str> = parts.collect();
    if fields.iter().any(|f| f.is_empty()) {
        return Err(EngineError::Invalid(format!("invalid field path {:?}", req.path)));
    }
    let mut resource = ctx.resolver.resolve(typed).await?;
    if let Some(api_version) = req.api_version.as_deref().filter(|v| !v.is_empty()) {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let plural = resource.plural.clone();
        resource = ctx
            .resolver
            .find(|r| r.plural == plural && r.group == group && r.version == version)
            .await?
            .ok_or_else(|| {
                EngineError::Invalid(format!(
                    "couldn't find resource for \"{}\" in api version {api_version}",
                    resource.qualified_plural()
                ))
            })?;
    }
    // kubectl's default layout comes from OpenAPI v3 where the server serves it.
    if let Some(document) = explain_v3::document(ctx.client, &resource).await? {
        let text = explain_v3::render(&document, &resource, &fields, req.recursive)?;
        let rows = text.lines().count() as u64;
        return Ok(Output { text, kind: Some("Explain".into()), rows: Some(rows), ..Output::default() });
    }
    let document = http::get_json(ctx.client, "/openapi/v2", ACCEPT_JSON).await?;
    let definitions = document
        .get("definitions")
        .and_then(Value::as_object)
        .ok_or_else(|| EngineError::Incomplete("/openapi/v2 has no definitions".into()))?;
    let root =
        find_kind(definitions, &resource.group, &resource.version, &resource.kind).ok_or_else(|| {
            EngineError::Invalid(format!("couldn't find resource for \"{}\"", resource.kind_prefix()))
        })?;
    let text = explain(definitions, root, &resource.api_version(), &resource.kind, &fields, req.recursive)?;
    let rows = text.lines().count() as u64;
    Ok(Output { text, kind: Some("Explain".into()), rows: Some(rows), ..Output::default() })
}

/// The definition whose `x-kubernetes-group-version-kind` names this kind.
fn find_kind<'a>(
    definitions: &'a Map<String, Value>,
    group: &str,
    version: &str,
    kind: &str,
) -> Option<&'a Value> {
    definitions.values().find(|d| {
        d.get("x-kubernetes-group-version-kind").and_then(Value::as_array).into_iter().flatten().any(|gvk| {
            gvk.get("group").and_then(Value::as_str).unwrap_or_default() == group
                && gvk.get("version").and_then(Value::as_str) == Some(version)
                && gvk.get("kind").and_then(Value::as_str) == Some(kind)
        })
    })
}

/// Follows `$ref`s to the schema itself.
fn deref<'a>(definitions: &'a Map<String, Value>, mut schema: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/definitions/")) {
            Some(name) => match definitions.get(name) {
                Some(next) => schema = next,
                None => return schema,
            },
            None => return schema,
        }
    }
    schema
}

/// kubectl's `GetTypeName` over its OpenAPI v2 model: `string`, `Object` (a kind with fields),
/// `[]Object`, `map[string]string`, `map[string]` (an object without a schema for its values),
/// empty for an arbitrary value.
fn type_name(definitions: &Map<String, Value>, schema: &Value) -> String {
    let schema = deref(definitions, schema);
    match schema.get("type").and_then(Value::as_str) {
        Some("array") => {
            format!("[]{}", schema.get("items").map(|i| type_name(definitions, i)).unwrap_or_default())
        }
        Some("object") if properties(schema).is_some() => "Object".into(),
        Some("object") => match schema.get("additionalProperties").filter(|a| a.is_object()) {
            Some(inner) => format!("map[string]{}", type_name(definitions, inner)),
            None => "map[string]".into(),
        },
        Some(primitive) => primitive.to_string(),
        None if properties(schema).is_some() => "Object".into(),
        None => String::new(),
    }
}

fn description(schema: &Value) -> &str {
    schema.get("description").and_then(Value::as_str).unwrap_or_default()
}

/// Is this (dereferenced) schema an object with fields?
fn properties(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

fn explain(
    definitions: &Map<String, Value>,
    root: &Value,
    api_version: &str,
    kind: &str,
    fields: &[&str],
    recursive: bool,
) -> Result<String, EngineError> {
    // Walk the path; the field's own schema (not dereferenced) and its name.
    let mut current = root;
    let mut name = "";
    for field in fields {
        let mut container = deref(definitions, current);
        // Arrays and maps are explained through their items.
        loop {
            match container.get("type").and_then(Value::as_str) {
                Some("array") => {
                    container = deref(definitions, container.get("items").unwrap_or(&Value::Null))
                }
                Some("object")
                    if properties(container).is_none()
                        && container.get("additionalProperties").is_some_and(Value::is_object) =>
                {
                    container =
                        deref(definitions, container.get("additionalProperties").unwrap_or(&Value::Null))
                }
                _ => break,
            }
        }
        current = properties(container)
            .and_then(|p| p.get(*field))
            .ok_or_else(|| EngineError::Invalid(format!("field \"{field}\" does not exist")))?;
        name = field;
    }
    let type_ = type_name(definitions, current);
    // The descriptions met on the way down: the field's, the array's items', the kind's.
    let mut descriptions = vec![description(current).to_string()];
    let mut target = current;
    loop {
        let resolved = deref(definitions, target);
        if !std::ptr::eq(resolved, target) {
            descriptions.push(description(resolved).to_string());
            target = resolved;
            continue;
        }
        match target.get("type").and_then(Value::as_str) {
            Some("array") => {
                target = target.get("items").unwrap_or(&Value::Null);
                descriptions.push(description(target).to_string());
            }
            Some("object")
                if properties(target).is_none()
                    && target.get("additionalProperties").is_some_and(Value::is_object) =>
            {
                target = target.get("additionalProperties").unwrap_or(&Value::Null);
                descriptions.push(description(target).to_string());
            }
            Some("object") if properties(target).is_none() => {
                // kubectl models this as a map of arbitrary values that repeats the description.
                descriptions.push(description(target).to_string());
                break;
            }
            _ => break,
        }
    }
    // Descriptions of a ref'd schema repeat for the root itself.
    if fields.is_empty() {
        descriptions.truncate(1);
    }
    let mut out = format!("KIND:     {kind}\nVERSION:  {api_version}\n\n");
    let has_fields = properties(target).is_some();
    if !name.is_empty() {
        if has_fields {
            out.push_str(&format!("RESOURCE: {name} <{type_}>\n\n"));
        } else if target.get("type").and_then(Value::as_str).is_some_and(|t| t != "object" && t != "array") {
            // kubectl names primitive leaves only; arbitrary values get no FIELD line.
            out.push_str(&format!("FIELD:    {name} <{type_}>\n\n"));
        }
    }
    out.push_str("DESCRIPTION:\n");
    let mut empty = true;
    for (i, d) in descriptions.iter().enumerate() {
        if d.is_empty() {
            continue;
        }
        if i != 0 {
            out.push('\n');
        }
        empty = false;
        write_wrapped(&mut out, DESCRIPTION_INDENT, d);
    }
    if empty {
        write_wrapped(&mut out, DESCRIPTION_INDENT, "<empty>");
    }
    if let Some(props) = properties(target) {
        out.push_str("\nFIELDS:\n");
        let required: BTreeSet<&str> = target
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if recursive {
            let mut seen = Vec::new();
            recursive_fields(&mut out, definitions, props, FIELD_INDENT, &mut seen);
        } else {
            for (key, schema) in props {
                let req = if required.contains(key.as_str()) { " -required-" } else { "" };
                out.push_str(&format!(
                    "{}{key}\t<{}>{req}\n",
                    " ".repeat(FIELD_INDENT),
                    type_name(definitions, schema)
                ));
                write_wrapped(&mut out, FIELD_INDENT + 2, description(schema));
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// `--recursive`: the field tree, three spaces per level, cycles cut.
fn recursive_fields<'a>(
    out: &mut String,
    definitions: &'a Map<String, Value>,
    props: &'a Map<String, Value>,
    indent: usize,
    seen: &mut Vec<*const Value>,
) {
    for (key, schema) in props {
        out.push_str(&format!("{}{key}\t<{}>\n", " ".repeat(indent), type_name(definitions, schema)));
        let mut inner = deref(definitions, schema);
        loop {
            match inner.get("type").and_then(Value::as_str) {
                Some("array") => inner = deref(definitions, inner.get("items").unwrap_or(&Value::Null)),
                Some("object")
                    if properties(inner).is_none()
                        && inner.get("additionalProperties").is_some_and(Value::is_object) =>
                {
                    inner = deref(definitions, inner.get("additionalProperties").unwrap_or(&Value::Null))
                }
                _ => break,
            }
        }
        if let Some(sub) = properties(inner) {
            let id: *const Value = inner;
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            recursive_fields(out, definitions, sub, indent + FIELD_INDENT, seen);
            seen.pop();
        }
    }
}

/// kubectl's `WriteWrapped`/`wrapString`: words joined into lines of at most `WRAP - indent`
/// bytes; lines starting with four spaces kept as they are; empty lines kept once something was
/// written; a new line started after a word ending in `:` and before list items.
fn write_wrapped(out: &mut String, indent: usize, text: &str) {
    let width = WRAP.saturating_sub(indent);
    let mut wrapped: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut last_word = String::new();
    let flush = |wrapped: &mut Vec<String>, current: &mut String, last_word: &mut String| {
        if !current.is_empty() {
            last_word.clear();
            wrapped.push(std::mem::take(current));
        }
    };
    for line in text.split('\n') {
        if line.starts_with("    ") {
            flush(&mut wrapped, &mut current, &mut last_word);
            wrapped.push(line.to_string());
            continue;
        }
        if !wrapped.is_empty() && line.trim().is_empty() {
            flush(&mut wrapped, &mut current, &mut last_word);
            wrapped.push(String::new());
            continue;
        }
        if starts_new_line(&last_word, line) {
            flush(&mut wrapped, &mut current, &mut last_word);
        }
        for word in line.split_whitespace() {
            last_word = word.to_string();
            if !current.is_empty() && current.len() + 1 + word.len() > width {
                wrapped.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
    }
    flush(&mut wrapped, &mut current, &mut last_word);
    let pad = " ".repeat(indent);
    for line in wrapped {
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(&line);
        }
        out.push('\n');
    }
}

/// kubectl's `shouldStartNewLine`.
fn starts_new_line(last_word: &str, line: &str) -> bool {
    if last_word.ends_with(':') || line.starts_with("    ") {
        return true;
    }
    let line = line.trim();
    if line.is_empty() {
        return true;
    }
    // `^(\d+\.?|-|\*)\s`: a list item.
    let rest = match line.as_bytes().first() {
        Some(b'-' | b'*') => &line[1..],
        Some(b) if b.is_ascii_digit() => {
            let digits = line.trim_start_matches(|c: char| c.is_ascii_digit());
            digits.strip_prefix('.').unwrap_or(digits)
        }
        _ => return false,
    };
    rest.starts_with(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wraps_like_kubectl() {
        let mut out = String::new();
        write_wrapped(
            &mut out,
            5,
            "List of containers belonging to the pod. Containers cannot currently be added or removed.",
        );
        assert_eq!(
            out,
            "     List of containers belonging to the pod. Containers cannot currently be\n     added or removed.\n"
        );
        let mut out = String::new();
        write_wrapped(&mut out, 5, "Short first.\n\nSecond paragraph:\n- item one\n- item two");
        assert_eq!(out, "     Short first.\n     Second paragraph:\n     - item one\n     - item two\n");
    }

    #[test]
    fn explains_a_nested_field() {
        let defs = json!({
            "pod": {"description": "Pod is.", "properties": {"spec": {"$ref": "#/definitions/spec", "description": "Spec of pod."}}, "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "Pod"}]},
            "spec": {"description": "PodSpec.", "required": ["containers"], "properties": {"containers": {"type": "array", "description": "List.", "items": {"$ref": "#/definitions/c"}}}},
            "c": {"description": "A container.", "properties": {"image": {"type": "string", "description": "Image name."}}}
        });
        let defs = defs.as_object().cloned().unwrap_or_default();
        let root = find_kind(&defs, "", "v1", "Pod").cloned().unwrap_or_default();
        let text = explain(&defs, &root, "v1", "Pod", &["spec", "containers"], false).unwrap_or_default();
        assert_eq!(
            text,
            "KIND:     Pod\nVERSION:  v1\n\nRESOURCE: containers <[]Object>\n\nDESCRIPTION:\n     List.\n\n     A container.\n\nFIELDS:\n   image\t<string>\n     Image name.\n\n"
        );
        let text = explain(&defs, &root, "v1", "Pod", &["spec"], true).unwrap_or_default();
        assert!(text.contains("FIELDS:\n   containers\t<[]Object>\n      image\t<string>\n"), "{text}");
    }
}
