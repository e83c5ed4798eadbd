//! The kubectl engine against the real kube-apiserver 1.20 and the demo scenario: `get` (tables,
//! wide, several types, names, selectors, `-A`, json/yaml/name, Secrets), `version`,
//! `api-resources`, and kubectl's error texts.

use std::time::Instant;

use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, ListParams, PostParams};
use kubently_executor::engine::{Engine, EngineError, ExecOptions, Output};
use kubently_shared::policy::{
    ApiResourcesOutput, ApiResourcesRequest, GetRequest, KubectlRequest, NamespaceScope, OutputFormat,
    ResourceRef,
};
use kubently_tests::harness::TestContext;
use kubently_tests::scenario::{self, BATCH_NS, SHOP_NS};

// ---------------------------------------------------------------- helpers

fn target(resource: &str, names: &[&str]) -> ResourceRef {
    ResourceRef { resource: resource.into(), names: names.iter().map(|n| n.to_string()).collect() }
}

/// `get <resources>` in a namespace, kubectl's defaults otherwise.
fn get(targets: Vec<ResourceRef>, namespace: NamespaceScope) -> GetRequest {
    GetRequest {
        targets,
        namespace,
        label_selector: None,
        field_selector: None,
        output: OutputFormat::Table,
        show_labels: false,
        label_columns: Vec::new(),
        no_headers: false,
        show_kind: false,
        sort_by: None,
        chunk_size: None,
    }
}

fn in_ns(ns: &str) -> NamespaceScope {
    NamespaceScope::Namespace(ns.into())
}

fn api_resources(output: ApiResourcesOutput) -> ApiResourcesRequest {
    ApiResourcesRequest { namespaced: None, api_group: None, verbs: Vec::new(), output, no_headers: false }
}

async fn run(engine: &Engine, req: KubectlRequest) -> Result<Output, EngineError> {
    engine.execute(&req, &ExecOptions::default()).await
}

async fn run_get(engine: &Engine, req: GetRequest) -> Output {
    let shown = format!("{req:?}");
    run(engine, KubectlRequest::Get(req)).await.unwrap_or_else(|e| panic!("{shown} failed: {e}"))
}

/// Cells of an aligned table: kubectl separates columns by at least three spaces and cells never
/// contain two, so splitting on runs of spaces recovers them.
fn cells(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| l.split("   ").map(str::trim).filter(|c| !c.is_empty()).map(str::to_string).collect())
        .collect()
}

fn header(text: &str) -> Vec<String> {
    cells(text).into_iter().next().unwrap_or_default()
}

fn assert_aligned(text: &str) {
    // Every column starts at the same offset on each line of one table (tables split at blank lines).
    for table in text.split("\n\n") {
        let lines: Vec<&str> = table.lines().collect();
        let Some(first) = lines.first() else { continue };
        let starts = |l: &str| -> Vec<usize> {
            let b = l.as_bytes();
            (1..b.len())
                .filter(|&i| b[i] != b' ' && b[i - 1] == b' ' && i >= 3 && &l[i - 3..i] == "   ")
                .collect()
        };
        let want = starts(first);
        for line in &lines[1..] {
            let got = starts(line);
            assert!(
                got.iter().all(|s| want.contains(s)) || got.len() < want.len(),
                "misaligned line {line:?} vs header {first:?}\n{text}"
            );
        }
    }
}

async fn pod_names(ctx: &TestContext, ns: &str, app: &str) -> Vec<String> {
    let pods = Api::<Pod>::namespaced(ctx.kube.clone(), ns)
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .expect("list pods");
    pods.items.into_iter().filter_map(|p| p.metadata.name).collect()
}

fn engine(ctx: &TestContext) -> Engine {
    Engine::new(ctx.kube.clone())
}

// ---------------------------------------------------------------- get: tables

