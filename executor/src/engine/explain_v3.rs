//! `explain` from the server's OpenAPI v3 documents (served from Kubernetes 1.27 on; 1.23–1.26
//! behind a feature gate), printed as kubectl prints them by default (its `plaintext` template):
//!
//! ```text
//! GROUP:      apps                     (only for a named group)
//! KIND:       Deployment
//! VERSION:    v1
//!
//! FIELD: replicas <integer>            (when a field path is given)
//!
//!
//! DESCRIPTION:
//!     Number of desired pods. …        (wrapped at 76 columns, indented 4, then a line of 4 blanks)
//!
//! FIELDS:
//!   name<TAB><type> -required-      (two blanks per level, a tab before the type)
//!     description …
//! ```
//!
//! The document of the resource's group-version is read from `/openapi/v3` (its
//! `serverRelativeURL`); a server that does not serve `/openapi/v3` gets the v2 layout
//! ([`super::explain`]), as kubectl falls back. The rendering follows kubectl's template step by
//! step, including its quirks (a `FIELD` line followed by two blank lines, the enum lists, the
//! type names guessed from `$ref`s, descriptions gathered through `allOf`, `items` and
//! `additionalProperties`).

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::EngineError;
use super::discovery::ApiResourceInfo;
use super::http::{self, ACCEPT_JSON};

/// The group-version document for `resource`, or `None` when the server serves no OpenAPI v3
/// (kubectl then explains from v2).
pub(super) async fn document(
    client: &kube::Client,
    resource: &ApiResourceInfo,
) -> Result<Option<Value>, EngineError> {
    let Ok(paths) = http::get_json(client, "/openapi/v3", ACCEPT_JSON).await else {
        return Ok(None);
    };
    let key = if resource.group.is_empty() {
        format!("api/{}", resource.version)
    } else {
        format!("apis/{}/{}", resource.group, resource.version)
    };
    let url = paths
        .pointer(&format!("/paths/{}", key.replace('~', "~0").replace('/', "~1")))
        .and_then(|p| p.get("serverRelativeURL"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            EngineError::Invalid(format!("couldn't find resource for \"{}\"", gvr_string(resource)))
        })?;
    Ok(Some(http::get_json(client, url, ACCEPT_JSON).await?))
}

/// client-go's `GroupVersionResource.String()`.
fn gvr_string(r: &ApiResourceInfo) -> String {
    format!("{}/{}, Resource={}", r.group, r.version, r.plural)
}

/// kubectl's explain text for `resource` and the field path `fields` from `document`.
pub(super) fn render(
    document: &Value,
    resource: &ApiResourceInfo,
    fields: &[&str],
    recursive: bool,
) -> Result<String, EngineError> {
    let doc = Doc { root: document, recursive };
    let gvk = doc.gvk(resource).ok_or_else(|| {
        EngineError::Invalid(format!("GVR ({}) not found in OpenAPI schema", gvr_string(resource)))
    })?;
    let mut out = String::new();
    let group = gvk.get("group").and_then(Value::as_str).unwrap_or_default();
    if !group.is_empty() {
        out.push_str(&format!("GROUP:      {group}\n"));
    }
    out.push_str(&format!("KIND:       {}\n", scalar(gvk.get("kind"))));
    out.push_str(&format!("VERSION:    {}\n\n", scalar(gvk.get("version"))));
    let schemas = document.pointer("/components/schemas").and_then(Value::as_object);
    let mut names: Vec<&String> = schemas.map(|s| s.keys().collect()).unwrap_or_default();
    names.sort();
    let schema = names.into_iter().filter_map(|n| schemas.and_then(|s| s.get(n))).find(|s| {
        s.get("x-kubernetes-group-version-kind").and_then(Value::as_array).is_some_and(|l| l.contains(gvk))
    });
    let Some(schema) = schema else {
        return Err(EngineError::Invalid(format!("GVK {} not found in OpenAPI schema", go_map(gvk))));
    };
    let body = doc.output(schema, &HashSet::new(), fields);
    if body.is_empty() {
        // As kubectl: the header is already out (its stdout) when the error comes (its stderr).
        let last = fields.last().copied().unwrap_or_default();
        return Err(EngineError::Partial {
            output: super::Output { text: out, kind: Some("Explain".into()), ..super::Output::default() },
            errors: vec![EngineError::Invalid(format!("field \"{last}\" does not exist"))],
        });
    }
    out.push_str(&body);
    out.push('\n');
    Ok(out)
}

