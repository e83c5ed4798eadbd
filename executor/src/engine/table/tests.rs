use serde_json::json;

use super::*;
use crate::engine::tabwriter::align;

/// A pod list Table as kube-apiserver 1.20 sends it (descriptions shortened).
fn pods_table() -> Table {
    serde_json::from_value(json!({
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": "504"},
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": "", "priority": 0},
            {"name": "Ready", "type": "string", "format": "", "description": "", "priority": 0},
            {"name": "Status", "type": "string", "format": "", "description": "", "priority": 0},
            {"name": "Restarts", "type": "integer", "format": "", "description": "", "priority": 0},
            {"name": "Age", "type": "string", "format": "", "description": "", "priority": 0},
            {"name": "IP", "type": "string", "format": "", "description": "", "priority": 1},
            {"name": "Node", "type": "string", "format": "", "description": "", "priority": 1},
            {"name": "Nominated Node", "type": "string", "format": "", "description": "", "priority": 1},
            {"name": "Readiness Gates", "type": "string", "format": "", "description": "", "priority": 1}
        ],
        "rows": [
            {"cells": ["checkout-78956bb89d-pkwqm", "0/1", "Running", 0, "8m35s", "10.0.0.5", "kubently-node-1", "<none>", "<none>"],
             "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                        "metadata": {"name": "checkout-78956bb89d-pkwqm", "namespace": "demo-shop", "labels": {"app": "checkout", "pod-template-hash": "78956bb89d"}}}},
            {"cells": ["orders-api-8676c9c87b-5kdtf", "0/1", "CrashLoopBackOff", 47, "8m35s", "10.0.0.6", "kubently-node-1", "<none>", "<none>"],
             "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                        "metadata": {"name": "orders-api-8676c9c87b-5kdtf", "namespace": "demo-shop", "labels": {"app": "orders-api"}}}}
        ]
    }))
    .expect("table parses")
}

fn render(table: &Table, opts: &PrintOptions) -> String {
    align(&grid(table, opts))
}

#[test]
fn default_columns_like_kubectl() {
    let text = render(&pods_table(), &PrintOptions::default());
    assert_eq!(
        text,
        "NAME                          READY   STATUS             RESTARTS   AGE\n\
         checkout-78956bb89d-pkwqm     0/1     Running            0          8m35s\n\
         orders-api-8676c9c87b-5kdtf   0/1     CrashLoopBackOff   47         8m35s\n"
    );
}

#[test]
fn wide_adds_priority_columns() {
    let text = render(&pods_table(), &PrintOptions { wide: true, ..Default::default() });
    let header = text.lines().next().unwrap_or_default();
    assert_eq!(
        header,
        "NAME                          READY   STATUS             RESTARTS   AGE     IP         NODE              NOMINATED NODE   READINESS GATES"
    );
}

#[test]
fn namespace_kind_and_labels_decorate_rows() {
    let opts = PrintOptions {
        with_namespace: true,
        kind_prefix: Some("pod".into()),
        show_labels: true,
        label_columns: vec!["app".into(), "example.com/tier".into()],
        ..Default::default()
    };
    let text = render(&pods_table(), &opts);
    assert_eq!(
        text,
        "NAMESPACE   NAME                              READY   STATUS             RESTARTS   AGE     APP          TIER   LABELS\n\
         demo-shop   pod/checkout-78956bb89d-pkwqm     0/1     Running            0          8m35s   checkout            app=checkout,pod-template-hash=78956bb89d\n\
         demo-shop   pod/orders-api-8676c9c87b-5kdtf   0/1     CrashLoopBackOff   47         8m35s   orders-api          app=orders-api\n"
    );
}

#[test]
fn no_headers_and_empty_tables() {
    let text = render(&pods_table(), &PrintOptions { no_headers: true, ..Default::default() });
    assert_eq!(text.lines().count(), 2);
    assert!(
        text.starts_with("checkout-78956bb89d-pkwqm     0/1   Running            0     8m35s\n"),
        "{text}"
    );
    let empty = Table { rows: Vec::new(), ..pods_table() };
    assert!(grid(&empty, &PrintOptions::default()).is_empty(), "no rows, no header");
}

#[test]
fn cells_are_printed_like_kubectl() {
    assert_eq!(format_cell(&json!("line one\nline two")), "line one...");
    assert_eq!(format_cell(&json!("\u{1b}[31mred")), "^[[31mred");
    assert_eq!(format_cell(&json!(47)), "47");
    assert_eq!(format_cell(&json!(true)), "true");
    assert_eq!(format_cell(&json!(null)), "");
    assert_eq!(format_cell(&json!(["a", "b"])), "[a b]");
    assert_eq!(format_labels(&BTreeMap::new()), "<none>");
    let labels: BTreeMap<String, String> = [("app", "x"), ("app.kubernetes.io/part-of", "demo")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(format_labels(&labels), "app.kubernetes.io/part-of=demo,app=x");
}

#[test]
fn objects_without_server_printing_get_name_and_age() {
    let now = time::macros::datetime!(2024-01-01 01:00:00 UTC);
    let table = Table::from_objects(
        vec![json!({"metadata": {"name": "x", "creationTimestamp": "2024-01-01T00:00:00Z"}})],
        now,
    );
    assert_eq!(render(&table, &PrintOptions::default()), "NAME   AGE\nx      60m\n");
}

#[test]
fn chunks_concatenate() {
    let mut first = pods_table();
    first.metadata.continue_token = Some("abc".into());
    let second = pods_table();
    first.extend(second);
    assert_eq!(first.rows.len(), 4);
    assert_eq!(first.metadata.continue_token, None);
}

#[test]
fn null_rows_mean_no_rows() {
    let table: Table =
        serde_json::from_value(json!({"kind": "Table", "columnDefinitions": null, "rows": null}))
            .expect("null rows parse");
    assert!(table.rows.is_empty() && table.column_definitions.is_empty());
}