#[tokio::test]
async fn get_pods_prints_kubectls_table() {
    let ctx = TestContext::new().await;
    let out = run_get(&engine(&ctx), get(vec![target("pods", &[])], in_ns(SHOP_NS))).await;
    assert_eq!(header(&out.text), ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], "{}", out.text);
    assert!(out.text.starts_with("NAME   ") && out.text.ends_with('\n'));
    assert!(out.text.contains("CrashLoopBackOff") && out.text.contains("orders-api-"), "{}", out.text);
    let orders =
        cells(&out.text).into_iter().find(|r| r[0].starts_with("orders-api-")).expect("orders-api row");
    assert_eq!(orders[1..4], ["0/1", "CrashLoopBackOff", "47"]);
    assert_eq!(out.kind.as_deref(), Some("Pod"));
    assert_eq!(out.rows, Some(5), "3 storefront + orders-api + checkout:\n{}", out.text);
    assert_aligned(&out.text);
}

#[tokio::test]
async fn get_pods_in_all_namespaces_adds_namespace_first() {
    let ctx = TestContext::new().await;
    let engine = engine(&ctx);
    let out = run_get(&engine, get(vec![target("po", &[])], NamespaceScope::All)).await;
    assert_eq!(header(&out.text), ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    let rows = cells(&out.text);
    assert!(rows.iter().any(|r| r[0] == SHOP_NS) && rows.iter().any(|r| r[0] == BATCH_NS), "{}", out.text);
    assert_aligned(&out.text);

    // Chunked listing (limit + continue) gives the same rows.
    let mut chunked = get(vec![target("pods", &[])], NamespaceScope::All);
    chunked.chunk_size = Some(2);
    chunked.no_headers = true;
    // Only the demo namespaces: tests running alongside create and delete pods elsewhere.
    let demo = |t: &str| {
        cells(t)
            .into_iter()
            .filter(|r| r[0] == SHOP_NS || r[0] == BATCH_NS)
            .map(|r| format!("{}/{}", r[0], r[1]))
            .collect::<Vec<_>>()
    };
    let small = run_get(&engine, chunked).await;
    assert_eq!(demo(&small.text), demo(&out.text), "chunks of 2 concatenate to the full list");
    assert!(demo(&small.text).len() >= 11, "{}", small.text);
}

#[tokio::test]
async fn several_types_print_kind_slash_name_tables() {
    let ctx = TestContext::new().await;
    let out =
        run_get(&engine(&ctx), get(vec![target("pods", &[]), target("svc", &[])], in_ns(SHOP_NS))).await;
    let tables: Vec<&str> = out.text.split("\n\n").collect();
    assert_eq!(tables.len(), 2, "a blank line between the pod and the service table:\n{}", out.text);
    assert_eq!(header(tables[0]), ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    assert_eq!(header(tables[1]), ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]);
    assert!(cells(tables[0])[1..].iter().all(|r| r[0].starts_with("pod/")), "{}", out.text);
    assert!(out.text.contains("service/storefront "), "{}", out.text);
    assert_eq!(out.kind.as_deref(), Some("Pod,Service"));
    assert_aligned(&out.text);
}

#[tokio::test]
async fn get_all_lists_the_all_category() {
    let ctx = TestContext::new().await;
    let out = run_get(&engine(&ctx), get(vec![target("all", &[])], in_ns(SHOP_NS))).await;
    let prefixes: Vec<String> = out
        .text
        .split("\n\n")
        .map(|t| cells(t)[1][0].split('/').next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(prefixes, ["pod", "service", "deployment.apps", "replicaset.apps"], "{}", out.text);
    assert!(out.text.contains("deployment.apps/storefront ") && out.text.contains("3/3"), "{}", out.text);

    let batch = run_get(&engine(&ctx), get(vec![target("all", &[])], in_ns(BATCH_NS))).await;
    assert!(batch.text.contains("job.batch/nightly-migration "), "{}", batch.text);
}

#[tokio::test]
async fn get_deployment_wide_by_name() {
    let ctx = TestContext::new().await;
    let mut req = get(vec![target("deploy", &[scenario::STOREFRONT])], in_ns(SHOP_NS));
    req.output = OutputFormat::Wide;
    let out = run_get(&engine(&ctx), req).await;
    let mut table = cells(&out.text);
    assert_eq!(table.len(), 2, "{}", out.text);
    table[1][4] = "<age>".into();
    insta::assert_yaml_snapshot!("get_deploy_storefront_wide", table);
}

#[tokio::test]
async fn label_selectors_pass_through() {
    let ctx = TestContext::new().await;
    let mut req = get(vec![target("pods", &[])], in_ns(BATCH_NS));
    req.label_selector = Some(format!("app={}", scenario::THUMBNAILER));
    let out = run_get(&engine(&ctx), req).await;
    let rows = cells(&out.text);
    assert_eq!(rows.len(), 2, "{}", out.text);
    assert!(rows[1][0].starts_with("thumbnailer-") && rows[1][2] == "ImagePullBackOff", "{}", out.text);

    let mut none = get(vec![target("pods", &[])], in_ns(BATCH_NS));
    none.label_selector = Some("app=nothing-has-this".into());
    let out = run_get(&engine(&ctx), none).await;
    assert_eq!(out.text, format!("No resources found in {BATCH_NS} namespace.\n"));
    assert_eq!(out.rows, Some(0));
}

#[tokio::test]
async fn named_objects_and_labels() {
    let ctx = TestContext::new().await;
    let engine = engine(&ctx);
    let name = pod_names(&ctx, SHOP_NS, scenario::ORDERS_API).await.remove(0);

    // `get po/<name>` as the policy parses it: one ref with a name.
    let out = run_get(&engine, get(vec![target("po", &[&name])], in_ns(SHOP_NS))).await;
    assert_eq!(cells(&out.text).len(), 2);
    assert_eq!(cells(&out.text)[1][0], name, "one type: no kind prefix\n{}", out.text);

    let mut req = get(vec![target("pod", &[&name])], in_ns(SHOP_NS));
    req.show_labels = true;
    req.label_columns = vec!["app".into()];
    req.show_kind = true;
    let out = run_get(&engine, req).await;
    assert_eq!(header(&out.text), ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "APP", "LABELS"]);
    let row = &cells(&out.text)[1];
    assert_eq!(row[0], format!("pod/{name}"));
    assert_eq!(row[5], scenario::ORDERS_API);
    assert!(
        row[6].contains("app=orders-api") && row[6].contains("app.kubernetes.io/part-of=kubently-demo"),
        "{row:?}"
    );

    // A name that exists and one that does not: kubectl prints the first and reports the second.
    let err = run(&engine, KubectlRequest::Get(get(vec![target("pods", &[&name, "nope"])], in_ns(SHOP_NS))))
        .await
        .expect_err("nope is missing");
    let EngineError::Partial { output, errors } = &err else {
        panic!("expected a partial result, got {err:?}")
    };
    assert!(output.text.contains(&name));
    assert_eq!(errors.len(), 1);
    assert_eq!(err.to_string(), "Error from server (NotFound): pods \"nope\" not found");
}

#[tokio::test]
async fn sort_by_and_name_output() {
    let ctx = TestContext::new().await;
    let engine = engine(&ctx);
    let mut req = get(vec![target("pods", &[])], in_ns(SHOP_NS));
    req.sort_by = Some("{.metadata.name}".into());
    req.no_headers = true;
    let out = run_get(&engine, req).await;
    let names: Vec<String> = cells(&out.text).into_iter().map(|r| r[0].clone()).collect();
    // kubectl compares strings naturally (sortorder.NaturalLess): `pod-8` before `pod-27`.
    let mut sorted = names.clone();
    sorted.sort_by(|a, b| natural_order(a, b));
    assert_eq!(names, sorted);
    let mut req = get(vec![target("pods", &[])], in_ns(SHOP_NS));
    req.sort_by = Some(".status.containerStatuses[0].restartCount".into());
    req.no_headers = true;
    let out = run_get(&engine, req).await;
    assert!(
        cells(&out.text).last().is_some_and(|r| r[0].starts_with("orders-api-")),
        "most restarts last:\n{}",
        out.text
    );

    let mut req = get(vec![target("deployments.apps", &[])], in_ns(SHOP_NS));
    req.output = OutputFormat::Name;
    let out = run_get(&engine, req).await;
    assert_eq!(
        out.text,
        "deployment.apps/checkout\ndeployment.apps/orders-api\ndeployment.apps/storefront\n"
    );
}

/// Digit runs compare by value, everything else byte by byte (Go's `sortorder.NaturalLess`).
fn natural_order(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let (si, sj) = (i, j);
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let value = |d: &[u8]| d.iter().fold(0u128, |n, c| n * 10 + u128::from(c - b'0'));
            match value(&a[si..i]).cmp(&value(&b[sj..j])) {
                std::cmp::Ordering::Equal => continue,
                other => return other,
            }
        }
        if a[i] != b[j] {
            return a[i].cmp(&b[j]);
        }
        i += 1;
        j += 1;
    }
    (a.len() - i).cmp(&(b.len() - j))
}

