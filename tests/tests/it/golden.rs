//! The golden corpus: every verb the engine answers, run on the demo scenario and compared with
//! stored snapshots (insta, `tests/tests/it/snapshots/`). What differs between clusters and runs —
//! pod name suffixes, ages, pod IPs, timestamps, uids, resource versions — is masked first.
//! Update after an intended change with `INSTA_UPDATE=always cargo test --test it golden`.

use kubently_executor::engine::Engine;
use kubently_tests::harness::TestContext;

use crate::support;

/// (snapshot name, argv). Only demo namespaces (tests create and delete others concurrently), and
/// only outputs that do not change with the cluster's age (the scheduler keeps adding
/// FailedScheduling events to Pending pods; live access logs move with the clock).
pub(crate) const CORPUS: &[(&str, &[&str])] = &[
    ("get_pods_shop", &["get", "pods", "-n", "demo-shop"]),
    ("get_pods_batch_wide", &["get", "pods", "-n", "demo-batch", "-o", "wide"]),
    ("get_all_shop", &["get", "all", "-n", "demo-shop"]),
    ("get_deploy_svc_shop", &["get", "deploy,svc", "-n", "demo-shop"]),
    ("get_jobs_batch", &["get", "jobs", "-n", "demo-batch"]),
    ("get_secret_yaml", &["get", "secret", "orders-db-credentials", "-n", "demo-shop", "-o", "yaml"]),
    ("get_cm_json", &["get", "cm", "storefront-config", "-n", "demo-shop", "-o", "json"]),
    ("get_pods_name", &["get", "pods", "-n", "demo-shop", "-l", "app=storefront", "-o", "name"]),
    ("get_unknown_type", &["get", "nosuchthing"]),
    ("get_not_found", &["get", "pods", "nope", "-n", "demo-shop"]),
    ("logs_orders_previous", &["logs", "deploy/orders-api", "-n", "demo-shop", "--previous"]),
    ("logs_orders_tail", &["logs", "deploy/orders-api", "-n", "demo-shop", "--tail", "3"]),
    ("describe_orders_pod", &["describe", "pods", "-n", "demo-shop", "-l", "app=orders-api"]),
    ("describe_svc_payments", &["describe", "svc", "payments", "-n", "demo-shop"]),
    ("describe_secret", &["describe", "secret", "orders-db-credentials", "-n", "demo-shop"]),
    ("describe_cm", &["describe", "cm", "storefront-config", "-n", "demo-shop"]),
    ("events_for_deploy", &["events", "--for", "deploy/orders-api", "-n", "demo-shop"]),
    (
        "rollout_status_storefront",
        &["rollout", "status", "deploy/storefront", "-n", "demo-shop", "--watch=false"],
    ),
    ("rollout_history_storefront", &["rollout", "history", "deploy/storefront", "-n", "demo-shop"]),
    ("top_pods", &["top", "pods", "-n", "demo-shop"]),
    ("explain_container_resources", &["explain", "pods.spec.containers.resources"]),
    (
        "get_pods_jsonpath",
        &[
            "get",
            "pods",
            "-n",
            "demo-shop",
            "-o",
            "jsonpath={range .items[*]}{.metadata.labels.app}{\"\\t\"}{.status.phase}{\"\\n\"}{end}",
        ],
    ),
    (
        "get_pods_custom_columns",
        &[
            "get",
            "pods",
            "-n",
            "demo-batch",
            "-o",
            "custom-columns=APP:.metadata.labels.app,RESTARTS:.status.containerStatuses[0].restartCount",
        ],
    ),
    ("version", &["version"]),
    ("api_resources_apps", &["api-resources", "--api-group=apps"]),
];

/// Masks one whitespace-free token.
fn mask(token: &str) -> String {
    let (lead, rest) = token.split_at(token.find(|c: char| c.is_ascii_alphanumeric()).unwrap_or(token.len()));
    let end = rest.rfind(|c: char| c.is_ascii_alphanumeric()).map_or(0, |i| i + 1);
    let (core, trail) = rest.split_at(end);
    let masked = if support::is_age(core) {
        "<age>".to_string()
    } else if core.starts_with("10.244.") {
        "<pod-ip>".to_string()
    } else if core.starts_with("10.96.") {
        "<cluster-ip>".to_string()
    } else if (core.len() >= 20 && core.chars().nth(4) == Some('-') && core.chars().nth(10) == Some('T'))
        || (core.starts_with(|c: char| c.is_ascii_digit()) && core.contains('/') && core.contains(':'))
    {
        "<time>".to_string() // RFC 3339, or an access-log time like 21/Nov/2026:19:09:13
    } else if core.len() == 36 && core.matches('-').count() == 4 {
        "<uid>".to_string()
    } else {
        // `<app>-<template hash>-<5 random>`: keep the app and template hash (deterministic).
        let parts: Vec<&str> = core.rsplitn(2, '-').collect();
        match parts.as_slice() {
            [suffix, head]
                if suffix.len() == 5
                    && head.contains('-')
                    && suffix.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) =>
            {
                format!("{head}-<pod>")
            }
            _ => core.to_string(),
        }
    };
    format!("{lead}{masked}{trail}")
}

/// Keys whose values are per-run (times, runtime ids): the value is masked whole.
const PER_RUN_KEYS: &[&str] =
    &["Start Time:", "Started:", "Finished:", "CreationTimestamp:", "Container ID:", "Last Schedule Time:"];

pub(crate) fn normalise(text: &str) -> String {
    text.lines()
        .map(|line| {
            if let Some(key) = PER_RUN_KEYS.iter().find(|k| line.trim_start().starts_with(**k)) {
                let indent = line.len() - line.trim_start().len();
                return format!("{}{key} <per-run>", " ".repeat(indent));
            }
            let indent = line.len() - line.trim_start().len();
            let words: Vec<String> = line.split_whitespace().map(mask).collect();
            let mut out = " ".repeat(indent);
            out.push_str(&words.join(" "));
            // resourceVersion / generation-like numbers change with every write.
            if out.trim_start().starts_with("resourceVersion:")
                || out.trim_start().starts_with("\"resourceVersion\":")
            {
                out = format!("{}resourceVersion: <rv>", " ".repeat(indent));
            }
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn golden_corpus_of_every_verb_on_the_demo_scenario() {
    let ctx = TestContext::new().await;
    let engine = Engine::new(ctx.kube.clone());
    for (name, argv) in CORPUS {
        let text = match support::kubectl(&engine, argv[0], &argv[1..]).await {
            Ok(o) => o.text,
            Err(e) => format!("{}{e}", e.partial_output().map(|o| o.text.clone()).unwrap_or_default()),
        };
        insta::assert_snapshot!(
            format!("golden_{name}"),
            normalise(&text),
            &format!("kubectl {}", argv.join(" "))
        );
    }
}

#[test]
fn masking_keeps_what_is_stable() {
    assert_eq!(mask("storefront-9b8cc4576-hdzs8"), "storefront-9b8cc4576-<pod>");
    assert_eq!(mask("pod/orders-api-8676c9c87b-5kdtf"), "pod/orders-api-8676c9c87b-<pod>");
    assert_eq!(mask("27m"), "<age>");
    assert_eq!(mask("10.244.0.12"), "<pod-ip>");
    assert_eq!(mask("\"2026-11-21T18:21:01Z\","), "\"<time>\",");
    assert_eq!(mask("[21/Nov/2026:19:09:13"), "[<time>");
    assert_eq!(mask("demo-shop"), "demo-shop");
    assert_eq!(mask("CrashLoopBackOff"), "CrashLoopBackOff");
}
