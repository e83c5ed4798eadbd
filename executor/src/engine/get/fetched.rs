//! What `get` read: per target ([`Fetched`]) and gathered over every target ([`Gathered`]),
//! sorted by `--sort-by`; and how a result that met errors is reported ([`finish`]).

use serde_json::Value;

use super::super::discovery::ApiResourceInfo;
use super::super::fieldpath::{self, FieldPath};
use super::super::{EngineError, Output};

/// What one target produced.
#[derive(Debug)]
pub(super) struct Fetched<T> {
    pub resource: ApiResourceInfo,
    pub found: Vec<T>,
    pub errors: Vec<EngineError>,
}

/// Every target's objects in order (sorted when asked), the kinds that produced any, and every
/// error met on the way.
#[derive(Debug)]
pub(super) struct Gathered {
    pub items: Vec<Value>,
    pub kinds: Vec<String>,
    pub errors: Vec<EngineError>,
}

impl Gathered {
    pub fn objects(fetched: Vec<Fetched<Value>>, sort_by: Option<&FieldPath>) -> Self {
        let mut gathered = Self { items: Vec::new(), kinds: Vec::new(), errors: Vec::new() };
        for f in fetched {
            gathered.errors.extend(f.errors);
            if !f.found.is_empty() {
                note_kind(&mut gathered.kinds, &f.resource);
            }
            gathered.items.extend(f.found);
        }
        if let Some(path) = sort_by {
            sort_values(&mut gathered.items, path, itself);
        }
        gathered
    }

    /// `Pod`, `Pod,Service`; `None` when nothing was found.
    pub fn kind(&self) -> Option<String> {
        join_kinds(&self.kinds)
    }
}

/// Sorts rows (or items) by a field path, stably.
pub(super) fn sort_values<T>(items: &mut [T], path: &FieldPath, object: impl Fn(&T) -> Option<&Value>) {
    items.sort_by(|a, b| {
        fieldpath::compare(object(a).and_then(|o| path.find(o)), object(b).and_then(|o| path.find(o)))
    });
}

/// Success, a lone error, or output plus the errors kubectl would have printed after it.
pub(super) fn finish(output: Output, mut errors: Vec<EngineError>) -> Result<Output, EngineError> {
    match errors.len() {
        0 => Ok(output),
        1 if output.text.is_empty() => Err(errors.remove(0)),
        _ => Err(EngineError::Partial { output, errors }),
    }
}

pub(super) fn note_kind(kinds: &mut Vec<String>, resource: &ApiResourceInfo) {
    if !kinds.contains(&resource.kind) {
        kinds.push(resource.kind.clone());
    }
}

pub(super) fn join_kinds(kinds: &[String]) -> Option<String> {
    (!kinds.is_empty()).then(|| kinds.join(","))
}

fn itself(value: &Value) -> Option<&Value> {
    Some(value)
}