#[tokio::test]
async fn an_empty_namespace_says_no_resources_found() {
    let ctx = TestContext::new().await;
    let ns = ctx.namespace("empty").await;
    let out = run_get(&engine(&ctx), get(vec![target("deploy", &[])], in_ns(&ns.name))).await;
    assert_eq!(out.text, format!("No resources found in {} namespace.\n", ns.name));
    let mut json = get(vec![target("deploy", &[])], in_ns(&ns.name));
    json.output = OutputFormat::Json;
    let out = run_get(&engine(&ctx), json).await;
    assert_eq!(
        out.text,
        "{\n    \"apiVersion\": \"v1\",\n    \"items\": [],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n"
    );
}

// ---------------------------------------------------------------- get: errors

#[tokio::test]
async fn errors_read_like_kubectl() {
    let ctx = TestContext::new().await;
    let engine = engine(&ctx);
    let err =
        run(&engine, KubectlRequest::Get(get(vec![target("nosuchthing", &[])], NamespaceScope::Default)))
            .await
            .expect_err("unknown type");
    assert_eq!(err.to_string(), "error: the server doesn't have a resource type \"nosuchthing\"");
    assert!(matches!(err, EngineError::UnknownResource { .. }));

    let err = run(&engine, KubectlRequest::Get(get(vec![target("pods", &["nope"])], in_ns(SHOP_NS))))
        .await
        .expect_err("missing pod");
    assert_eq!(err.to_string(), "Error from server (NotFound): pods \"nope\" not found");
    assert!(err.is_not_found());

    let err = run(&engine, KubectlRequest::Get(get(vec![target("deploy", &["nope"])], in_ns(SHOP_NS))))
        .await
        .expect_err("missing deployment");
    assert_eq!(err.to_string(), "Error from server (NotFound): deployments.apps \"nope\" not found");

    let err =
        run(&engine, KubectlRequest::Get(get(vec![target("pods", &["../../secrets"])], in_ns(SHOP_NS))))
            .await
            .expect_err("path segment");
    assert!(err.to_string().starts_with("error: invalid resource name"), "{err}");

    let mut sorted_secrets = get(vec![target("secrets", &[])], in_ns(SHOP_NS));
    sorted_secrets.sort_by = Some(".data.password".into());
    let err = run(&engine, KubectlRequest::Get(sorted_secrets))
        .await
        .expect_err("ordering by a secret value is refused");
    assert!(matches!(err, EngineError::Invalid(_)), "{err:?}");

    // CRDs come from the apiextensions server, whose empty tables have `rows: null`.
    let out = run_get(&engine, get(vec![target("crd", &[])], NamespaceScope::All)).await;
    assert!(out.text == "No resources found\n" || out.text.starts_with("NAME "), "{}", out.text);

    let late = ExecOptions { deadline: Some(Instant::now()), ..Default::default() };
    let err = engine.execute(&KubectlRequest::Version, &late).await.expect_err("deadline already passed");
    assert!(matches!(err, EngineError::DeadlineExceeded), "{err:?}");
}

