//! The engine's other verbs against the real kube-apiserver 1.20 and the demo scenario: `events`,
//! `logs` (workloads, selectors, containers, tails), `rollout status|history`, `top` (no
//! metrics-server here), `explain` and `cluster-info`. Requests come from the policy parser, as
//! they do in production.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, PostParams};
use kubently_executor::engine::{Engine, EngineError, ExecOptions, Output};
use kubently_shared::policy::{CommandInput, PolicyConfig, parse};
use kubently_tests::harness::TestContext;
use kubently_tests::scenario::{BATCH_NS, SHOP_NS};

use crate::support;

async fn exec(engine: &Engine, verb: &str, args: &[&str]) -> Result<Output, EngineError> {
    let out = support::kubectl_within(engine, verb, args, Duration::from_secs(10)).await;
    if let Ok(o) = &out {
        support::assert_no_secrets(&format!("{verb} {args:?}"), &o.text);
    }
    out
}

async fn ok(engine: &Engine, verb: &str, args: &[&str]) -> Output {
    exec(engine, verb, args).await.unwrap_or_else(|e| panic!("{verb} {args:?} failed: {e}"))
}

async fn setup() -> (TestContext, Engine) {
    let ctx = TestContext::new().await;
    let engine = Engine::new(ctx.kube.clone());
    (ctx, engine)
}

async fn pod_of(ctx: &TestContext, ns: &str, app: &str) -> String {
    let pods = Api::<Pod>::namespaced(ctx.kube.clone(), ns)
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .expect("list pods");
    pods.items.first().and_then(|p| p.metadata.name.clone()).unwrap_or_else(|| panic!("no {app} pod"))
}

// ---------------------------------------------------------------- events

#[tokio::test]
async fn events_show_failed_scheduling_like_kubectl() {
    let (_ctx, engine) = setup().await;
    let out = ok(&engine, "events", &["-n", BATCH_NS]).await;
    let first = out.text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("LAST SEEN")
            && first.contains("TYPE")
            && first.contains("REASON")
            && first.contains("OBJECT")
            && first.ends_with("MESSAGE"),
        "{first}"
    );
    assert!(out.text.contains("FailedScheduling"), "{}", out.text);
    assert!(out.text.contains("Pod/ml-trainer-"), "{}", out.text);

    let warnings = ok(&engine, "events", &["-n", BATCH_NS, "--types", "Warning"]).await;
    assert!(warnings.text.lines().skip(1).all(|l| l.contains(" Warning ")), "{}", warnings.text);
    assert!(warnings.text.lines().count() > 1);

    let all = ok(&engine, "events", &["-A", "--no-headers"]).await;
    assert!(!all.text.contains("LAST SEEN"));
    assert!(
        all.text.lines().any(|l| l.starts_with(BATCH_NS)) && all.text.lines().any(|l| l.starts_with(SHOP_NS))
    );
}

#[tokio::test]
async fn events_for_one_object_and_as_json() {
    let (ctx, engine) = setup().await;
    let orders = pod_of(&ctx, SHOP_NS, "orders-api").await;
    let out = ok(&engine, "events", &["-n", SHOP_NS, "--for", &format!("pod/{orders}")]).await;
    assert!(out.text.contains("BackOff"), "{}", out.text);
    assert!(out.text.lines().skip(1).all(|l| l.contains(&format!("Pod/{orders}"))), "{}", out.text);

    let json = ok(&engine, "events", &["-n", SHOP_NS, "-o", "json"]).await;
    let value: serde_json::Value = serde_json::from_str(&json.text).expect("events -o json is JSON");
    assert_eq!(value["kind"], "EventList");
    assert!(value["items"].as_array().is_some_and(|i| !i.is_empty()));

    let ns = ctx.namespace("events").await;
    let empty = ok(&engine, "events", &["-n", &ns.name]).await;
    assert_eq!(empty.text, format!("No events found in {} namespace.\n", ns.name));
}

// ---------------------------------------------------------------- logs

#[tokio::test]
async fn logs_of_a_deployment_previous_end_in_the_traceback() {
    let (_ctx, engine) = setup().await;
    let out = ok(&engine, "logs", &["deploy/orders-api", "--previous", "-n", SHOP_NS]).await;
    let tail: Vec<&str> = out.text.trim_end().lines().rev().take(2).collect();
    assert!(tail.iter().any(|l| l.contains("OperationalError") && l.contains("port 5432")), "{}", out.text);
}

