//! `-o custom-columns=HEADER:path,…`: kubectl's `CustomColumnsPrinter`. Each path is relaxed to
//! a template (`.a.b`, `a.b`, `{.a.b}` → `{.a.b}`), values print as Go's `%v` joined by commas,
//! `<none>` when nothing is found, aligned like the tables.

use serde_json::Value;

use super::super::{EngineError, tabwriter};
use super::{JsonPath, TemplateError, gofmt};

/// A parsed custom-columns spec.
#[derive(Debug, Clone)]
pub struct CustomColumns {
    /// Header and template (or the template's parse error, reported when printing, as kubectl does).
    columns: Vec<(String, Result<JsonPath, TemplateError>)>,
}

impl CustomColumns {
    pub fn parse(spec: &str) -> Result<Self, EngineError> {
        if spec.is_empty() {
            return Err(EngineError::Invalid(
                "custom-columns format specified but no custom columns given".into(),
            ));
        }
        let mut columns = Vec::new();
        for part in spec.split(',') {
            let Some((header, path)) = part.split_once(':') else {
                return Err(EngineError::Invalid(format!(
                    "unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>"
                )));
            };
            let template = relaxed(path).ok_or_else(|| {
                EngineError::Invalid("unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or '{.name1.name2}'".into())
            })?;
            columns.push((header.to_string(), JsonPath::parse(&template)));
        }
        Ok(Self { columns })
    }

    /// The aligned table for an object or each item of a list, and the error that stopped it.
    pub fn print(&self, document: &Value, no_headers: bool) -> (String, Option<EngineError>) {
        let mut lines: Vec<Vec<String>> = Vec::new();
        if !no_headers {
            lines.push(self.columns.iter().map(|(h, _)| h.clone()).collect());
        }
        let mut templates = Vec::new();
        for (_, t) in &self.columns {
            match t {
                Ok(t) => templates.push(t),
                Err(e) => return (tabwriter::align(&lines), Some(EngineError::Template(e.clone()))),
            }
        }
        let is_list = document.get("kind").and_then(Value::as_str).is_some_and(|k| k.ends_with("List"));
        let objects: Vec<&Value> = match document.get("items").and_then(Value::as_array) {
            Some(items) if is_list => items.iter().collect(),
            _ => vec![document],
        };
        for object in objects {
            let mut cells = Vec::new();
            for template in &templates {
                match template.find_results(object) {
                    Ok(groups) => cells.push(cell(&groups)),
                    Err(e) => return (tabwriter::align(&lines), Some(EngineError::Template(e))),
                }
            }
            lines.push(cells);
        }
        (tabwriter::align(&lines), None)
    }
}

fn cell(groups: &[Vec<Value>]) -> String {
    let mut values = Vec::new();
    if groups.first().is_none_or(Vec::is_empty) {
        values.push("<none>".to_string());
    }
    for value in groups.iter().flatten() {
        let mut s = String::new();
        gofmt::go_v(value, &mut s);
        values.push(s);
    }
    values.join(",")
}

/// kubectl's `RelaxedJSONPathExpression`: `^\{\.?([^{}]+)\}$|^\.?([^{}]+)$` → `{.…}`.
pub(super) fn relaxed(path: &str) -> Option<String> {
    if path.is_empty() {
        return Some(String::new());
    }
    let no_braces = |s: &str| !s.contains(['{', '}']);
    let body = match path.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
        Some(inner) if !inner.is_empty() && no_braces(inner) => inner,
        _ if no_braces(path) => path,
        _ => return None,
    };
    let body = match body.strip_prefix('.') {
        Some(rest) if !rest.is_empty() => rest,
        _ => body,
    };
    Some(format!("{{.{body}}}"))
}
