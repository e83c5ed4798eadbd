//! Fidelity against kubectl itself: where a kubectl binary is on the machine (`KUBENTLY_KUBECTL`,
//! else `kubectl` on PATH), the same commands run through kubectl and through the engine must
//! print the same columns and values. Ages may differ by seconds and spacing may differ, so both
//! sides are compared token by token with ages masked. Without kubectl the test says so and passes.

use std::process::Command;

use kubently_executor::engine::Engine;
use kubently_tests::harness::TestContext;

use crate::support;

/// Commands whose output depends only on cluster state (no per-run randomness beyond ages).
const COMMANDS: &[&[&str]] = &[
    &["get", "pods", "-n", "demo-shop"],
    &["get", "pods", "-n", "demo-batch", "-o", "wide"],
    &["get", "pods", "-A"],
    &["get", "deploy,svc", "-n", "demo-shop"],
    &["get", "all", "-n", "demo-batch"],
    &["get", "nodes"],
    &["get", "ns", "--show-labels"],
    &["get", "cm", "-n", "demo-shop"],
    &["get", "secrets", "-n", "demo-shop"],
    &["get", "jobs", "-n", "demo-batch"],
    &["get", "pods", "-n", "demo-shop", "-l", "app=storefront", "-o", "name"],
    &["get", "pods", "-n", "demo-shop", "--field-selector", "status.phase=Running", "--no-headers"],
    &["get", "deploy", "-n", "demo-shop", "-o", "custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas"],
    &["get", "pods", "-n", "demo-shop", "-o", "jsonpath={.items[*].metadata.name}"],
    &["get", "nosuchthing"],
    &["get", "pods", "nope", "-n", "demo-shop"],
    &["api-resources", "--namespaced=false"],
    &["api-versions"],
];

fn kubectl() -> Option<String> {
    let bin = std::env::var("KUBENTLY_KUBECTL").unwrap_or_else(|_| "kubectl".into());
    Command::new(&bin).args(["version", "--client"]).output().ok().filter(|o| o.status.success()).map(|_| bin)
}