#[tokio::test]
async fn logs_by_selector_prefix_lines_and_tail_limits() {
    let (ctx, engine) = setup().await;
    let out = ok(&engine, "logs", &["-l", "app=storefront", "-n", SHOP_NS]).await;
    assert!(!out.text.is_empty());
    assert!(
        out.text.lines().all(|l| l.starts_with("[pod/storefront-") && l.contains("/nginx] ")),
        "{}",
        out.text
    );

    let pod = pod_of(&ctx, SHOP_NS, "storefront").await;
    let tail = ok(&engine, "logs", &[&pod, "--tail", "3", "-n", SHOP_NS]).await;
    assert_eq!(tail.text.lines().count(), 3, "{}", tail.text);
    let stamped =
        ok(&engine, "logs", &[&format!("pod/{pod}"), "--tail=2", "--timestamps", "-n", SHOP_NS]).await;
    assert!(
        stamped
            .text
            .lines()
            .all(|l| l.starts_with("20") && l.split(' ').next().is_some_and(|t| t.ends_with('Z'))),
        "{}",
        stamped.text
    );
    let limited = ok(&engine, "logs", &[&pod, "--limit-bytes=20", "-n", SHOP_NS]).await;
    assert!(limited.text.len() <= 20, "{:?}", limited.text);
    let all = ok(&engine, "logs", &[&pod, "--all-containers", "--tail=1", "-n", SHOP_NS]).await;
    assert_eq!(all.text.lines().count(), 1, "one container, no prefix: {}", all.text);

    // A workload with several pods: one pod's logs, and kubectl's note (its stderr) as a notice.
    let deploy = ok(&engine, "logs", &["deploy/storefront", "--tail", "2", "-n", SHOP_NS]).await;
    assert!(
        deploy.notices.len() == 1 && deploy.notices[0].starts_with("Found 3 pods, using pod/storefront-"),
        "{:?}",
        deploy.notices
    );
    assert_eq!(deploy.text.lines().count(), 2, "{}", deploy.text);
}

#[tokio::test]
async fn logs_of_a_pod_with_several_containers_need_a_container() {
    let (ctx, engine) = setup().await;
    let ns = ctx.namespace("logs").await;
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "two"},
        "spec": {"containers": [{"name": "a", "image": "busybox"}, {"name": "b", "image": "busybox"}]}
    }))
    .expect("pod body");
    Api::<Pod>::namespaced(ctx.kube.clone(), &ns.name)
        .create(&PostParams::default(), &pod)
        .await
        .expect("create pod");
    let err = exec(&engine, "logs", &["two", "-n", &ns.name]).await.expect_err("needs a container");
    assert!(
        err.to_string().contains("a container name must be specified for pod two, choose one of: [a b]"),
        "{err}"
    );
}

#[tokio::test]
async fn logs_follow_stops_at_the_deadline() {
    let (ctx, engine) = setup().await;
    let pod = pod_of(&ctx, SHOP_NS, "storefront").await;
    let started = Instant::now();
    let out = ok(&engine, "logs", &["-f", "--tail", "1", &pod, "-n", SHOP_NS]).await;
    assert!(started.elapsed() < Duration::from_secs(11));
    assert!(!out.text.is_empty());

    // Several pods are followed at once, each line tagged with its source.
    let started = Instant::now();
    let out = ok(&engine, "logs", &["-f", "--tail", "1", "-l", "app=storefront", "-n", SHOP_NS]).await;
    assert!(started.elapsed() < Duration::from_secs(11));
    let pods: std::collections::BTreeSet<&str> = out
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("[pod/"))
        .filter_map(|l| l.split('/').next())
        .collect();
    assert_eq!(pods.len(), 3, "{}", out.text);
}

// ---------------------------------------------------------------- rollout

#[tokio::test]
async fn rollout_status_and_history() {
    let (_ctx, engine) = setup().await;
    let status = ok(&engine, "rollout", &["status", "deploy/storefront", "-n", SHOP_NS]).await;
    assert_eq!(status.text, "deployment \"storefront\" successfully rolled out\n");

    // Within its 10-minute progress deadline the crash-looping rollout is still "waiting"; after
    // it, kubectl (and we) report the deadline as an error. A fresh cluster shows the first.
    let stuck = match exec(
        &engine,
        "rollout",
        &["status", "deploy/orders-api", "-n", SHOP_NS, "--watch=false"],
    )
    .await
    {
        Ok(out) => out.text,
        Err(e) => e.to_string(),
    };
    assert!(
        stuck.contains("Waiting for deployment \"orders-api\" rollout to finish")
            || stuck.contains("deployment \"orders-api\" exceeded its progress deadline"),
        "{stuck}"
    );

    let history = ok(&engine, "rollout", &["history", "deploy/storefront", "-n", SHOP_NS]).await;
    assert_eq!(history.text, "deployment.apps/storefront \nREVISION  CHANGE-CAUSE\n1         <none>\n\n");

    let revision =
        ok(&engine, "rollout", &["history", "deploy/storefront", "-n", SHOP_NS, "--revision=1"]).await;
    assert!(
        revision.text.starts_with(
            "deployment.apps/storefront with revision #1\nPod Template:\n  Labels:\tapp=storefront\n"
        ),
        "{}",
        revision.text
    );
    assert!(revision.text.contains("    Image:\tnginx:"), "{}", revision.text);
}

