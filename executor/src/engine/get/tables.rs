//! `get`'s tables as kubectl prints them: one aligned table per resource type (a blank line
//! between them), or `kind/name` lines for `-o name`.

use kubently_shared::policy::{GetRequest, NamespaceScope, OutputFormat};
use serde_json::Value;

use super::super::discovery::ApiResourceInfo;
use super::super::fieldpath::FieldPath;
use super::super::table::{PrintOptions, Table, grid};
use super::super::{EngineError, Output, tabwriter};
use super::fetched::{Fetched, finish, join_kinds, note_kind, sort_values};

/// Tables (default, `-o wide`, `-o name`). `namespace_note` is the namespace to name in
/// "No resources found in … namespace." (`None`: plain "No resources found").
pub(super) fn render(
    fetched: Vec<Fetched<Table>>,
    req: &GetRequest,
    namespace_note: Option<&str>,
    sort_by: Option<&FieldPath>,
) -> Result<Output, EngineError> {
    let mut errors = Vec::new();
    let mut kinds = Vec::new();
    let mut types = Vec::new();
    let mut groups: Vec<(ApiResourceInfo, Table)> = Vec::new();
    for f in fetched {
        errors.extend(f.errors);
        for table in f.found {
            note_kind(&mut kinds, &f.resource);
            if !types.contains(&f.resource.kind_prefix()) {
                types.push(f.resource.kind_prefix());
            }
            match groups.last_mut() {
                Some((resource, acc)) if same_resource(resource, &f.resource) => acc.extend(table),
                _ => groups.push((f.resource.clone(), table)),
            }
        }
    }
    // kubectl prefixes names with their kind when the answer spans several types.
    let with_kind = req.show_kind || types.len() > 1;
    let mut text = String::new();
    let mut rows = 0u64;
    for (resource, mut table) in groups {
        if let Some(path) = sort_by {
            sort_values(&mut table.rows, path, |r| r.object.as_ref());
        }
        rows += table.rows.len() as u64;
        if req.output == OutputFormat::Name {
            for row in &table.rows {
                let name = row
                    .name()
                    .map(str::to_string)
                    .or_else(|| row.cells.first().and_then(Value::as_str).map(str::to_string))
                    .unwrap_or_default();
                text.push_str(&format!("{}/{name}\n", resource.kind_prefix()));
            }
            continue;
        }
        let opts = PrintOptions {
            wide: req.output == OutputFormat::Wide,
            no_headers: req.no_headers,
            with_namespace: req.namespace == NamespaceScope::All && resource.namespaced,
            kind_prefix: with_kind.then(|| resource.kind_prefix()),
            show_labels: req.show_labels,
            label_columns: req.label_columns.clone(),
        };
        let lines = grid(&table, &opts);
        if lines.is_empty() {
            continue;
        }
        if !text.is_empty() && !req.no_headers {
            text.push('\n');
        }
        text.push_str(&tabwriter::align(&lines));
    }
    if text.is_empty() && errors.is_empty() && req.output != OutputFormat::Name {
        text = match namespace_note {
            Some(ns) => format!("No resources found in {ns} namespace.\n"),
            None => "No resources found\n".to_string(),
        };
    }
    finish(Output { text, kind: join_kinds(&kinds), rows: Some(rows), ..Output::default() }, errors)
}

fn same_resource(a: &ApiResourceInfo, b: &ApiResourceInfo) -> bool {
    a.group == b.group && a.plural == b.plural
}