fn normalise(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("Warning:"))
        .map(|l| {
            l.split_whitespace()
                .map(|t| if support::is_age(t) { "<age>".to_string() } else { t.to_string() })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn the_engine_prints_what_kubectl_prints() {
    let Some(kubectl) = kubectl() else {
        eprintln!("kubectl not found (set KUBENTLY_KUBECTL): parity check skipped");
        return;
    };
    let ctx = TestContext::new().await;
    let engine = Engine::new(ctx.kube.clone());
    let mut mismatches = Vec::new();
    for argv in COMMANDS {
        let out = Command::new(&kubectl)
            .args(*argv)
            .env("KUBECONFIG", &ctx.stack.kubeconfig)
            .output()
            .expect("run kubectl");
        let theirs =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let ours = match support::kubectl(&engine, argv[0], &argv[1..]).await {
            Ok(o) => o.text,
            Err(e) => format!("{}{e}", e.partial_output().map(|o| o.text.clone()).unwrap_or_default()),
        };
        if normalise(&ours) != normalise(&theirs) {
            mismatches
                .push(format!("$ kubectl {}\n--- kubectl\n{theirs}\n--- engine\n{ours}", argv.join(" ")));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} commands differ from kubectl:\n{}",
        mismatches.len(),
        COMMANDS.len(),
        mismatches.join("\n")
    );
}

/// `logs deploy/x` (and `rs/x`, `svc/x`) with several pods reads the pod kubectl reads (its
/// `podutils.ByLogging` order: ready first, of the ready ones the one ready longest), and kubectl's
/// `Found N pods, using pod/x` (its stderr) is a notice, never a line of the output.
#[tokio::test]
async fn logs_of_a_workload_read_the_pod_kubectl_picks() {
    use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
    use k8s_openapi::api::core::v1::{Pod, Service};
    use kube::api::{Api, ListParams, PostParams};
    use kubently_tests::kube_cluster::NODE_NAME;
    use kubently_tests::scenario::BEHAVIOUR_ANNOTATION;

    let Some(kubectl) = kubectl() else {
        eprintln!("kubectl not found (set KUBENTLY_KUBECTL): parity check skipped");
        return;
    };
    let ctx = TestContext::new().await;
    let engine = Engine::new(ctx.kube.clone());
    let ns = ctx.namespace("pick").await;
    let pods: Api<Pod> = Api::namespaced(ctx.kube.clone(), &ns.name);
    // By name, the crash-looping pod comes first; kubectl picks the pod that has been ready longest.
    for (name, behaviour) in
        [("a-crash", "crashloop"), ("b-unready", "unready"), ("c-ready", "healthy"), ("d-ready", "healthy")]
    {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "labels": {"app": "pick"}, "annotations": {BEHAVIOUR_ANNOTATION: behaviour}},
            "spec": {"nodeName": NODE_NAME, "containers": [{"name": "app", "image": "busybox"}]}
        }))
        .expect("pod");
        pods.create(&PostParams::default(), &pod).await.expect("create pod");
        if behaviour == "healthy" {
            kubently_tests::process::wait_until(
                "the pod is ready",
                std::time::Duration::from_secs(30),
                None,
                || {
                    let pods = pods.clone();
                    async move {
                        let pod = pods.get(name).await?;
                        Ok(pod
                            .status
                            .and_then(|s| s.conditions)
                            .into_iter()
                            .flatten()
                            .any(|c| c.type_ == "Ready" && c.status == "True"))
                    }
                },
            )
            .await
            .expect("ready");
            // Ready times are whole seconds: the second healthy pod becomes ready a second later.
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        }
    }
    kubently_tests::process::wait_until(
        "every pod has a status",
        std::time::Duration::from_secs(30),
        None,
        || {
            let pods = pods.clone();
            async move {
                let list = pods.list(&ListParams::default()).await?;
                Ok(list.items.iter().all(|p| p.status.as_ref().and_then(|s| s.phase.as_ref()).is_some()))
            }
        },
    )
    .await
    .expect("statuses");
    let selector = serde_json::json!({"matchLabels": {"app": "pick"}});
    let template = serde_json::json!({"metadata": {"labels": {"app": "pick"}}, "spec": {"containers": [{"name": "app", "image": "busybox"}]}});
    let deploy: Deployment = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "pick"}, "spec": {"paused": true, "replicas": 4, "selector": selector, "template": template}
    }))
    .expect("deployment");
    Api::<Deployment>::namespaced(ctx.kube.clone(), &ns.name)
        .create(&PostParams::default(), &deploy)
        .await
        .expect("deploy");
    let rs: ReplicaSet = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "pick"}, "spec": {"replicas": 4, "selector": selector, "template": template}
    }))
    .expect("replicaset");
    Api::<ReplicaSet>::namespaced(ctx.kube.clone(), &ns.name)
        .create(&PostParams::default(), &rs)
        .await
        .expect("rs");
    let svc: Service = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "pick"}, "spec": {"selector": {"app": "pick"}, "ports": [{"port": 80}]}
    }))
    .expect("service");
    Api::<Service>::namespaced(ctx.kube.clone(), &ns.name)
        .create(&PostParams::default(), &svc)
        .await
        .expect("svc");

    for target in ["deploy/pick", "rs/pick", "svc/pick"] {
        let out = Command::new(&kubectl)
            .args(["logs", target, "--tail", "1", "-n", &ns.name])
            .env("KUBECONFIG", &ctx.stack.kubeconfig)
            .output()
            .expect("run kubectl");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let theirs: Vec<&str> = stderr.lines().filter(|l| l.starts_with("Found ")).collect();
        assert_eq!(theirs, ["Found 4 pods, using pod/c-ready"], "kubectl logs {target}: {stderr}");
        let ours = support::kubectl(&engine, "logs", &[target, "--tail", "1", "-n", &ns.name])
            .await
            .unwrap_or_else(|e| panic!("logs {target}: {e}"));
        assert_eq!(ours.notices, theirs, "logs {target}");
        assert!(!ours.text.contains("Found "), "the note is no log line: {}", ours.text);
        assert_eq!(
            ours.text.lines().count(),
            String::from_utf8_lossy(&out.stdout).lines().count(),
            "logs {target}: one line of the same pod"
        );
    }
}