#[tokio::test]
async fn rollout_status_waits_until_the_deadline_and_daemon_sets_have_history() {
    let (ctx, engine) = setup().await;
    let ns = ctx.namespace("rollout").await;
    let pod_spec = serde_json::json!({
        "metadata": {"labels": {"app": "stuck"}},
        "spec": {"nodeSelector": {"kubently.dev/none": "x"}, "containers": [{"name": "c", "image": "busybox"}]}
    });
    let deploy: k8s_openapi::api::apps::v1::Deployment = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "stuck"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "stuck"}}, "template": pod_spec}
    }))
    .expect("deployment body");
    Api::namespaced(ctx.kube.clone(), &ns.name)
        .create(&PostParams::default(), &deploy)
        .await
        .expect("create deployment");
    let ds: k8s_openapi::api::apps::v1::DaemonSet = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "stuck"}}, "template": pod_spec}
    }))
    .expect("daemon set body");
    Api::namespaced(ctx.kube.clone(), &ns.name)
        .create(&PostParams::default(), &ds)
        .await
        .expect("create daemon set");

    let started = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(5);
    let args: Vec<String> =
        ["status", "deploy/stuck", "-n", &ns.name].iter().map(|a| a.to_string()).collect();
    let req = parse(
        &CommandInput { command_type: "rollout", args: &args, extra_args: &[], namespace: None },
        &PolicyConfig::default(),
    )
    .expect("parses");
    let out = engine
        .execute(&req, &ExecOptions { deadline: Some(deadline), ..Default::default() })
        .await
        .expect("status answers before the deadline");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        out.text
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("Waiting for deployment") && l.contains("\"stuck\"")),
        "{}",
        out.text
    );

    // The DaemonSet controller writes its first ControllerRevision right away.
    let mut history = String::new();
    for _ in 0..20 {
        history = ok(&engine, "rollout", &["history", "ds/agent", "-n", &ns.name]).await.text;
        if history.contains("\n1 ") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(history, "daemonset.apps/agent \nREVISION  CHANGE-CAUSE\n1         <none>\n\n");
    let revision = ok(&engine, "rollout", &["history", "ds/agent", "-n", &ns.name, "--revision=1"]).await;
    assert!(
        revision
            .text
            .starts_with("daemonset.apps/agent with revision #1\nPod Template:\n  Labels:\tapp=stuck\n"),
        "{}",
        revision.text
    );
}

// ---------------------------------------------------------------- top, explain, cluster-info

#[tokio::test]
async fn top_says_metrics_are_not_available() {
    let (_ctx, engine) = setup().await;
    let err = exec(&engine, "top", &["pods", "-n", SHOP_NS]).await.expect_err("no metrics-server");
    let text = err.to_string();
    assert!(text.starts_with("error: Metrics API not available"), "{text}");
    assert!(text.contains("metrics-server"), "{text}");
}

#[tokio::test]
async fn explain_reads_the_servers_openapi() {
    let (_ctx, engine) = setup().await;
    let out = ok(&engine, "explain", &["pods.spec.containers"]).await;
    assert!(
        out.text
            .starts_with("KIND:     Pod\nVERSION:  v1\n\nRESOURCE: containers <[]Object>\n\nDESCRIPTION:\n"),
        "{}",
        out.text
    );
    assert!(out.text.contains("\n   image\t<string>\n"), "{}", out.text);

    let recursive = ok(&engine, "explain", &["deploy.spec", "--recursive"]).await;
    assert!(
        recursive.text.contains("   selector\t<Object>\n      matchExpressions\t<[]Object>\n"),
        "{}",
        recursive.text
    );

    let err = exec(&engine, "explain", &["pods.spec.nope"]).await.expect_err("unknown field");
    assert_eq!(err.to_string(), "error: field \"nope\" does not exist");
}

#[tokio::test]
async fn cluster_info_names_the_control_plane() {
    let (_ctx, engine) = setup().await;
    let out = ok(&engine, "cluster-info", &[]).await;
    assert!(out.text.starts_with("Kubernetes control plane is running"), "{}", out.text);
    assert!(
        out.text.contains("v1.20"),
        "without a known server URL, the version and the service address: {}",
        out.text
    );
    assert!(
        out.text.ends_with(
            "\n\nTo further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.\n"
        )
    );
}