/// A document and the options of one explain.
struct Doc<'a> {
    root: &'a Value,
    recursive: bool,
}

/// Go template truth: `false`, 0, `""`, `null` and empty lists and maps are false.
fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// `additionalProperties` that is a schema (not `true`/`false`).
fn additional(schema: &Value) -> Option<&Value> {
    schema.get("additionalProperties").filter(|a| truthy(Some(a)) && !a.is_boolean())
}

fn str_of<'v>(schema: &'v Value, key: &str) -> &'v str {
    schema.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn properties(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object).filter(|p| !p.is_empty())
}

fn all_of(schema: &Value) -> &[Value] {
    schema.get("allOf").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

/// How Go's template prints a decoded JSON value.
fn scalar(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "<no value>".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Go's `%v` of a `map[string]interface{}`: `map[group:apps kind:Deployment version:v1]`.
fn go_map(v: &Value) -> String {
    let mut pairs: Vec<String> = v
        .as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{k}:{}", scalar(Some(v)))).collect())
        .unwrap_or_default();
    pairs.sort();
    format!("map[{}]", pairs.join(" "))
}

/// kubectl's `indent`: the padding before the text and after every newline.
fn indent(amount: usize, text: &str) -> String {
    let pad = " ".repeat(amount);
    format!("{pad}{}", text.replace('\n', &format!("\n{pad}")))
}

/// `github.com/mitchellh/go-wordwrap`'s `WrapString`, which kubectl's `wrap` uses: breaks at
/// whitespace so lines stay within `limit` characters where words allow, keeps existing newlines,
/// never splits a word, and drops the whitespace a break replaces.
pub(super) fn wrap(limit: usize, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut current, mut word, mut space) = (0usize, String::new(), String::new());
    let (mut word_len, mut space_len) = (0usize, 0usize);
    for c in text.chars() {
        if c == '\n' {
            if word.is_empty() {
                if current + space_len <= limit {
                    out.push_str(&space);
                }
            } else {
                out.push_str(&space);
                out.push_str(&word);
                word.clear();
                word_len = 0;
            }
            space.clear();
            space_len = 0;
            out.push(c);
            current = 0;
        } else if c.is_whitespace() && c != '\u{a0}' {
            if space.is_empty() || !word.is_empty() {
                current += space_len + word_len;
                out.push_str(&space);
                out.push_str(&word);
                space.clear();
                space_len = 0;
                word.clear();
                word_len = 0;
            }
            space.push(c);
            space_len += 1;
        } else {
            word.push(c);
            word_len += 1;
            if current + space_len + word_len > limit && word_len < limit {
                out.push('\n');
                current = 0;
                space.clear();
                space_len = 0;
            }
        }
    }
    if word.is_empty() {
        if current + space_len <= limit {
            out.push_str(&space);
        }
    } else {
        out.push_str(&space);
        out.push_str(&word);
    }
    out
}

impl<'a> Doc<'a> {
    /// `$ref` `#/a/b` resolved in the document.
    fn resolve(&self, reference: &str) -> Option<&'a Value> {
        let pointer = reference.strip_prefix('#')?;
        self.root.pointer(pointer)
    }

    /// The schema a `$ref` names, else the schema itself.
    fn resolved(&self, schema: &'a Value) -> &'a Value {
        self.resolve(str_of(schema, "$ref")).unwrap_or(schema)
    }

    /// The kind served at the resource's paths (the last operation met that names one, as the
    /// template's loops leave it).
    fn gvk(&self, r: &ApiResourceInfo) -> Option<&'a Value> {
        let prefix = if r.group.is_empty() { "/api".to_string() } else { format!("/apis/{}", r.group) };
        let (v, res) = (&r.version, &r.plural);
        let candidates = [
            format!("{prefix}/{v}/{res}"),
            format!("{prefix}/{v}/{res}/{{name}}"),
            format!("{prefix}/{v}/namespaces/{{namespace}}/{res}"),
            format!("{prefix}/{v}/namespaces/{{namespace}}/{res}/{{name}}"),
        ];
        let paths = self.root.get("paths")?;
        let mut gvk = None;
        for path in candidates.iter().filter_map(|p| paths.get(p)).filter(|p| truthy(Some(p))) {
            for method in ["get", "post", "put", "patch", "delete"] {
                let Some(operation) = path.get(method).filter(|o| truthy(Some(o))) else { continue };
                gvk = operation.get("x-kubernetes-group-version-kind").filter(|g| truthy(Some(g)));
                if gvk.is_some() {
                    break;
                }
            }
        }
        gvk
    }

    /// The template's `output`: follows `path` down, then the description and the fields.
    fn output(&self, schema: &'a Value, history: &HashSet<&'a str>, path: &[&str]) -> String {
        let reference = str_of(schema, "$ref");
        let mut next = history.clone();
        next.insert(reference);
        let resolved = self.resolved(schema);
        if path.is_empty() {
            let mut out = String::from("DESCRIPTION:\n");
            let mut description = self.description(resolved);
            if description.is_empty() {
                description = "<empty>".into();
            }
            out.push_str(&indent(4, &wrap(76, &description)));
            out.push('\n');
            let docs = external_docs(resolved, 0);
            if !docs.is_empty() {
                out.push('\n');
                out.push_str(&docs);
            }
            let fields = self.field_list(resolved, 1, &HashSet::new());
            if !fields.is_empty() {
                out.push_str("FIELDS:\n");
                out.push_str(&fields);
            }
            return out;
        }
        if !reference.is_empty() && history.contains(reference) {
            return String::new();
        }
        if let Some(sub) = properties(resolved).and_then(|p| p.get(path[0])).filter(|s| truthy(Some(s))) {
            let mut out = String::new();
            if path.len() == 1 {
                out.push_str(&format!("FIELD: {} <{}>\n", path[0], self.type_guess(sub)));
                out.push_str(&extract_enum(sub, true, None, 0));
                out.push_str("\n\n");
            }
            out.push_str(&self.output(sub, &HashSet::new(), &path[1..]));
            return out;
        }
        if let Some(items) = resolved.get("items").filter(|i| truthy(Some(i))) {
            return self.output(items, &next, path);
        }
        if let Some(inner) = additional(resolved) {
            return self.output(inner, &next, path);
        }
        all_of(resolved)
            .iter()
            .map(|sub| self.output(sub, &next, path))
            .find(|o| !o.is_empty())
            .unwrap_or_default()
    }

    /// Every description met through `$ref`, `allOf`, `items` and `additionalProperties`.
    fn description(&self, schema: &'a Value) -> String {
        let r = self.resolved(schema);
        if !truthy(Some(r)) {
            return String::new();
        }
        let mut out = String::new();
        let own = str_of(r, "description");
        if !own.is_empty() {
            out.push_str(own);
            out.push('\n');
        }
        for sub in all_of(r) {
            out.push_str(&self.description(sub));
        }
        if let Some(items) = r.get("items").filter(|i| truthy(Some(i))) {
            out.push_str(&self.description(items));
        }
        if let Some(inner) = additional(r) {
            out.push_str(&self.description(inner));
        }
        out
    }

    /// The template's `fieldList`: each field of the schema (sorted), and with `--recursive`
    /// their fields below them; cycles through `$ref`s are cut.
    fn field_list(&self, schema: &'a Value, level: usize, history: &HashSet<&'a str>) -> String {
        let reference = str_of(schema, "$ref");
        if !reference.is_empty() && history.contains(reference) {
            return String::new();
        }
        let mut next = history.clone();
        next.insert(reference);
        let resolved = self.resolved(schema);
        let mut out = String::new();
        if let Some(props) = properties(resolved) {
            let mut names: Vec<&String> = props.keys().collect();
            names.sort();
            for name in names {
                out.push_str(&self.field_detail(name, resolved, level));
                if self.recursive {
                    out.push_str(&self.field_list(&props[name], level + 1, &next));
                }
            }
        }
        for sub in all_of(resolved) {
            out.push_str(&self.field_list(sub, level, &next));
        }
        if let Some(items) = resolved.get("items").filter(|i| truthy(Some(i))) {
            out.push_str(&self.field_list(items, level, &next));
        }
        if let Some(inner) = additional(resolved) {
            out.push_str(&self.field_list(inner, level, &next));
        }
        out
    }

    /// One field: `name<TAB><type> -required-`, its enum, and (not recursive) its description.
    fn field_detail(&self, name: &str, container: &'a Value, level: usize) -> String {
        let pad = level * 2;
        let field = container.pointer(&format!("/properties/{}", name.replace('~', "~0").replace('/', "~1")));
        let field = field.unwrap_or(&Value::Null);
        let mut out = format!("{}{name}\t<{}>", " ".repeat(pad), self.type_guess(field));
        let required =
            container.get("required").and_then(Value::as_array).is_some_and(|r| r.iter().any(|n| n == name));
        if required {
            out.push_str(" -required-");
        }
        out.push_str(&extract_enum(field, false, Some(4), pad));
        out.push('\n');
        if !self.recursive {
            let description = match str_of(field, "description") {
                "" => "<no description>",
                d => d,
            };
            out.push_str(&indent(pad + 2, &wrap(78usize.saturating_sub(pad), description)));
            out.push('\n');
            if let Some(docs) = field.get("externalDocs").filter(|d| truthy(Some(d))) {
                out.push('\n');
                out.push_str(&indent(pad + 2, "EXTERNAL DOCS:"));
                out.push('\n');
                let text = str_of(docs, "description");
                if !text.is_empty() {
                    out.push_str(&indent(pad + 4, &wrap(76usize.saturating_sub(pad), text)));
                    out.push('\n');
                }
                let url = str_of(docs, "url");
                if !url.is_empty() {
                    out.push_str(&indent(pad + 4, &format!("URL: {url}")));
                    out.push('\n');
                }
            }
            out.push('\n');
        }
        out
    }

    /// The template's `typeGuess`: `string`, `Object`, `[]Container`, `map[string]string`, the
    /// name a `$ref` ends with for objects, the referred type for primitives.
    fn type_guess(&self, schema: &'a Value) -> String {
        if let Some(items) = schema.get("items").filter(|i| truthy(Some(i))) {
            return format!("[]{}", self.type_guess(items));
        }
        if let Some(inner) = additional(schema) {
            return format!("map[string]{}", self.type_guess(inner));
        }
        let all = all_of(schema);
        if all.len() == 1 && properties(schema).is_none() {
            return self.type_guess(&all[0]);
        }
        let reference = str_of(schema, "$ref");
        if !reference.is_empty() {
            let target = self.resolve(reference);
            let primitive = target.map(|t| str_of(t, "type")).filter(|t| !t.is_empty() && *t != "object");
            return match primitive {
                Some(t) => t.to_string(),
                None => {
                    let name = reference.rsplit('/').next().unwrap_or_default();
                    match name.rsplit('.').next().unwrap_or_default() {
                        "" => "Object".into(),
                        last => last.to_string(),
                    }
                }
            };
        }
        match str_of(schema, "type") {
            "object" | "" => "Object".into(),
            other => other.to_string(),
        }
    }
}