// ---------------------------------------------------------------- get: objects

#[tokio::test]
async fn secret_values_never_leave_the_executor() {
    let ctx = TestContext::new().await;
    let engine = engine(&ctx);
    for (output, targets) in [
        (OutputFormat::Yaml, vec![target("secret", &[scenario::ORDERS_DB_SECRET])]),
        (OutputFormat::Json, vec![target("secrets", &[])]),
        (OutputFormat::Yaml, vec![target("Secret", &[])]),
        (OutputFormat::Table, vec![target("secrets", &[])]),
        (OutputFormat::Wide, vec![target("secrets", &[scenario::ORDERS_DB_SECRET])]),
    ] {
        let mut req = get(targets, in_ns(SHOP_NS));
        req.output = output;
        let out = run_get(&engine, req.clone()).await;
        for (key, value) in scenario::SECRET_VALUES {
            let b64 = crate::support::base64(value.as_bytes());
            assert!(
                !out.text.contains(value) && !out.text.contains(&b64),
                "{req:?} leaks {key}:\n{}",
                out.text
            );
            if matches!(req.output, OutputFormat::Yaml | OutputFormat::Json) {
                assert!(out.text.contains(key), "{req:?} keeps the key {key}:\n{}", out.text);
            }
        }
        if matches!(req.output, OutputFormat::Yaml | OutputFormat::Json) {
            assert!(out.text.contains("<redacted: "), "{}", out.text);
        }
    }
    let mut req = get(vec![target("secret", &[scenario::ORDERS_DB_SECRET])], in_ns(SHOP_NS));
    req.output = OutputFormat::Yaml;
    let out = run_get(&engine, req).await;
    let doc: serde_json::Value = serde_yaml::from_str(&out.text).expect("yaml");
    assert_eq!(doc["kind"], "Secret", "one named object prints as itself, not a List");
    assert_eq!(doc["data"]["password"], format!("<redacted: {} bytes>", scenario::SECRET_VALUES[1].1.len()));
}

