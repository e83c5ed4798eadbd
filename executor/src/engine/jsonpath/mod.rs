//! kubectl's JSONPath templates (`-o jsonpath=…`) and custom columns (`-o custom-columns=…`),
//! with the semantics of client-go's `util/jsonpath` as kubectl configures it (missing keys print
//! nothing; maps and lists print as JSON; strings raw; results of one action space-separated).
//!
//! Templates run on objects that went through the same cleaning as `-o json|yaml`
//! ([`super::objects`]): Secret values are already placeholders when a template sees them.

mod columns;
mod eval;
mod gofmt;
mod parser;

use std::borrow::Cow;

use kubently_shared::policy::{GetRequest, OutputFormat};
use serde_json::Value;

pub use columns::CustomColumns;
use parser::Piece;

use super::fieldpath::FieldPath;
use super::get::{Fetched, sort_values};
use super::{EngineError, Output, objects, render};

/// A parsed JSONPath template.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    raw: String,
    pieces: Vec<Piece>,
    allow_missing_keys: bool,
}

impl JsonPath {
    /// Parses a template; the error is client-go's parser message (`unclosed action`).
    pub fn parse(template: &str) -> Result<Self, String> {
        Ok(Self { raw: template.to_string(), pieces: parser::parse(template)?, allow_missing_keys: true })
    }

    /// Parses `-o jsonpath=<template>` (quotes around the whole template are dropped, as a shell
    /// would), with kubectl's error text.
    pub fn for_output(template: &str) -> Result<Self, EngineError> {
        let template = strip_quotes(template);
        Self::parse(template).map_err(|e| EngineError::Invalid(format!("error parsing jsonpath {template}, {e}")))
    }

    /// kubectl's `--allow-missing-template-keys` (default true): false makes a missing field the
    /// error `<field> is not found`.
    pub fn allow_missing_keys(mut self, allow: bool) -> Self {
        self.allow_missing_keys = allow;
        self
    }

    /// The values found, one group per piece run (what client-go's `FindResults` returns).
    pub fn find_results(&self, data: &Value) -> Result<Vec<Vec<Value>>, String> {
        let groups = eval::Exec::new(self.allow_missing_keys).find_results(&self.pieces, 0, Cow::Borrowed(data))?;
        Ok(groups.into_iter().map(|g| g.into_iter().map(Cow::into_owned).collect()).collect())
    }

    /// The template's text for `data`; the error is the engine's message (`… is not found`).
    pub fn execute(&self, data: &Value) -> Result<String, String> {
        let groups = eval::Exec::new(self.allow_missing_keys).find_results(&self.pieces, 0, Cow::Borrowed(data))?;
        let mut out = String::new();
        for group in groups {
            for (i, value) in group.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                gofmt::text(value, &mut out);
            }
        }
        Ok(out)
    }

    /// [`Self::execute`] with kubectl's error text (the object dump kubectl appends is left out).
    pub fn print(&self, data: &Value) -> Result<String, EngineError> {
        self.execute(data).map_err(|e| {
            EngineError::Invalid(format!(
                "error executing jsonpath {}: Error executing template: {e}. Printing more information for debugging the template:\n\ttemplate was:\n\t\t{}\n",
                gofmt::go_quote(&self.raw),
                self.raw
            ))
        })
    }
}

/// One layer of matching `'…'` or `"…"` around the whole text.
fn strip_quotes(text: &str) -> &str {
    for q in ['\'', '"'] {
        if let Some(inner) = text.strip_prefix(q).and_then(|t| t.strip_suffix(q)) {
            return inner;
        }
    }
    text
}

/// A parsed `-o jsonpath` / `-o custom-columns` printer.
#[derive(Debug, Clone)]
pub(super) enum Printer {
    JsonPath(JsonPath),
    Columns(CustomColumns),
}

impl Printer {
    /// The printer for `req`'s output format, if it is one of these two.
    pub(super) fn for_request(req: &GetRequest) -> Result<Option<Self>, EngineError> {
        Ok(match &req.output {
            OutputFormat::JsonPath(t) => Some(Self::JsonPath(JsonPath::for_output(t)?)),
            OutputFormat::CustomColumns(spec) => Some(Self::Columns(CustomColumns::parse(strip_quotes(spec))?)),
            _ => None,
        })
    }
}

/// Prints what `get` fetched (already cleaned and redacted): the template runs on the single
/// object for a lone named get, else on kubectl's `v1 List` of everything.
pub(super) fn render(printer: &Printer, fetched: Vec<Fetched<Value>>, single: bool, no_headers: bool, sort_by: Option<&FieldPath>) -> Result<Output, EngineError> {
    let mut errors = Vec::new();
    let mut kinds: Vec<String> = Vec::new();
    let mut items = Vec::new();
    for f in fetched {
        errors.extend(f.errors);
        if !f.found.is_empty() && !kinds.contains(&f.resource.kind) {
            kinds.push(f.resource.kind.clone());
        }
        items.extend(f.found);
    }
    if let Some(path) = sort_by {
        sort_values(&mut items, path, itself);
    }
    let rows = items.len() as u64;
    let kind = (!kinds.is_empty()).then(|| kinds.join(","));
    if single && items.is_empty() && !errors.is_empty() {
        return render::finish(Output { text: String::new(), kind, rows: Some(0) }, errors);
    }
    let mut document = if single && items.len() == 1 { items.pop().unwrap_or_default() } else { objects::list(items) };
    // Defensive: whatever reaches a template is cleaned exactly like `-o json`.
    objects::sanitize(&mut document);
    let text = match printer {
        Printer::JsonPath(template) => match template.print(&document) {
            Ok(text) => text,
            Err(e) => {
                errors.insert(0, e);
                String::new()
            }
        },
        Printer::Columns(columns) => {
            let (text, error) = columns.print(&document, no_headers);
            if let Some(e) = error {
                errors.insert(0, e);
            }
            text
        }
    };
    render::finish(Output { text, kind, rows: Some(rows) }, errors)
}

fn itself(value: &Value) -> Option<&Value> {
    Some(value)
}

#[cfg(test)]
mod tests;
