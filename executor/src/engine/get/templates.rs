//! `get -o jsonpath=…` and `-o custom-columns=…`: the template engine ([`super::super::jsonpath`])
//! run on what `get` fetched (already cleaned and redacted): on the single object for a lone
//! named get, else on kubectl's `v1 List` of everything.

use kubently_shared::policy::{GetRequest, OutputFormat};
use serde_json::Value;

use super::super::fieldpath::FieldPath;
use super::super::jsonpath::{CustomColumns, JsonPath, strip_quotes};
use super::super::{EngineError, Output, objects};
use super::fetched::{Fetched, Gathered, finish};

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
            OutputFormat::CustomColumns(spec) => {
                Some(Self::Columns(CustomColumns::parse(strip_quotes(spec))?))
            }
            _ => None,
        })
    }
}

pub(super) fn render(
    printer: &Printer,
    fetched: Vec<Fetched<Value>>,
    single: bool,
    no_headers: bool,
    sort_by: Option<&FieldPath>,
) -> Result<Output, EngineError> {
    let gathered = Gathered::objects(fetched, sort_by);
    let kind = gathered.kind();
    let Gathered { mut items, mut errors, .. } = gathered;
    let rows = items.len() as u64;
    if single && items.is_empty() && !errors.is_empty() {
        return finish(Output { text: String::new(), kind, rows: Some(0), ..Output::default() }, errors);
    }
    let mut document =
        if single && items.len() == 1 { items.pop().unwrap_or_default() } else { objects::list(items) };
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
    finish(Output { text, kind, rows: Some(rows), ..Output::default() }, errors)
}
