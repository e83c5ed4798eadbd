//! Server-side printing: the `meta.k8s.io` `Table` the API server returns for `Accept: …as=Table`,
//! and turning it into kubectl's text (its `decorateTable` + `printTable`): priority-0 columns
//! (all with `-o wide`), upper-cased headers, a `NAMESPACE` column first with `-A`, `kind/name`
//! names when several types are printed, `-L` label columns and `--show-labels`' `LABELS` last.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::age::human_duration;

/// A `meta.k8s.io/v1` (or v1beta1) Table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Table {
    #[serde(default)]
    pub metadata: TableMeta,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub column_definitions: Vec<ColumnDefinition>,
    /// Some API servers (apiextensions for CRs and CRDs) send `null` for no rows.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub rows: Vec<TableRow>,
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TableMeta {
    #[serde(default, rename = "continue", skip_serializing_if = "Option::is_none")]
    pub continue_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ColumnDefinition {
    pub name: String,
    #[serde(default, rename = "type")]
    pub type_: String,
    #[serde(default)]
    pub format: String,
    #[serde(default)]
    pub priority: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TableRow {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub cells: Vec<Value>,
    /// `PartialObjectMetadata` by default, the full object with `includeObject=Object`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<Value>,
}

impl TableRow {
    /// The row object's `metadata`, if the server sent one.
    pub fn metadata(&self) -> Option<&serde_json::Map<String, Value>> {
        self.object.as_ref()?.get("metadata")?.as_object()
    }

    pub fn name(&self) -> Option<&str> {
        self.metadata()?.get("name")?.as_str()
    }

    fn namespace(&self) -> Option<&str> {
        self.metadata()?.get("namespace")?.as_str()
    }

    fn labels(&self) -> BTreeMap<String, String> {
        let labels = self.metadata().and_then(|m| m.get("labels")).and_then(Value::as_object);
        labels
            .map(|l| l.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
            .unwrap_or_default()
    }
}

impl Table {
    /// Appends another chunk's rows (same columns) and takes its continue token.
    pub fn extend(&mut self, chunk: Table) {
        if self.column_definitions.is_empty() {
            self.column_definitions = chunk.column_definitions;
        }
        self.rows.extend(chunk.rows);
        self.metadata = chunk.metadata;
    }

    /// kubectl's client-side default for objects the server will not print: `NAME`, `AGE`.
    pub fn from_objects(items: Vec<Value>, now: time::OffsetDateTime) -> Self {
        let column = |name: &str, format: &str| ColumnDefinition {
            name: name.into(),
            type_: "string".into(),
            format: format.into(),
            priority: 0,
        };
        let rows = items
            .into_iter()
            .map(|item| {
                let meta = item.get("metadata");
                let name = meta.and_then(|m| m.get("name")).cloned().unwrap_or(Value::Null);
                let age = meta
                    .and_then(|m| m.get("creationTimestamp"))
                    .and_then(Value::as_str)
                    .and_then(|t| {
                        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
                    })
                    .map(|t| human_duration(now - t))
                    .unwrap_or_else(|| "<unknown>".into());
                TableRow { cells: vec![name, Value::String(age)], object: Some(item) }
            })
            .collect();
        Self {
            metadata: TableMeta::default(),
            column_definitions: vec![column("Name", "name"), column("Age", "")],
            rows,
        }
    }
}

/// How to print one table (kubectl's `PrintOptions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrintOptions {
    /// `-o wide`: also columns with priority > 0.
    pub wide: bool,
    pub no_headers: bool,
    /// `-A` on a namespaced resource.
    pub with_namespace: bool,
    /// `pod`, `deployment.apps`: prefix names as `kind/name`.
    pub kind_prefix: Option<String>,
    pub show_labels: bool,
    /// `-L` keys.
    pub label_columns: Vec<String>,
}

/// The cells to align: a header line (unless `no_headers`) and one line per row; nothing at all
/// for a table without rows (kubectl prints no header then).
pub fn grid(table: &Table, opts: &PrintOptions) -> Vec<Vec<String>> {
    if table.rows.is_empty() {
        return Vec::new();
    }
    let shown: Vec<usize> = (0..table.column_definitions.len())
        .filter(|&i| opts.wide || table.column_definitions[i].priority == 0)
        .collect();
    let name_column = opts.kind_prefix.as_ref().and_then(|_| {
        table.column_definitions.iter().position(|c| c.format == "name" && c.type_ == "string")
    });
    let label_columns: Vec<&str> = opts
        .label_columns
        .iter()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();

    let mut lines = Vec::with_capacity(table.rows.len() + 1);
    if !opts.no_headers {
        let mut header = Vec::new();
        if opts.with_namespace {
            header.push("NAMESPACE".to_string());
        }
        header.extend(shown.iter().map(|&i| table.column_definitions[i].name.to_uppercase()));
        header.extend(label_columns.iter().map(|l| l.rsplit('/').next().unwrap_or_default().to_uppercase()));
        if opts.show_labels {
            header.push("LABELS".to_string());
        }
        lines.push(header);
    }
    for row in &table.rows {
        let mut line = Vec::with_capacity(shown.len() + 2);
        if opts.with_namespace {
            line.push(row.namespace().map(escape).unwrap_or_default());
        }
        for &i in &shown {
            let cell = row.cells.get(i).map(format_cell).unwrap_or_default();
            match (&opts.kind_prefix, name_column) {
                (Some(kind), Some(n)) if n == i => line.push(format!("{kind}/{cell}")),
                _ => line.push(cell),
            }
        }
        if !label_columns.is_empty() || opts.show_labels {
            let has_meta = row.metadata().is_some();
            let labels = row.labels();
            for key in &label_columns {
                line.push(labels.get(*key).map(|v| escape(v)).unwrap_or_default());
            }
            if opts.show_labels {
                line.push(if has_meta { format_labels(&labels) } else { String::new() });
            }
        }
        lines.push(line);
    }
    lines
}

/// `k=v,k2=v2` or `<none>`, sorted as whole `k=v` strings like Go's `labels.Set.String`
/// (so `app.kubernetes.io/x=…` comes before `app=…`).
pub fn format_labels(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "<none>".into();
    }
    let mut pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.sort();
    pairs.join(",")
}

/// A cell as kubectl prints it: strings cut at the first line break (`...` marks the cut),
/// terminal escapes neutralised, other values as Go's `fmt.Sprint` would show them.
pub fn format_cell(value: &Value) -> String {
    match value {
        Value::String(s) => match s.find(['\n', '\r', '\x0c']) {
            Some(cut) => format!("{}...", escape(&s[..cut])),
            None => escape(s),
        },
        other => escape(&go_sprint(other)),
    }
}

fn go_sprint(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => format!("[{}]", items.iter().map(go_sprint).collect::<Vec<_>>().join(" ")),
        Value::Object(map) => format!(
            "map[{}]",
            map.iter().map(|(k, v)| format!("{k}:{}", go_sprint(v))).collect::<Vec<_>>().join(" ")
        ),
    }
}

/// kubectl's `EscapeTerminal`: ESC → `^[`, CR → `\r`; tabs would break the alignment, so they
/// become spaces.
fn escape(text: &str) -> String {
    if !text.contains(['\x1b', '\r', '\t']) {
        return text.to_string();
    }
    text.replace('\x1b', "^[").replace('\r', "\\r").replace('\t', " ")
}

#[cfg(test)]
mod tests;