/// kubectl's output of `args` against the test cluster (stdout, then stderr).
fn run_kubectl(kubectl: &str, ctx: &TestContext, args: &[&str]) -> String {
    let out = Command::new(kubectl)
        .args(args)
        .env("KUBECONFIG", &ctx.stack.kubeconfig)
        .output()
        .expect("run kubectl");
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The lines from `Events:` on, ages masked.
fn events_section(text: &str) -> Vec<Vec<String>> {
    let from = text.find("Events:").unwrap_or(text.len());
    normalise(&text[from..])
}

/// `describe node` of a node without a Lease prints kubectl's `Lease:  Failed to get lease: …`
/// line, and describe's Events section puts an event with only an `eventTime` (the scheduler's
/// `Scheduled`, written through events.k8s.io) where kubectl does: first.
#[tokio::test]
async fn describe_prints_the_lease_line_and_orders_events_as_kubectl_does() {
    use k8s_openapi::api::core::v1::{Event, Node, Pod};
    use kube::api::{Api, DeleteParams, PostParams};

    let Some(kubectl) = kubectl() else {
        eprintln!("kubectl not found (set KUBENTLY_KUBECTL): parity check skipped");
        return;
    };
    let ctx = TestContext::new().await;
    let engine = Engine::new(ctx.kube.clone());

    // A node no kubelet runs for: no Lease in kube-node-lease.
    let node_name = format!("t-{}-no-lease", ctx.id);
    let node: Node = serde_json::from_value(serde_json::json!({
        "metadata": {"name": node_name}, "spec": {"unschedulable": true}
    }))
    .expect("node");
    let nodes: Api<Node> = Api::all(ctx.kube.clone());
    nodes.create(&PostParams::default(), &node).await.expect("create node");
    let theirs = run_kubectl(&kubectl, &ctx, &["describe", "node", &node_name]);
    let ours =
        support::kubectl(&engine, "describe", &["node", &node_name]).await.expect("describe node").text;
    let _ = nodes.delete(&node_name, &DeleteParams::default()).await;
    let lease_line = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("Lease:"))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    assert_eq!(
        lease_line(&theirs).as_deref(),
        Some(
            format!("Lease: Failed to get lease: leases.coordination.k8s.io \"{node_name}\" not found")
                .as_str()
        ),
        "{theirs}"
    );
    assert_eq!(lease_line(&ours), lease_line(&theirs), "{ours}");

    // A pod on a node nothing runs (no scheduler or kubelet events), with three events: two with
    // lastTimestamp, and a later one with only eventTime.
    let ns = ctx.namespace("events").await;
    let pods: Api<Pod> = Api::namespaced(ctx.kube.clone(), &ns.name);
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "evented"},
        "spec": {"nodeName": "nowhere", "containers": [{"name": "app", "image": "busybox"}]}
    }))
    .expect("pod");
    let pod = pods.create(&PostParams::default(), &pod).await.expect("create pod");
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let now = time::OffsetDateTime::now_utc();
    let at = |minutes_ago: i64| {
        (now - time::Duration::minutes(minutes_ago))
            .replace_nanosecond(0)
            .expect("whole seconds")
            .format(&time::format_description::well_known::Rfc3339)
            .expect("time")
    };
    let involved = serde_json::json!({"kind": "Pod", "namespace": ns.name, "name": "evented", "uid": uid, "apiVersion": "v1"});
    let events: Api<Event> = Api::namespaced(ctx.kube.clone(), &ns.name);
    for body in [
        serde_json::json!({"metadata": {"name": "evented.pulled"}, "involvedObject": involved, "type": "Normal", "reason": "Pulled",
            "message": "Container image already present", "count": 1, "firstTimestamp": at(30), "lastTimestamp": at(30),
            "source": {"component": "kubelet", "host": "nowhere"}}),
        serde_json::json!({"metadata": {"name": "evented.scheduled"}, "involvedObject": involved, "type": "Normal", "reason": "Scheduled",
            "message": "Successfully assigned to nowhere", "eventTime": format!("{}.000000Z", at(5).trim_end_matches('Z')),
            "action": "Binding", "reportingComponent": "default-scheduler", "reportingInstance": "default-scheduler-nowhere"}),
        serde_json::json!({"metadata": {"name": "evented.backoff"}, "involvedObject": involved, "type": "Warning", "reason": "BackOff",
            "message": "Back-off restarting failed container", "count": 4, "firstTimestamp": at(25), "lastTimestamp": at(10),
            "source": {"component": "kubelet", "host": "nowhere"}}),
    ] {
        let event: Event = serde_json::from_value(body).expect("event");
        events.create(&PostParams::default(), &event).await.expect("create event");
    }
    let theirs = run_kubectl(&kubectl, &ctx, &["describe", "pod", "evented", "-n", &ns.name]);
    let ours = support::kubectl(&engine, "describe", &["pod", "evented", "-n", &ns.name])
        .await
        .expect("describe")
        .text;
    let reasons = |section: &[Vec<String>]| {
        section.iter().skip(3).filter_map(|l| l.get(1).cloned()).collect::<Vec<_>>()
    };
    assert_eq!(reasons(&events_section(&theirs)), ["Scheduled", "Pulled", "BackOff"], "{theirs}");
    assert_eq!(events_section(&ours), events_section(&theirs), "ours:\n{ours}\nkubectl:\n{theirs}");
}