#[tokio::test]
async fn structured_output_drops_managed_fields_and_last_applied() {
    let ctx = TestContext::new().await;
    let engine = engine(&ctx);
    let mut req = get(vec![target("cm", &[])], in_ns(SHOP_NS));
    req.output = OutputFormat::Json;
    let out = run_get(&engine, req).await;
    assert!(!out.text.contains("managedFields"), "{}", out.text);
    assert!(
        out.text.starts_with("{\n    \"apiVersion\": \"v1\",\n    \"items\": ["),
        "kubectl's four-space List:\n{}",
        out.text
    );
    let list: serde_json::Value = serde_json::from_str(&out.text).expect("json");
    assert_eq!(list["kind"], "List");
    let items = list["items"].as_array().expect("items");
    assert!(items.iter().all(|i| i["kind"] == "ConfigMap" && i["apiVersion"] == "v1"));
    assert!(items.iter().any(|i| i["metadata"]["name"] == scenario::STOREFRONT_CONFIG));

    let ns = ctx.namespace("applied").await;
    let cm: ConfigMap = serde_json::from_value(serde_json::json!({"metadata": {"name": "applied", "annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"k\":\"v\"}}", "team": "shop"}}, "data": {"k": "v"}}))
    .expect("configmap");
    Api::<ConfigMap>::namespaced(ctx.kube.clone(), &ns.name)
        .create(&PostParams::default(), &cm)
        .await
        .expect("create");
    let mut req = get(vec![target("configmap", &["applied"])], in_ns(&ns.name));
    req.output = OutputFormat::Yaml;
    let out = run_get(&engine, req).await;
    assert!(
        !out.text.contains("last-applied-configuration") && !out.text.contains("managedFields"),
        "{}",
        out.text
    );
    assert!(
        out.text.contains("team: shop")
            && out.text.starts_with("apiVersion: v1\ndata:\n  k: v\nkind: ConfigMap\n"),
        "{}",
        out.text
    );
}

// ---------------------------------------------------------------- version, api-resources

#[tokio::test]
async fn version_reports_the_server() {
    let ctx = TestContext::new().await;
    let out = run(&engine(&ctx), KubectlRequest::Version).await.expect("version");
    let info = ctx.kube.apiserver_version().await.expect("/version");
    assert_eq!(out.text, format!("Server Version: {}\n", info.git_version));
    assert!(out.text.starts_with("Server Version: v1."));
    assert_eq!(out.kind.as_deref(), Some("Version"));
}

