//! `get -o json|yaml`: the object itself when one named object was asked for, else a `v1 List`.

use serde_json::Value;

use super::super::fieldpath::FieldPath;
use super::super::{EngineError, Output, objects};
use super::fetched::{Fetched, Gathered, finish};

pub(super) fn render(
    fetched: Vec<Fetched<Value>>,
    single: bool,
    yaml: bool,
    sort_by: Option<&FieldPath>,
) -> Result<Output, EngineError> {
    let gathered = Gathered::objects(fetched, sort_by);
    let kind = gathered.kind();
    let Gathered { mut items, errors, .. } = gathered;
    let rows = items.len() as u64;
    let document = match (single, items.len()) {
        (_, 0) if !errors.is_empty() => None,
        (true, 1) => items.pop(),
        _ => Some(objects::list(items)),
    };
    let text = match document {
        Some(doc) if yaml => objects::to_yaml(&doc),
        Some(doc) => objects::to_json(&doc)?,
        None => String::new(),
    };
    finish(Output { text, kind, rows: Some(rows), ..Output::default() }, errors)
}