/// `cluster-info` names the API server the client really uses (here the kubeconfig's server, as
/// kubectl's) and ends with kubectl's hint line: the same text as kubectl's.
#[tokio::test]
async fn cluster_info_prints_what_kubectl_prints() {
    let Some(kubectl) = kubectl() else {
        eprintln!("kubectl not found (set KUBENTLY_KUBECTL): parity check skipped");
        return;
    };
    let ctx = TestContext::new().await;
    let config = kube::config::Kubeconfig::read_from(&ctx.stack.kubeconfig).expect("kubeconfig");
    let server = config.clusters[0].cluster.as_ref().and_then(|c| c.server.clone()).expect("server");
    let engine = Engine::new(ctx.kube.clone()).with_server_url(server.clone());
    let theirs = run_kubectl(&kubectl, &ctx, &["cluster-info"]);
    let ours = support::kubectl(&engine, "cluster-info", &[]).await.expect("cluster-info").text;
    eprintln!("[parity] cluster-info:\n{ours}");
    assert_eq!(ours, theirs);
    assert!(ours.starts_with(&format!("Kubernetes control plane is running at {server}\n")), "{ours}");
    assert!(
        ours.ends_with(
            "\nTo further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.\n"
        )
    );
}

/// A server that serves OpenAPI v3 (1.27+): `explain` prints kubectl's current layout. The API
/// here is a loopback stand-in serving legacy discovery for `services` and the real OpenAPI v3
/// document of core/v1 (kubectl's own testdata, `testdata/openapi/v3/api/v1.json`, cut to what
/// `services` needs: `tests/testdata/openapi-v3-api-v1-services.json`); kubectl and the engine
/// both read it, and must print the same text. (Multi-threaded: kubectl runs as a blocking child
/// while the stand-in serves it.)
#[tokio::test(flavor = "multi_thread")]
async fn explain_prints_kubectls_openapi_v3_layout() {
    use axum::routing::get;
    use serde_json::json;

    let Some(kubectl) = kubectl() else {
        eprintln!("kubectl not found (set KUBENTLY_KUBECTL): parity check skipped");
        return;
    };
    let document: serde_json::Value =
        serde_json::from_str(include_str!("../../testdata/openapi-v3-api-v1-services.json"))
            .expect("the v3 document");
    let resources = json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": [
        {"name": "services", "singularName": "service", "namespaced": true, "kind": "Service",
         "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"], "shortNames": ["svc"], "categories": ["all"]}]});
    let app = axum::Router::new()
        .route("/api", get(|| async { axum::Json(json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})) }))
        .route("/apis", get(|| async { axum::Json(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})) }))
        .route("/api/v1", get(move || async move { axum::Json(resources) }))
        .route("/version", get(|| async { axum::Json(json!({"major": "1", "minor": "30", "gitVersion": "v1.30.0"})) }))
        .route("/openapi/v3", get(|| async { axum::Json(json!({"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=0123456789ABCDEF"}}})) }))
        .route("/openapi/v3/api/v1", get(move || async move { axum::Json(document) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: v3\n  cluster:\n    server: {url}\ncontexts:\n- name: v3\n  context:\n    cluster: v3\n    user: v3\ncurrent-context: v3\nusers:\n- name: v3\n  user: {{}}\n"),
    )
    .expect("kubeconfig");
    let client = kube::Client::try_from(kube::Config::new(url.parse().expect("url"))).expect("client");
    let engine = Engine::new(client);
    let mut mismatches = Vec::new();
    for path in [
        "services",
        "services.spec",
        "svc.spec.type",
        "services.spec.ports",
        "services.metadata.labels",
        "services.status.loadBalancer",
        "services.spec.sessionAffinityConfig --recursive",
        "services.spec.nope",
    ] {
        let mut words: Vec<&str> = path.split(' ').collect();
        let out = Command::new(&kubectl)
            .arg("explain")
            .args(&words)
            .args(["--request-timeout=10s", "--cache-dir", &dir.path().join("cache").display().to_string()])
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .expect("run kubectl");
        let theirs =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        words.retain(|w| !w.is_empty());
        let ours = match support::kubectl(&engine, "explain", &words).await {
            Ok(o) => o.text,
            Err(e) => format!("{}{e}\n", e.partial_output().map(|o| o.text.clone()).unwrap_or_default()),
        };
        if ours != theirs {
            mismatches.push(format!("$ kubectl explain {path}\n--- kubectl\n{theirs}\n--- engine\n{ours}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Dedicated describers print what kubectl prints: Role/ClusterRole (rules broken down, merged and
/// sorted as kubectl does; the built-in aggregated `view`, `edit` and `system:node` roles
/// included), RoleBinding/ClusterRoleBinding, StorageClass, NetworkPolicy and PersistentVolume
/// (hostPath, local with node affinity, NFS, CSI with attributes).
#[tokio::test(flavor = "multi_thread")]
async fn rbac_storage_class_and_network_policy_describers_print_what_kubectl_prints() {
    use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
    use kube::discovery::ApiResource;

    let Some(kubectl) = kubectl() else {
        eprintln!("kubectl not found (set KUBENTLY_KUBECTL): parity check skipped");
        return;
    };
    let ctx = TestContext::new().await;
    let engine = Engine::new(ctx.kube.clone());
    let ns = ctx.namespace("rbac").await;
    let cluster_name = format!("t-{}-parity", ctx.id);
    let objects = [
        (
            "rbac.authorization.k8s.io",
            "v1",
            "Role",
            "roles",
            Some(ns.name.as_str()),
            serde_json::json!({
            "metadata": {"name": "reader", "labels": {"team": "a"}},
            "rules": [
                {"apiGroups": ["", "apps"], "resources": ["pods", "deployments/scale"], "verbs": ["get", "list"]},
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["watch", "get"]},
                {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a", "b"], "verbs": ["get"]},
            ]}),
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            "rolebindings",
            Some(ns.name.as_str()),
            serde_json::json!({
            "metadata": {"name": "reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns.name},
                         {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "jane"}]}),
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            None,
            serde_json::json!({
            "metadata": {"name": cluster_name, "annotations": {"note": "parity"}},
            "rules": [{"nonResourceURLs": ["/healthz", "/version"], "verbs": ["get"]},
                      {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": ["list", "get", "list"]}]}),
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            None,
            serde_json::json!({
            "metadata": {"name": cluster_name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_name},
            "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "ops"}]}),
        ),
        (
            "networking.k8s.io",
            "v1",
            "NetworkPolicy",
            "networkpolicies",
            Some(ns.name.as_str()),
            serde_json::json!({
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"podSelector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "edge"]}]},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {"from": [{"podSelector": {"matchLabels": {"role": "lb"}}, "namespaceSelector": {"matchLabels": {"team": "ops"}}},
                              {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.2.0.0/16"]}}],
                     "ports": [{"port": 80}, {"port": "https", "protocol": "TCP"}]},
                    {"from": [{"namespaceSelector": {}}]}],
                "egress": [{"to": [{"podSelector": {"matchExpressions": [{"key": "db", "operator": "Exists"}]}}], "ports": [{"port": 5432, "protocol": "TCP"}]}]}}),
        ),
        (
            "networking.k8s.io",
            "v1",
            "NetworkPolicy",
            "networkpolicies",
            Some(ns.name.as_str()),
            serde_json::json!({
            "metadata": {"name": "deny-all"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
        ),
        (
            "",
            "v1",
            "PersistentVolume",
            "persistentvolumes",
            None,
            serde_json::json!({
            "metadata": {"name": format!("{cluster_name}-host"), "labels": {"tier": "fast"}},
            "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce", "ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "manual", "volumeMode": "Filesystem",
                "claimRef": {"namespace": "shop", "name": "data"},
                "hostPath": {"path": "/srv/data", "type": "DirectoryOrCreate"}}}),
        ),
        (
            "",
            "v1",
            "PersistentVolume",
            "persistentvolumes",
            None,
            serde_json::json!({
            "metadata": {"name": format!("{cluster_name}-local")},
            "spec": {"capacity": {"storage": "100Mi"}, "accessModes": ["ReadWriteOnce"], "local": {"path": "/mnt/disks/ssd1"},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-a", "node-b"]},
                    {"key": "disk", "operator": "Exists"}]}]}}}}),
        ),
        (
            "",
            "v1",
            "PersistentVolume",
            "persistentvolumes",
            None,
            serde_json::json!({
            "metadata": {"name": format!("{cluster_name}-nfs")},
            "spec": {"capacity": {"storage": "1Ti"}, "accessModes": ["ReadOnlyMany"], "nfs": {"server": "nfs.example", "path": "/exports", "readOnly": true}}}),
        ),
        (
            "",
            "v1",
            "PersistentVolume",
            "persistentvolumes",
            None,
            serde_json::json!({
            "metadata": {"name": format!("{cluster_name}-csi")},
            "spec": {"capacity": {"storage": "20Gi"}, "accessModes": ["ReadWriteOnce"],
                "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-0123", "fsType": "ext4",
                        "volumeAttributes": {"storage.kubernetes.io/csiProvisionerIdentity": "1700000000000-8081-ebs.csi.aws.com", "type": "gp3"}}}}),
        ),
        (
            "storage.k8s.io",
            "v1",
            "StorageClass",
            "storageclasses",
            None,
            serde_json::json!({
            "metadata": {"name": cluster_name, "annotations": {"storageclass.kubernetes.io/is-default-class": "false", "x": "y"}},
            "provisioner": "example.com/fast", "parameters": {"type": "ssd", "iops": "3000"},
            "reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": true,
            "mountOptions": ["noatime", "nodiratime"],
            "allowedTopologies": [{"matchLabelExpressions": [{"key": "topology.kubernetes.io/zone", "values": ["a", "b"]}, {"key": "disk", "values": ["ssd"]}]}]}),
        ),
    ];
    let mut created = Vec::new();
    for (group, version, kind, plural, namespace, body) in &objects {
        let api_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
        let ar = ApiResource {
            group: group.to_string(),
            version: version.to_string(),
            api_version: api_version.clone(),
            kind: kind.to_string(),
            plural: plural.to_string(),
        };
        let api: Api<DynamicObject> = match namespace {
            Some(n) => Api::namespaced_with(ctx.kube.clone(), n, &ar),
            None => Api::all_with(ctx.kube.clone(), &ar),
        };
        let mut object: DynamicObject = serde_json::from_value(body.clone()).expect("object");
        object.types = Some(kube::api::TypeMeta { api_version, kind: kind.to_string() });
        api.create(&PostParams::default(), &object).await.unwrap_or_else(|e| panic!("create {kind}: {e}"));
        if namespace.is_none() {
            created.push((api, object.metadata.name.clone().unwrap_or_default()));
        }
    }
    let mut mismatches = Vec::new();
    let commands: Vec<Vec<String>> = vec![
        vec!["role".into(), "reader".into(), "-n".into(), ns.name.clone()],
        vec!["rolebinding".into(), "reader".into(), "-n".into(), ns.name.clone()],
        vec!["clusterrole".into(), cluster_name.clone()],
        vec!["clusterrolebinding".into(), cluster_name.clone()],
        vec!["storageclass".into(), cluster_name.clone()],
        vec!["networkpolicy".into(), "web".into(), "-n".into(), ns.name.clone()],
        vec!["pv".into(), format!("{cluster_name}-host")],
        vec!["pv".into(), format!("{cluster_name}-local")],
        vec!["persistentvolume".into(), format!("{cluster_name}-nfs")],
        vec!["pv".into(), format!("{cluster_name}-csi")],
        vec!["netpol".into(), "deny-all".into(), "-n".into(), ns.name.clone()],
        vec!["clusterrole".into(), "view".into()],
        vec!["clusterrole".into(), "edit".into()],
        vec!["clusterrole".into(), "system:node".into()],
    ];
    for args in &commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut argv = vec!["describe"];
        argv.extend(&args);
        let theirs = run_kubectl(&kubectl, &ctx, &argv);
        assert!(theirs.starts_with("Name:"), "kubectl describes it: {theirs}");
        let ours = match support::kubectl(&engine, "describe", &args).await {
            Ok(o) => o.text,
            Err(e) => e.to_string(),
        };
        if normalise(&ours) != normalise(&theirs) {
            mismatches.push(format!(
                "$ kubectl describe {}\n--- kubectl\n{theirs}\n--- engine\n{ours}",
                args.join(" ")
            ));
        }
    }
    for (api, name) in created {
        let _ = api.delete(&name, &DeleteParams::default()).await;
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// A server that serves `discovery.k8s.io/v1` (1.21+): `describe service` lists its endpoints from
/// its EndpointSlices as current kubectl does (ready and unknown-readiness endpoints of the port's
/// name, three shown and the rest counted). A loopback stand-in plays the API server (the 1.20
/// test cluster serves only v1beta1 slices) and serves the same backends both ways: as
/// EndpointSlices and as the equivalent Endpoints object. The kubectl here (1.32) still reads
/// Endpoints; the engine must read the slices, and both must print the same text.
#[tokio::test(flavor = "multi_thread")]
async fn describe_service_reads_endpoint_slices_as_kubectl_does() {
    use axum::routing::get;
    use serde_json::json;

    let Some(kubectl) = kubectl() else {
        eprintln!("kubectl not found (set KUBENTLY_KUBECTL): parity check skipped");
        return;
    };
    let core = json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": [
        {"name": "services", "singularName": "service", "namespaced": true, "kind": "Service", "verbs": ["get", "list"], "shortNames": ["svc"]},
        {"name": "events", "singularName": "event", "namespaced": true, "kind": "Event", "verbs": ["get", "list"], "shortNames": ["ev"]}]});
    let discovery = json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "discovery.k8s.io/v1", "resources": [
        {"name": "endpointslices", "singularName": "endpointslice", "namespaced": true, "kind": "EndpointSlice", "verbs": ["get", "list"]}]});
    let groups = json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [{"name": "discovery.k8s.io",
        "versions": [{"groupVersion": "discovery.k8s.io/v1", "version": "v1"}], "preferredVersion": {"groupVersion": "discovery.k8s.io/v1", "version": "v1"}}]});
    let service = json!({"kind": "Service", "apiVersion": "v1",
        "metadata": {"name": "web", "namespace": "shop", "uid": "6f1c2a3b-0000-4000-8000-000000000001", "creationTimestamp": "2026-01-01T00:00:00Z", "labels": {"app": "web"}},
        "spec": {"selector": {"app": "web"}, "type": "ClusterIP", "clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"],
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "sessionAffinity": "None",
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}, {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}]},
        "status": {"loadBalancer": {}}});
    let endpoint = |ip: &str, ready: Option<bool>| match ready {
        Some(r) => json!({"addresses": [ip], "conditions": {"ready": r}}),
        None => json!({"addresses": [ip], "conditions": {}}),
    };
    let slices = json!({"kind": "EndpointSliceList", "apiVersion": "discovery.k8s.io/v1", "metadata": {}, "items": [
        {"metadata": {"name": "web-abc", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"}}, "addressType": "IPv4",
         "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}, {"name": "metrics", "port": 9102, "protocol": "TCP"}],
         "endpoints": [endpoint("10.0.0.1", Some(true)), endpoint("10.0.0.2", None), endpoint("10.0.0.3", Some(false))]},
        {"metadata": {"name": "web-def", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"}}, "addressType": "IPv4",
         "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
         "endpoints": [endpoint("10.0.1.1", Some(true)), endpoint("10.0.1.2", Some(true)), endpoint("10.0.1.3", Some(true))]}]});
    let as_endpoints = json!({"kind": "Endpoints", "apiVersion": "v1", "metadata": {"name": "web", "namespace": "shop"}, "subsets": [
        {"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "notReadyAddresses": [{"ip": "10.0.0.3"}],
         "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}, {"name": "metrics", "port": 9102, "protocol": "TCP"}]},
        {"addresses": [{"ip": "10.0.1.1"}, {"ip": "10.0.1.2"}, {"ip": "10.0.1.3"}], "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]});
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let record = seen.clone();
    let app = axum::Router::new()
        .route("/api", get(|| async { axum::Json(json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})) }))
        .route("/apis", get(move || async move { axum::Json(groups) }))
        .route("/api/v1", get(move || async move { axum::Json(core) }))
        .route("/apis/discovery.k8s.io/v1", get(move || async move { axum::Json(discovery) }))
        .route("/version", get(|| async { axum::Json(json!({"major": "1", "minor": "30", "gitVersion": "v1.30.0"})) }))
        .route("/api/v1/namespaces/shop/services/web", get(move || async move { axum::Json(service) }))
        .route("/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices", get(move || async move { axum::Json(slices) }))
        .route("/api/v1/namespaces/shop/endpoints/web", get(move || async move { axum::Json(as_endpoints) }))
        .route("/api/v1/namespaces/shop/events", get(|| async { axum::Json(json!({"kind": "EventList", "apiVersion": "v1", "metadata": {}, "items": []})) }))
        .layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
            record.lock().expect("record").push(req.uri().path().to_string());
            next.run(req)
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: s\n  cluster:\n    server: {url}\ncontexts:\n- name: s\n  context:\n    cluster: s\n    user: s\ncurrent-context: s\nusers:\n- name: s\n  user: {{}}\n"),
    )
    .expect("kubeconfig");
    let out = Command::new(&kubectl)
        .args(["describe", "svc", "web", "-n", "shop", "--request-timeout=10s", "--cache-dir"])
        .arg(dir.path().join("cache"))
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .expect("run kubectl");
    let theirs = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        theirs.contains("Endpoints:         10.0.0.1:8080,10.0.0.2:8080,10.0.1.1:8080 + 2 more..."),
        "{theirs}"
    );
    let client = kube::Client::try_from(kube::Config::new(url.parse().expect("url"))).expect("client");
    let engine = Engine::new(client);
    let ours =
        support::kubectl(&engine, "describe", &["svc", "web", "-n", "shop"]).await.expect("describe").text;
    assert_eq!(ours.trim_end(), theirs.trim_end(), "ours:\n{ours}\nkubectl:\n{theirs}");
}