#[tokio::test]
async fn api_resources_like_kubectl() {
    let ctx = TestContext::new().await;
    let engine = engine(&ctx);
    let out = run(&engine, KubectlRequest::ApiResources(api_resources(ApiResourcesOutput::Table)))
        .await
        .expect("api-resources");
    let rows = cells(&out.text);
    assert_eq!(rows[0], ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]);
    assert_eq!(rows[1][0], "bindings", "core group first, by name");
    assert!(rows.contains(&["pods", "po", "v1", "true", "Pod"].map(String::from).to_vec()), "{}", out.text);
    assert!(
        rows.contains(&["deployments", "deploy", "apps/v1", "true", "Deployment"].map(String::from).to_vec()),
        "{}",
        out.text
    );
    assert!(!out.text.contains("pods/log"), "subresources are not listed");
    assert_aligned(&out.text);

    let mut req = api_resources(ApiResourcesOutput::Name);
    req.namespaced = Some(false);
    let out = run(&engine, KubectlRequest::ApiResources(req)).await.expect("api-resources -o name");
    let names: Vec<&str> = out.text.lines().collect();
    assert!(
        names.starts_with(&["componentstatuses", "namespaces", "nodes", "persistentvolumes"]),
        "{names:?}"
    );
    assert!(
        names.contains(&"clusterroles.rbac.authorization.k8s.io") && !names.contains(&"pods"),
        "{names:?}"
    );

    let mut req = api_resources(ApiResourcesOutput::Wide);
    req.api_group = Some("apps".into());
    let out = run(&engine, KubectlRequest::ApiResources(req))
        .await
        .expect("api-resources --api-group=apps -o wide");
    insta::assert_snapshot!("api_resources_apps_wide", out.text);
}

#[tokio::test]
async fn api_versions_lists_group_versions() {
    let ctx = TestContext::new().await;
    let out = run(&engine(&ctx), KubectlRequest::ApiVersions).await.expect("api-versions");
    let lines: Vec<&str> = out.text.lines().collect();
    assert!(lines.contains(&"apps/v1") && lines.contains(&"batch/v1beta1"), "{lines:?}");
    assert_eq!(lines.last(), Some(&"v1"), "sorted as strings: the core group's v1 comes last");
}

#[tokio::test]
async fn an_rbac_refusal_reads_like_kubectl() {
    use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
    use kube::config::{KubeConfigOptions, Kubeconfig};

    let ctx = TestContext::new().await;
    let ns = ctx.namespace("rbac").await;
    // A service account without any role: the executor's own identity could be this restricted.
    let sa: ServiceAccount =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "nobody"}})).expect("sa");
    Api::<ServiceAccount>::namespaced(ctx.kube.clone(), &ns.name)
        .create(&PostParams::default(), &sa)
        .await
        .expect("create sa");
    let secrets: Api<Secret> = Api::namespaced(ctx.kube.clone(), &ns.name);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let token = loop {
        let list = secrets
            .list(&ListParams::default().fields("type=kubernetes.io/service-account-token"))
            .await
            .expect("list");
        let ours = list.items.iter().filter(|s| {
            s.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("kubernetes.io/service-account.name"))
                .is_some_and(|n| n == "nobody")
        });
        if let Some(t) = ours
            .filter_map(|s| s.data.as_ref()?.get("token").map(|b| String::from_utf8_lossy(&b.0).to_string()))
            .next()
        {
            break t;
        }
        assert!(std::time::Instant::now() < deadline, "the token controller never issued a token");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let mut kubeconfig = Kubeconfig::read_from(&ctx.stack.kubeconfig).expect("kubeconfig");
    for user in &mut kubeconfig.auth_infos {
        if let Some(auth) = user.auth_info.as_mut() {
            auth.token = Some(token.clone().into());
        }
    }
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("config");
    let engine = Engine::new(kube::Client::try_from(config).expect("client"));
    let err = run(&engine, KubectlRequest::Get(get(vec![target("pods", &[])], in_ns(&ns.name))))
        .await
        .expect_err("forbidden");
    assert_eq!(
        err.to_string(),
        format!(
            "Error from server (Forbidden): pods is forbidden: User \"system:serviceaccount:{0}:nobody\" cannot list resource \"pods\" in API group \"\" in the namespace \"{0}\"",
            ns.name
        )
    );
}
