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

/// Why a template did not parse, or did not run on the data. The text is client-go's message
/// (`unclosed action`, `nope is not found`), which kubectl prints inside its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("{0}")]
    Parse(String),
    #[error("{0}")]
    Execute(String),
}

/// A parsed JSONPath template.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    raw: String,
    pieces: Vec<Piece>,
    allow_missing_keys: bool,
}

impl JsonPath {
    /// Parses a template; the error is client-go's parser message (`unclosed action`).
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        let pieces = parser::parse(template).map_err(TemplateError::Parse)?;
        Ok(Self { raw: template.to_string(), pieces, allow_missing_keys: true })
    }

    /// Parses `-o jsonpath=<template>` (quotes around the whole template are dropped, as a shell
    /// would), with kubectl's error text.
    pub fn for_output(template: &str) -> Result<Self, EngineError> {
        let template = strip_quotes(template);
        Self::parse(template)
            .map_err(|source| EngineError::JsonPathParse { template: template.to_string(), source })
    }

    /// kubectl's `--allow-missing-template-keys` (default true): false makes a missing field the
    /// error `<field> is not found`.
    pub fn allow_missing_keys(mut self, allow: bool) -> Self {
        self.allow_missing_keys = allow;
        self
    }

    /// The values found, one group per piece run (what client-go's `FindResults` returns).
    pub fn find_results(&self, data: &Value) -> Result<Vec<Vec<Value>>, TemplateError> {
        let groups = eval::Exec::new(self.allow_missing_keys)
            .find_results(&self.pieces, 0, Cow::Borrowed(data))
            .map_err(TemplateError::Execute)?;
        Ok(groups.into_iter().map(|g| g.into_iter().map(Cow::into_owned).collect()).collect())
    }

    /// The template's text for `data`; the error is the engine's message (`… is not found`).
    pub fn execute(&self, data: &Value) -> Result<String, TemplateError> {
        let groups = eval::Exec::new(self.allow_missing_keys)
            .find_results(&self.pieces, 0, Cow::Borrowed(data))
            .map_err(TemplateError::Execute)?;
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
        self.execute(data).map_err(|source| EngineError::JsonPathExecute {
            quoted: gofmt::go_quote(&self.raw),
            template: self.raw.clone(),
            source,
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
