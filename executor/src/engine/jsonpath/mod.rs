//! kubectl's JSONPath templates (`-o jsonpath=…`) and custom columns (`-o custom-columns=…`),
//! with the semantics of client-go's `util/jsonpath` as kubectl configures it (missing keys print
//! nothing; maps and lists print as JSON; strings raw; results of one action space-separated).
//!
//! A pure template engine over JSON values: `get` feeds it objects that went through the same
//! cleaning as `-o json|yaml` ([`super::objects`]), so Secret values are already placeholders
//! when a template sees them.

mod columns;
mod eval;
mod gofmt;
mod parser;

use std::borrow::Cow;

use serde_json::Value;

pub use columns::CustomColumns;
use parser::Piece;

use super::EngineError;

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
pub(crate) fn strip_quotes(text: &str) -> &str {
    for q in ['\'', '"'] {
        if let Some(inner) = text.strip_prefix(q).and_then(|t| t.strip_suffix(q)) {
            return inner;
        }
    }
    text
}

#[cfg(test)]
mod tests;
