//! `get -o jsonpath=…` and `get -o custom-columns=…` against the real kube-apiserver and the demo
//! scenario, requests parsed by the policy as in production; a few outputs compared byte for
//! byte with kubectl's (when a kubectl binary is around), and every output form checked for
//! Secret values, plain or base64.

use std::path::Path;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kubently_executor::engine::{Engine, EngineError, Output};
use kubently_tests::harness::TestContext;
use kubently_tests::scenario::{ORDERS_API, ORDERS_DB_SECRET, SECRET_VALUES, SHOP_NS};

use crate::support;

const KUBECTL: &str = "/usr/bin/kubectl";

async fn exec(engine: &Engine, args: &[&str]) -> Result<Output, EngineError> {
    support::kubectl(engine, "get", args).await
}

async fn ok(engine: &Engine, args: &[&str]) -> Output {
    let out = exec(engine, args).await.unwrap_or_else(|e| panic!("get {args:?} failed: {e}"));
    support::assert_no_secrets(&format!("get {:?}", args), &out.text);
    out
}

async fn setup() -> (TestContext, Engine) {
    let ctx = TestContext::new().await;
    let engine = Engine::new(ctx.kube.clone());
    (ctx, engine)
}

/// kubectl's stdout for the same arguments, when kubectl is installed.
fn kubectl(ctx: &TestContext, args: &[&str]) -> Option<String> {
    if !Path::new(KUBECTL).exists() {
        return None;
    }
    let out = std::process::Command::new(KUBECTL)
        .arg("--kubeconfig")
        .arg(&ctx.stack.kubeconfig)
        .arg("get")
        .args(args)
        .output()
        .ok()?;
    assert!(out.status.success(), "kubectl get {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

async fn shop_pods(ctx: &TestContext) -> Vec<Pod> {
    let mut pods = Api::<Pod>::namespaced(ctx.kube.clone(), SHOP_NS)
        .list(&ListParams::default())
        .await
        .expect("list pods")
        .items;
    pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    pods
}

fn name_of(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

// ---------------------------------------------------------------- jsonpath

#[tokio::test]
async fn jsonpath_prints_names_space_separated_like_kubectl() {
    let (ctx, engine) = setup().await;
    let args = ["pods", "-n", SHOP_NS, "-o", "jsonpath={.items[*].metadata.name}"];
    let out = ok(&engine, &args).await;
    let want: Vec<String> = shop_pods(&ctx).await.iter().map(name_of).collect();
    assert_eq!(out.text, want.join(" "));
    assert_eq!(out.kind.as_deref(), Some("Pod"));
    if let Some(expected) = kubectl(&ctx, &args) {
        assert_eq!(out.text, expected);
    }
    // Quoted as in a shell, the template means the same.
    let quoted = ok(&engine, &["pods", "-n", SHOP_NS, "-o", "jsonpath='{.items[*].metadata.name}'"]).await;
    assert_eq!(quoted.text, out.text);
}

#[tokio::test]
async fn jsonpath_range_prints_one_line_per_pod_like_kubectl() {
    let (ctx, engine) = setup().await;
    let args = [
        "pods",
        "-n",
        SHOP_NS,
        "-o",
        r#"jsonpath={range .items[*]}{.metadata.name}{"\t"}{.status.phase}{"\n"}{end}"#,
    ];
    let out = ok(&engine, &args).await;
    let pods = shop_pods(&ctx).await;
    assert_eq!(out.text.lines().count(), pods.len(), "{}", out.text);
    for (line, pod) in out.text.lines().zip(&pods) {
        let phase = pod.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
        assert_eq!(line, format!("{}\t{phase}", name_of(pod)));
    }
    if let Some(expected) = kubectl(&ctx, &args) {
        assert_eq!(out.text, expected);
    }
}

#[tokio::test]
async fn jsonpath_filter_finds_the_crashlooping_pod() {
    let (ctx, engine) = setup().await;
    let args = [
        "pods",
        "-n",
        SHOP_NS,
        "-o",
        r#"jsonpath={.items[?(@.status.containerStatuses[0].state.waiting.reason=="CrashLoopBackOff")].metadata.name}"#,
    ];
    let out = ok(&engine, &args).await;
    assert!(out.text.starts_with(&format!("{ORDERS_API}-")) && !out.text.contains(' '), "{:?}", out.text);
    if let Some(expected) = kubectl(&ctx, &args) {
        assert_eq!(out.text, expected);
    }
    // Numeric comparisons and existence tests.
    let restarted = ok(
        &engine,
        &[
            "pods",
            "-n",
            SHOP_NS,
            "-o",
            "jsonpath={.items[?(@.status.containerStatuses[0].restartCount>1)].metadata.name}",
        ],
    )
    .await;
    assert_eq!(restarted.text, out.text);
    let all =
        ok(&engine, &["pods", "-n", SHOP_NS, "-o", "jsonpath={.items[?(@.spec.containers)].metadata.name}"])
            .await;
    assert_eq!(all.text.split(' ').count(), shop_pods(&ctx).await.len());
}

#[tokio::test]
async fn jsonpath_on_one_named_object_sees_the_object() {
    let (ctx, engine) = setup().await;
    let pods = shop_pods(&ctx).await;
    let name = pods.first().map(name_of).expect("a pod");
    let args = [
        "pod",
        name.as_str(),
        "-n",
        SHOP_NS,
        "-o",
        "jsonpath={.kind}/{.metadata.name} {.spec.containers[*].name}",
    ];
    let out = ok(&engine, &args).await;
    assert!(out.text.starts_with(&format!("Pod/{name} ")), "{}", out.text);
    if let Some(expected) = kubectl(&ctx, &args) {
        assert_eq!(out.text, expected);
    }
    let list = ok(&engine, &["pods", "-n", SHOP_NS, "-o", "jsonpath={.kind} {.metadata}"]).await;
    assert_eq!(list.text, r#"List {"resourceVersion":""}"#);
}

#[tokio::test]
async fn jsonpath_errors_read_like_kubectl() {
    let (_ctx, engine) = setup().await;
    let err = exec(&engine, &["pods", "-n", SHOP_NS, "-o", "jsonpath={.items[0].metadata.name"])
        .await
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("error: error parsing jsonpath {.items[0].metadata.name, unclosed action")
    );
    let err = exec(&engine, &["pods", "-n", SHOP_NS, "-o", "jsonpath={.items[99].metadata.name}"])
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.starts_with("error: error executing jsonpath \"{.items[99].metadata.name}\": Error executing template: array index out of bounds: index 99, length "),
        "{err}"
    );
    // Missing keys print nothing, as kubectl's default --allow-missing-template-keys=true.
    assert_eq!(ok(&engine, &["pods", "-n", SHOP_NS, "-o", "jsonpath={.items[*].nope}"]).await.text, "");
}

// ---------------------------------------------------------------- custom-columns

#[tokio::test]
async fn custom_columns_align_like_kubectl() {
    let (ctx, engine) = setup().await;
    let args = [
        "pods",
        "-n",
        SHOP_NS,
        "-o",
        "custom-columns=NAME:.metadata.name,RESTARTS:.status.containerStatuses[0].restartCount",
    ];
    let out = ok(&engine, &args).await;
    let mut lines = out.text.lines();
    let header = lines.next().unwrap_or_default();
    assert!(header.starts_with("NAME ") && header.ends_with("   RESTARTS"), "{header:?}");
    let orders = out.text.lines().find(|l| l.starts_with(ORDERS_API)).unwrap_or_default();
    assert!(orders.ends_with("   47"), "{orders:?}");
    assert_eq!(out.text.lines().count(), shop_pods(&ctx).await.len() + 1);
    assert_eq!(out.rows, Some(shop_pods(&ctx).await.len() as u64));
    if let Some(expected) = kubectl(&ctx, &args) {
        assert_eq!(out.text, expected);
    }
    let args = [
        "pods",
        "-n",
        SHOP_NS,
        "--no-headers",
        "-o",
        "custom-columns=N:metadata.name,L:{.metadata.labels},X:.nope,C:.spec.containers[*].name",
    ];
    let out = ok(&engine, &args).await;
    assert!(out.text.contains("map[app:") && out.text.contains("<none>"), "{}", out.text);
    if let Some(expected) = kubectl(&ctx, &args) {
        assert_eq!(out.text, expected);
    }
    let err = exec(&engine, &["pods", "-n", SHOP_NS, "-o", "custom-columns=NAME"])
        .await
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("error: unexpected custom-columns spec: NAME, expected <header>:<json-path-expr>")
    );
}

#[tokio::test]
async fn more_templates_match_kubectl_byte_for_byte() {
    let (ctx, engine) = setup().await;
    if !Path::new(KUBECTL).exists() {
        return;
    }
    // (`..` over several map keys is left out: Go walks maps in random order.)
    let cases: &[&[&str]] = &[
        &[
            "pods",
            "-n",
            SHOP_NS,
            "-o",
            "jsonpath={.items[0].spec.containers[0].resources} {.items[*].status.containerStatuses[*].ready}",
        ],
        &[
            "pods",
            "-n",
            SHOP_NS,
            "-o",
            "jsonpath={.items[-1:].metadata.name} {.items[0:4:2].metadata.labels.app} {.items[0].spec..containerPort}",
        ],
        &[
            "pods",
            "-n",
            SHOP_NS,
            "-o",
            r#"jsonpath={range .items[*]}{.metadata.name}{range .spec.containers[*]}<{.name}:{.image}>{end}{"\n"}{end}"#,
        ],
        &[
            "pods",
            "-n",
            SHOP_NS,
            "-o",
            r#"jsonpath={.items[?(@.status.phase!="Pending")].status.conditions[?(@.type=="Ready")].status}"#,
        ],
        &[
            "pods,services",
            "-n",
            SHOP_NS,
            "-o",
            r#"jsonpath={range .items[*]}{.kind}/{.metadata.name}{"\n"}{end}"#,
        ],
        &[
            "services",
            "-A",
            "-o",
            "custom-columns=NS:.metadata.namespace,NAME:.metadata.name,PORTS:.spec.ports[*].port,SEL:.spec.selector",
        ],
        &[
            "pods",
            "-n",
            SHOP_NS,
            "--sort-by=.status.containerStatuses[0].restartCount",
            "-o",
            "custom-columns=NAME:.metadata.name,RESTARTS:.status.containerStatuses[0].restartCount",
        ],
        &[
            "nodes",
            "-o",
            "custom-columns=NAME:.metadata.name,CPU:.status.capacity.cpu,READY:.status.conditions[?(@.type==\"Ready\")].status",
        ],
    ];
    for args in cases {
        let out = ok(&engine, args).await;
        if let Some(expected) = kubectl(&ctx, args) {
            assert_eq!(out.text, expected, "get {args:?}");
        }
    }
}

// ---------------------------------------------------------------- secrets

#[tokio::test]
async fn no_output_form_leaks_secret_values() {
    let (_ctx, engine) = setup().await;
    let forms: &[&[&str]] = &[
        &[],
        &["-o", "json"],
        &["-o", "yaml"],
        &["-o", "name"],
        &["-o", "wide"],
        &["--show-labels"],
        &["-o", "jsonpath={.data.password}"],
        &["-o", "jsonpath={.data}"],
        &["-o", "jsonpath={.items[*].data}"],
        &["-o", "jsonpath={..password}"],
        &["-o", "jsonpath={..}"],
        &["-o", "jsonpath={@}"],
        &["-o", "jsonpath={.data.*}{.items[*].data.*}"],
        &["-o", r#"jsonpath={range .items[*]}{.metadata.name}{"\t"}{.data}{.stringData}{"\n"}{end}"#],
        &["-o", "jsonpath={.metadata.annotations}{.items[*].metadata.annotations}"],
        &[
            "-o",
            r#"jsonpath={.items[?(@.data.password=="a3ViZW50bHktY2FuYXJ5LVpwNHFUOXZYMm1Mdw==")].metadata.name}"#,
        ],
        &["-o", "custom-columns=NAME:.metadata.name,DATA:.data"],
        &["-o", "custom-columns=NAME:.metadata.name,PW:.data.password,ALL:.data.*,ANN:.metadata.annotations"],
    ];
    let secret = ["secret", ORDERS_DB_SECRET, "-n", SHOP_NS];
    let all = ["secrets", "-A"];
    for scope in [&secret[..], &all[..]] {
        for form in forms {
            let args: Vec<&str> = scope.iter().chain(form.iter()).copied().collect();
            let out = ok(&engine, &args).await;
            if scope.len() == secret.len()
                && form.iter().any(|f| f.contains("data"))
                && form.iter().all(|f| !f.contains("items") && !f.contains("?("))
            {
                // Maps print as Go's JSON, which writes `<` as `\u003c`.
                assert!(out.text.contains("redacted: "), "get {args:?} shows the placeholder:\n{}", out.text);
            }
        }
    }
    let password =
        ok(&engine, &["secret", ORDERS_DB_SECRET, "-n", SHOP_NS, "-o", "jsonpath={.data.password}"]).await;
    assert_eq!(password.text, format!("<redacted: {} bytes>", SECRET_VALUES[1].1.len()));
    // Guessing a value through a filter finds nothing: the filter sees the placeholder.
    let guess = format!(
        "jsonpath={{.items[?(@.data.password==\"{}\")].metadata.name}}",
        support::base64(SECRET_VALUES[1].1.as_bytes())
    );
    assert_eq!(ok(&engine, &["secrets", "-n", SHOP_NS, "-o", &guess]).await.text, "");

    // Pods reference the Secret; their YAML shows the reference only.
    let yaml = ok(&engine, &["pods", "-n", SHOP_NS, "-o", "yaml"]).await;
    assert!(yaml.text.contains("secretKeyRef:") && yaml.text.contains(ORDERS_DB_SECRET), "{}", yaml.text);
    let env =
        ok(&engine, &["pods", "-n", SHOP_NS, "-o", "jsonpath={.items[*].spec.containers[*].env}"]).await;
    assert!(env.text.contains("secretKeyRef"), "{}", env.text);
}
