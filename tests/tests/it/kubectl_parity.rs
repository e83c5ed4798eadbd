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
