//! kubectl's generic describer (any kind without its own): Name, Namespace, Labels, Annotations,
//! then every other field as indented `Smart Label: value` lines (`printUnstructuredContent`).

use serde_json::{Map, Value};

use super::writer::{Writer, s, string_map};

const SKIP: &[&str] = &[
    ".metadata.managedFields",
    ".metadata.name",
    ".metadata.namespace",
    ".metadata.labels",
    ".metadata.annotations",
];

pub fn describe(w: &mut Writer, object: &Value) {
    w.line(0, &format!("Name:\t{}", s(object, "/metadata/name")));
    w.line(0, &format!("Namespace:\t{}", s(object, "/metadata/namespace")));
    super::writer::labels_multiline(w, 0, "Labels", &string_map(object, "/metadata/labels"));
    super::writer::annotations_multiline(w, 0, "Annotations", &string_map(object, "/metadata/annotations"));
    if let Some(map) = object.as_object() {
        content(w, 0, map, "");
    }
}

fn content(w: &mut Writer, level: usize, map: &Map<String, Value>, prefix: &str) {
    let mut fields: Vec<&String> = map.keys().collect();
    fields.sort();
    for field in fields {
        let path = format!("{prefix}.{field}");
        if SKIP.contains(&path.as_str()) {
            continue;
        }
        match &map[field] {
            Value::Object(child) => {
                w.line(level, &format!("{}:", smart_label(field)));
                content(w, level + 1, child, &path);
            }
            Value::Array(items) => {
                w.line(level, &format!("{}:", smart_label(field)));
                for item in items {
                    match item {
                        Value::Object(child) => content(w, level + 1, child, &path),
                        other => w.line(level + 1, &go_value(other)),
                    }
                }
            }
            other => w.line(level, &format!("{}:\t{}", smart_label(field), go_value(other))),
        }
    }
}

/// A scalar as Go's `%v` prints it from unstructured JSON.
fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".into(),
        Value::Array(_) | Value::Object(_) => String::new(),
        other => other.to_string(),
    }
}

/// kubectl's `smartLabelFor`: `holderIdentity` → `Holder Identity`, `apiVersion` → `API Version`.
fn smart_label(field: &str) -> String {
    if field.chars().any(|c| !c.is_alphabetic() && c != '-') {
        return field.to_string();
    }
    camel_split(field)
        .into_iter()
        .filter(|p| p != "_")
        .map(|part| {
            let upper = part.to_uppercase();
            if ["API", "URL", "UID", "OSB", "GUID"].contains(&upper.as_str()) {
                upper
            } else {
                let mut chars = part.chars();
                chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `github.com/fatih/camelcase.Split`.
fn camel_split(text: &str) -> Vec<String> {
    fn class(c: char) -> u8 {
        if c.is_lowercase() {
            1
        } else if c.is_uppercase() {
            2
        } else if c.is_numeric() {
            3
        } else {
            4
        }
    }
    let mut runs: Vec<Vec<char>> = Vec::new();
    let mut last = 0;
    for c in text.chars() {
        let k = class(c);
        match runs.last_mut() {
            Some(run) if k == last => run.push(c),
            _ => runs.push(vec![c]),
        }
        last = k;
    }
    for i in 0..runs.len().saturating_sub(1) {
        let upper_then_lower = runs[i].first().is_some_and(|c| c.is_uppercase())
            && runs[i + 1].first().is_some_and(|c| c.is_lowercase());
        if upper_then_lower && let Some(c) = runs[i].pop() {
            runs[i + 1].insert(0, c);
        }
    }
    runs.into_iter().filter(|r| !r.is_empty()).map(|r| r.into_iter().collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::smart_label;

    #[test]
    fn smart_labels_match_kubectl() {
        assert_eq!(smart_label("holderIdentity"), "Holder Identity");
        assert_eq!(smart_label("apiVersion"), "API Version");
        assert_eq!(smart_label("uid"), "UID");
        assert_eq!(smart_label("leaseDurationSeconds"), "Lease Duration Seconds");
        assert_eq!(smart_label("podCIDR"), "Pod CIDR");
        assert_eq!(smart_label("a.b/c"), "a.b/c");
    }
}
