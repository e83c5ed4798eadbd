//! Shapes only newer API servers have, which the 1.20 test cluster cannot show: aggregated
//! discovery (`apidiscovery.k8s.io/v2`, 1.30+), `batch/v1` CronJob and `policy/v1`
//! PodDisruptionBudget tables. A `tower-test` mock plays the API server. Its bodies follow the
//! v2 discovery and meta/v1 Table types field for field as a 1.30 server sends them (built by
//! hand: no newer apiserver can be built offline here).

use std::sync::{Arc, Mutex};

use http::{Request, Response};
use kube::client::Body;
use kubently_shared::policy::{self, CommandInput, PolicyConfig};
use serde_json::{Value, json};

use super::{Engine, ExecOptions};

fn resource(
    plural: &str,
    singular: &str,
    group: &str,
    version: &str,
    kind: &str,
    short: &[&str],
    categories: &[&str],
) -> Value {
    json!({
        "resource": plural, "singularResource": singular, "scope": "Namespaced",
        "responseKind": {"group": group, "version": version, "kind": kind},
        "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        "shortNames": short, "categories": categories,
        "subresources": [{"subresource": "status", "responseKind": {"group": group, "version": version, "kind": kind}, "verbs": ["get", "patch", "update"]}],
    })
}

fn group(name: &str, version: &str, resources: Vec<Value>) -> Value {
    json!({"metadata": {"name": name, "creationTimestamp": null}, "versions": [{"version": version, "resources": resources, "freshness": "Current"}]})
}

fn aggregated(items: Vec<Value>) -> Value {
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

fn column(name: &str, kind: &str, priority: i32) -> Value {
    json!({"name": name, "type": kind, "format": if name == "Name" { "name" } else { "" }, "description": "", "priority": priority})
}

fn table(columns: Vec<Value>, rows: Vec<(&str, Vec<Value>)>) -> Value {
    json!({
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": "4242"},
        "columnDefinitions": columns,
        "rows": rows.into_iter().map(|(name, cells)| json!({
            "cells": cells,
            "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                "metadata": {"name": name, "namespace": "prod", "uid": "9d0b7c1e-4d7e-4c59-9a47-2f6d1c3b8a11", "creationTimestamp": "2026-11-01T00:00:00Z"}},
        })).collect::<Vec<_>>(),
    })
}

/// What the mock API server answers, by path; records every path asked for.
fn respond(path: &str) -> (u16, Value) {
    match path {
        "/api" => (
            200,
            aggregated(vec![group(
                "",
                "v1",
                vec![resource("pods", "pod", "", "v1", "Pod", &["po"], &["all"])],
            )]),
        ),
        "/apis" => (
            200,
            aggregated(vec![
                group(
                    "batch",
                    "v1",
                    vec![
                        resource("cronjobs", "cronjob", "batch", "v1", "CronJob", &["cj"], &["all"]),
                        resource("jobs", "job", "batch", "v1", "Job", &[], &["all"]),
                    ],
                ),
                group(
                    "policy",
                    "v1",
                    vec![resource(
                        "poddisruptionbudgets",
                        "poddisruptionbudget",
                        "policy",
                        "v1",
                        "PodDisruptionBudget",
                        &["pdb"],
                        &[],
                    )],
                ),
            ]),
        ),
        "/apis/batch/v1/namespaces/prod/cronjobs" => (
            200,
            table(
                vec![
                    column("Name", "string", 0),
                    column("Schedule", "string", 0),
                    column("Timezone", "string", 0),
                    column("Suspend", "boolean", 0),
                    column("Active", "integer", 0),
                    column("Last Schedule", "date", 0),
                    column("Age", "date", 0),
                    column("Containers", "string", 1),
                    column("Images", "string", 1),
                    column("Selector", "string", 1),
                ],
                vec![(
                    "nightly-report",
                    vec![
                        json!("nightly-report"),
                        json!("0 3 * * *"),
                        json!("<none>"),
                        json!("False"),
                        json!(0),
                        json!("20h"),
                        json!("20d"),
                        json!("report"),
                        json!("ghcr.io/acme/report:1.4"),
                        json!("<none>"),
                    ],
                )],
            ),
        ),
        "/apis/policy/v1/namespaces/prod/poddisruptionbudgets" => (
            200,
            table(
                vec![
                    column("Name", "string", 0),
                    column("Min Available", "string", 0),
                    column("Max Unavailable", "string", 0),
                    column("Allowed Disruptions", "integer", 0),
                    column("Age", "date", 0),
                ],
                vec![("web", vec![json!("web"), json!("2"), json!("N/A"), json!(1), json!("20d")])],
            ),
        ),
        _ => (
            404,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "the server could not find the requested resource", "reason": "NotFound", "code": 404}),
        ),
    }
}

fn mock_engine() -> (Engine, Arc<Mutex<Vec<String>>>) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Some((request, send)) = handle.next_request().await {
            let path = request.uri().path().to_string();
            log.lock().expect("log").push(path.clone());
            let (status, body) = respond(&path);
            let response = Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Body::from(body.to_string().into_bytes()))
                .expect("response");
            send.send_response(response);
        }
    });
    (Engine::new(kube::Client::new(service, "default")), seen)
}

async fn run(engine: &Engine, command_type: &str, args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let request = policy::parse(
        &CommandInput { command_type, args: &args, extra_args: &[], namespace: None },
        &PolicyConfig::default(),
    )
    .expect("policy");
    engine.execute(&request, &ExecOptions::default()).await.map(|o| o.text).unwrap_or_else(|e| e.to_string())
}

#[tokio::test]
async fn aggregated_discovery_resolves_short_names_without_per_group_requests() {
    let (engine, seen) = mock_engine();
    let out = run(&engine, "api-resources", &[]).await;
    for line in ["cronjobs ", "poddisruptionbudgets ", "pods "] {
        assert!(out.lines().any(|l| l.starts_with(line)), "{line:?} missing:\n{out}");
    }
    assert!(out.contains("batch/v1") && out.contains("policy/v1"), "{out}");
    let paths = seen.lock().expect("log").clone();
    assert!(
        paths.iter().all(|p| p == "/api" || p == "/apis"),
        "aggregated discovery needs no per-group reads: {paths:?}"
    );
}

#[tokio::test]
async fn cronjobs_are_batch_v1_and_pdbs_policy_v1_on_newer_servers() {
    let (engine, seen) = mock_engine();
    let cj = run(&engine, "get", &["cj", "-n", "prod"]).await;
    assert_eq!(
        cj.lines().next().map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "AGE"]),
        "{cj}"
    );
    assert!(cj.contains("nightly-report") && cj.contains("0 3 * * *") && cj.contains("False"), "{cj}");
    let pdb = run(&engine, "get", &["pdb", "-n", "prod"]).await;
    assert!(pdb.starts_with("NAME") && pdb.contains("MIN AVAILABLE") && pdb.contains("web"), "{pdb}");
    let paths = seen.lock().expect("log").clone();
    assert!(paths.contains(&"/apis/batch/v1/namespaces/prod/cronjobs".to_string()), "{paths:?}");
    assert!(paths.contains(&"/apis/policy/v1/namespaces/prod/poddisruptionbudgets".to_string()), "{paths:?}");
}
