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
