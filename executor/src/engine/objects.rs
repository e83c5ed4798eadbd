//! Objects as `-o json|yaml` prints them: `managedFields` and the
//! `kubectl.kubernetes.io/last-applied-configuration` annotation dropped, Secret values replaced
//! by a size placeholder (keys stay, so an agent still sees what a Secret holds), lists wrapped in
//! kubectl's `v1 List`.

use serde_json::{Map, Value, json};

use super::EngineError;

pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Cleans one object (or each item of a list) in place.
pub fn sanitize(object: &mut Value) {
    if let Some(items) = object.get_mut("items").and_then(Value::as_array_mut) {
        items.iter_mut().for_each(sanitize);
    }
    let Some(map) = object.as_object_mut() else { return };
    if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        let now_empty = meta.get_mut("annotations").and_then(Value::as_object_mut).map(|a| {
            a.remove(LAST_APPLIED);
            a.is_empty()
        });
        if now_empty == Some(true) {
            meta.remove("annotations");
        }
    }
    if is_secret(map) {
        redact_secret(map);
    }
}

/// A core `Secret` (kind `Secret`, apiVersion `v1`, or no apiVersion as in list items).
fn is_secret(map: &Map<String, Value>) -> bool {
    map.get("kind").and_then(Value::as_str) == Some("Secret")
        && map.get("apiVersion").and_then(Value::as_str).is_none_or(|v| v == "v1")
}

/// Replaces every value of `data` (base64) and `stringData` with `<redacted: N bytes>`.
pub fn redact_secret(map: &mut Map<String, Value>) {
    for (field, encoded) in [("data", true), ("stringData", false)] {
        if let Some(values) = map.get_mut(field).and_then(Value::as_object_mut) {
            for value in values.values_mut() {
                let text = value.as_str().unwrap_or_default();
                if is_placeholder(text) {
                    continue;
                }
                let size = if encoded { base64_decoded_len(text) } else { text.len() };
                *value = Value::String(placeholder(size));
            }
        }
    }
}

/// The text that stands in for a Secret value.
pub fn placeholder(bytes: usize) -> String {
    format!("<redacted: {bytes} bytes>")
}

/// Already redacted (base64 never contains `<`, so a real `data` value never looks like this).
fn is_placeholder(text: &str) -> bool {
    text.starts_with("<redacted: ") && text.ends_with(" bytes>")
}

fn base64_decoded_len(text: &str) -> usize {
    let symbols = text.bytes().filter(|b| !b.is_ascii_whitespace() && *b != b'=').count();
    symbols * 3 / 4
}

/// kubectl's wrapper for several objects.
pub fn list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}})
}

/// JSON as kubectl prints it: keys sorted, four-space indent, trailing newline.
pub fn to_json(value: &Value) -> Result<String, EngineError> {
    use serde::Serialize;
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        serde_json::ser::PrettyFormatter::with_indent(b"    "),
    );
    value.serialize(&mut ser).map_err(|e| EngineError::Decode { what: None, source: e.into() })?;
    out.push(b'\n');
    String::from_utf8(out).map_err(|e| EngineError::Decode { what: None, source: e.into() })
}

/// YAML as kubectl prints it (see [`super::yaml`]).
pub fn to_yaml(value: &Value) -> String {
    super::yaml::to_string(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_managed_fields_and_last_applied() {
        let mut obj = json!({"kind": "ConfigMap", "metadata": {"name": "a", "managedFields": [{}], "annotations": {LAST_APPLIED: "{}", "keep": "x"}}});
        sanitize(&mut obj);
        assert_eq!(
            obj,
            json!({"kind": "ConfigMap", "metadata": {"name": "a", "annotations": {"keep": "x"}}})
        );
        let mut obj = json!({"kind": "ConfigMap", "metadata": {"annotations": {LAST_APPLIED: "{}"}}});
        sanitize(&mut obj);
        assert_eq!(obj, json!({"kind": "ConfigMap", "metadata": {}}));
    }

    #[test]
    fn secret_values_become_sizes() {
        let mut list = list(vec![
            json!({"apiVersion": "v1", "kind": "Secret", "data": {"password": "a3ViZW50bHk=", "x": "YQ=="}, "stringData": {"t": "abc"}}),
        ]);
        sanitize(&mut list);
        assert_eq!(
            list["items"][0]["data"],
            json!({"password": "<redacted: 8 bytes>", "x": "<redacted: 1 bytes>"})
        );
        assert_eq!(list["items"][0]["stringData"], json!({"t": "<redacted: 3 bytes>"}));
        let mut again = list.clone();
        sanitize(&mut again);
        assert_eq!(again, list, "redaction is idempotent");
        let mut other = json!({"apiVersion": "example.com/v1", "kind": "Secret", "data": {"a": "b"}});
        sanitize(&mut other);
        assert_eq!(other["data"]["a"], "b", "only core Secrets are redacted");
    }

    #[test]
    fn json_uses_four_spaces_and_sorted_keys() {
        let text = to_json(&list(vec![])).unwrap_or_default();
        assert_eq!(
            text,
            "{\n    \"apiVersion\": \"v1\",\n    \"items\": [],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n"
        );
        let yaml = to_yaml(&list(vec![json!({"b": 1, "a": [1]})]));
        assert_eq!(
            yaml,
            "apiVersion: v1\nitems:\n- a:\n  - 1\n  b: 1\nkind: List\nmetadata:\n  resourceVersion: \"\"\n"
        );
    }
}