/// The template's `externalDocs` for a schema (`EXTERNAL DOCS:`, description, URL).
fn external_docs(schema: &Value, pad: usize) -> String {
    let Some(docs) = schema.get("externalDocs").filter(|d| truthy(Some(d))) else { return String::new() };
    let mut out = indent(pad, "EXTERNAL DOCS:");
    out.push('\n');
    let text = str_of(docs, "description");
    if !text.is_empty() {
        out.push_str(&indent(pad + 4, &wrap(76, text)));
        out.push('\n');
    }
    let url = str_of(docs, "url");
    if !url.is_empty() {
        out.push_str(&indent(pad + 4, &format!("URL: {url}")));
        out.push('\n');
    }
    out
}

/// The template's `extractEnum`: `ENUM:` and one value per line (long view), or
/// `\n<pad>enum: a, b, c, d, ....` (at most `limit` values).
fn extract_enum(schema: &Value, long: bool, limit: Option<usize>, pad: usize) -> String {
    let Some(values) = schema.get("enum").and_then(Value::as_array).filter(|e| !e.is_empty()) else {
        return String::new();
    };
    let mut out = if long { "ENUM:".to_string() } else { format!("\n{}enum: ", " ".repeat(pad)) };
    for (i, v) in values.iter().enumerate() {
        if limit.is_some_and(|l| i >= l) {
            out.push_str(", ....");
            break;
        }
        if long {
            out.push_str("\n    ");
        } else if i > 0 {
            out.push_str(", ");
        }
        match v {
            Value::String(s) if s.is_empty() => out.push_str("\"\""),
            other => out.push_str(&scalar(Some(other))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn wraps_like_go_wordwrap() {
        assert_eq!(wrap(10, "one two three four"), "one two\nthree four");
        assert_eq!(wrap(5, "abcdefghij k"), "abcdefghij\nk", "a long word stays whole");
        assert_eq!(wrap(20, "a\n\nb"), "a\n\nb", "newlines stay");
        assert_eq!(wrap(76, "short\n"), "short\n");
    }

    #[test]
    fn type_guesses_follow_kubectls_template() {
        let root = json!({"components": {"schemas": {"v1.Time": {"type": "string"}, "io.k8s.X": {"type": "object"}}}});
        let doc = Doc { root: &root, recursive: false };
        let guess = |s: Value| doc.type_guess(Box::leak(Box::new(s)));
        assert_eq!(guess(json!({"$ref": "#/components/schemas/v1.Time"})), "string");
        assert_eq!(guess(json!({"allOf": [{"$ref": "#/components/schemas/io.k8s.X"}]})), "X");
        assert_eq!(guess(json!({"type": "array", "items": {"type": "number"}})), "[]number");
        assert_eq!(guess(json!({"type": "array"})), "array");
        assert_eq!(guess(json!({"type": "object"})), "Object");
        assert_eq!(guess(json!({"type": "string", "additionalProperties": true})), "string");
        assert_eq!(
            guess(
                json!({"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}})
            ),
            "map[string][]string"
        );
        assert_eq!(
            guess(
                json!({"items": {"allOf": [{"$ref": "io.k8s.apiextensions.v1.CustomResourceValidation"}]}})
            ),
            "[]CustomResourceValidation"
        );
        assert_eq!(guess(json!({})), "Object");
    }

    #[test]
    fn enums_and_fields_print_as_the_template_does() {
        let field = json!({"enum": ["Block", "File", ""]});
        assert_eq!(extract_enum(&field, true, None, 0), "ENUM:\n    Block\n    File\n    \"\"");
        let many = json!({"enum": ["a", "b", "c", "d", "e"]});
        assert_eq!(extract_enum(&many, false, Some(4), 2), "\n  enum: a, b, c, d, ....");
        let root = json!({});
        let doc = Doc { root: &root, recursive: false };
        let container: &'static Value = Box::leak(Box::new(json!({"required": ["thefield"],
            "properties": {"thefield": {"type": "string", "description": "a description"}}})));
        assert_eq!(
            doc.field_detail("thefield", container, 0),
            "thefield\t<string> -required-\n  a description\n\n"
        );
        assert_eq!(
            doc.field_detail("thefield", container, 5),
            "          thefield\t<string> -required-\n            a description\n\n"
        );
    }
}
