//! `describe` against the real kube-apiserver 1.20 and the demo scenario: kubectl's describer
//! text for pods (crash-looping, pending), services, deployments, nodes, Secrets (keys and sizes
//! only), ConfigMaps, namespaces and the generic describer, the Events section, and the policy.

use kubently_executor::engine::{Engine, EngineError, ExecOptions, Output};
use kubently_shared::policy::{self, CommandInput, PolicyConfig};
use kubently_tests::harness::TestContext;
use kubently_tests::scenario::{self, BATCH_NS, SHOP_NS};

use crate::support;

async fn describe_with(engine: &Engine, args: &[&str], config: &PolicyConfig) -> Result<Output, EngineError> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let req = policy::parse(
        &CommandInput { command_type: "describe", args: &args, extra_args: &[], namespace: None },
        config,
    )
    .map_err(EngineError::Restricted)?;
    engine.execute(&req, &ExecOptions::default()).await
}

async fn describe(args: &[&str]) -> Output {
    let ctx = TestContext::new().await;
    let engine = Engine::new(ctx.kube.clone());
    describe_with(&engine, args, &PolicyConfig::default())
        .await
        .unwrap_or_else(|e| panic!("describe {args:?} failed: {e}"))
}

/// The value after `title:` on the first line that starts with it (after indentation).
fn field<'a>(text: &'a str, title: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        l.trim_start().strip_prefix(title).and_then(|rest| rest.strip_prefix(':')).map(str::trim)
    })
}

fn assert_no_secret_values(text: &str) {
    support::assert_no_secrets("describe", text);
}

#[tokio::test]
async fn describe_crash_looping_pod_reads_like_kubectl() {
    let out = describe(&["pod", "-n", SHOP_NS, "-l", &format!("app={}", scenario::ORDERS_API)]).await;
    let text = &out.text;
    assert_eq!(out.kind.as_deref(), Some("Pod"));
    assert_eq!(out.rows, Some(1));
    assert!(text.starts_with("Name:         orders-api-"), "{text}");
    assert_eq!(field(text, "Namespace"), Some(SHOP_NS));
    assert!(text.contains("\nStatus:       Running\n"), "{text}");
    assert!(text.contains("\nControlled By:  ReplicaSet/orders-api-"), "{text}");
    assert!(text.contains("    State:          Waiting\n      Reason:       CrashLoopBackOff\n"), "{text}");
    assert!(
        text.contains("    Last State:     Terminated\n      Reason:       Error\n      Exit Code:    1\n"),
        "{text}"
    );
    assert_eq!(field(text, "Restart Count"), Some("47"));
    assert_eq!(field(text, "Ready"), Some("False"));
    assert!(text.contains("DATABASE_URL:  <set to the key 'DATABASE_URL' in secret 'orders-db-credentials'>  Optional: false"), "{text}");
    assert!(text.contains("Conditions:\n  Type              Status\n  Initialized       True \n"), "{text}");
    assert_eq!(field(text, "QoS Class"), Some("Burstable"));
    assert!(text.contains("Events:\n  Type     Reason     Age"), "{text}");
    let backoff =
        text.lines().find(|l| l.contains(" BackOff ")).unwrap_or_else(|| panic!("no BackOff event:\n{text}"));
    assert!(
        backoff.starts_with("  Warning  BackOff")
            && backoff.contains("kubelet")
            && backoff.contains("Back-off restarting failed container"),
        "{backoff}"
    );
    assert!(backoff.contains("(x188 over "), "{backoff}");
    assert_no_secret_values(text);
}

#[tokio::test]
async fn describe_pending_pod_shows_failed_scheduling() {
    let out = describe(&["pods", "-n", BATCH_NS, "-l", "app=ml-trainer"]).await;
    assert_eq!(field(&out.text, "Status"), Some("Pending"));
    assert_eq!(field(&out.text, "Node"), Some("<none>"));
    let line =
        out.text.lines().find(|l| l.contains("FailedScheduling")).unwrap_or_else(|| panic!("{}", out.text));
    assert!(line.contains("Insufficient cpu") && line.contains("default-scheduler"), "{line}");
}

#[tokio::test]
async fn describe_pod_by_name_prefix_and_not_found() {
    let ctx = TestContext::new().await;
    let engine = Engine::new(ctx.kube.clone());
    let out = describe_with(&engine, &["pod", "orders-api", "-n", SHOP_NS], &PolicyConfig::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.rows, Some(1), "kubectl matches a name prefix");
    let err = describe_with(&engine, &["pod", "nope-nothing", "-n", SHOP_NS], &PolicyConfig::default())
        .await
        .err()
        .map(|e| e.to_string());
    assert_eq!(err.as_deref(), Some("Error from server (NotFound): pods \"nope-nothing\" not found"));
    let out = describe_with(
        &engine,
        &["pod", "orders-api", "-n", SHOP_NS, "--show-events=false"],
        &PolicyConfig::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.text.contains("Events:"), "{}", out.text);
}

#[tokio::test]
async fn describe_service_without_endpoints() {
    let out = describe(&["service", "payments", "-n", SHOP_NS]).await;
    let text = &out.text;
    assert_eq!(out.kind.as_deref(), Some("Service"));
    assert_eq!(field(text, "Selector"), Some("app=payments,tier=backend"));
    assert_eq!(field(text, "Type"), Some("ClusterIP"));
    assert!(
        text.contains(
            "\nPort:              http  80/TCP\nTargetPort:        8080/TCP\nEndpoints:         <none>\n"
        ),
        "{text}"
    );
    assert!(text.ends_with("Events:            <none>\n"), "{text}");
}

#[tokio::test]
async fn describe_deployment() {
    let out = describe(&["deploy", scenario::STOREFRONT, "-n", SHOP_NS]).await;
    let text = &out.text;
    assert_eq!(out.kind.as_deref(), Some("Deployment"));
    assert_eq!(
        field(text, "Replicas"),
        Some("3 desired | 3 updated | 3 total | 3 available | 0 unavailable")
    );
    assert_eq!(field(text, "StrategyType"), Some("RollingUpdate"));
    assert!(text.contains("\nPod Template:\n  Labels:  app=storefront\n"), "{text}");
    assert!(text.contains("  Containers:\n   nginx:\n    Image:      nginx:1.25.3\n"), "{text}");
    assert!(text.contains("      storefront-config  ConfigMap  Optional: false\n"), "{text}");
    assert!(text.contains("  Available      True    MinimumReplicasAvailable\n"), "{text}");
    assert!(text.contains("\nOldReplicaSets:  <none>\nNewReplicaSet:   storefront-"), "{text}");
    assert!(text.contains("(3/3 replicas created)"), "{text}");
    assert!(text.contains("ScalingReplicaSet"), "{text}");
}

#[tokio::test]
async fn describe_node() {
    let out = describe(&["node", "kubently-node-1"]).await;
    let text = &out.text;
    assert_eq!(out.kind.as_deref(), Some("Node"));
    assert!(text.starts_with("Name:               kubently-node-1\n"), "{text}");
    assert!(text.contains("\nAddresses:\n  InternalIP:  127.0.0.1\n"), "{text}");
    assert!(text.contains("\nSystem Info:\n  Machine ID:"), "{text}");
    assert!(text.contains("\nNon-terminated Pods:"), "{text}");
    assert!(text.contains("orders-api-"), "{text}");
    assert!(
        text.contains(
            "\nAllocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n"
        ),
        "{text}"
    );
    assert!(text.contains("\n  cpu                "), "{text}");
}

#[tokio::test]
async fn describe_secret_shows_sizes_never_values() {
    for resource in ["secret", "Secret", "secrets"] {
        let out = describe(&[resource, "orders-db-credentials", "-n", SHOP_NS]).await;
        let text = &out.text;
        assert_eq!(out.kind.as_deref(), Some("Secret"));
        assert!(text.contains("\nType:  Opaque\n\nData\n====\n"), "{text}");
        for (key, value) in scenario::SECRET_VALUES {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{key}:")))
                .unwrap_or_else(|| panic!("no {key}:\n{text}"));
            assert!(line.ends_with(&format!("{} bytes", value.len())), "{line}");
        }
        assert!(!text.contains("Events"), "kubectl's Secret describer has no events: {text}");
        assert_no_secret_values(text);
    }
    // All of a namespace's Secrets, too.
    let out = describe(&["secrets", "-n", SHOP_NS]).await;
    assert_no_secret_values(&out.text);
}

#[tokio::test]
async fn restricted_secrets_are_refused_in_every_spelling() {
    let ctx = TestContext::new().await;
    let config = PolicyConfig { restricted_resources: vec!["secrets".into()] };
    let engine = Engine::new(ctx.kube.clone()).with_policy(config.clone());
    for resource in ["secret", "Secret", "secrets", "SECRETS"] {
        let result =
            describe_with(&engine, &[resource, "orders-db-credentials", "-n", SHOP_NS], &config).await;
        assert!(result.is_err(), "describe {resource} was allowed");
        // The executor refuses on its own, whatever the gateway let through.
        let result = describe_with(
            &engine,
            &[resource, "orders-db-credentials", "-n", SHOP_NS],
            &PolicyConfig::default(),
        )
        .await;
        let err = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("secrets"), "describe {resource}: {err}");
    }
}

#[tokio::test]
async fn describe_config_map() {
    let out = describe(&["configmap", "storefront-config", "-n", SHOP_NS]).await;
    let text = &out.text;
    assert_eq!(out.kind.as_deref(), Some("ConfigMap"));
    assert!(text.contains("\nData\n====\nCACHE_TTL_SECONDS:\n----\n300\n\nFEATURE_FLAGS:\n----\n"), "{text}");
    assert!(text.contains("\n\nBinaryData\n====\n\nEvents:  <none>\n"), "{text}");
}

#[tokio::test]
async fn describe_namespace() {
    let out = describe(&["namespace", SHOP_NS]).await;
    let text = &out.text;
    assert_eq!(out.kind.as_deref(), Some("Namespace"));
    assert!(text.starts_with(&format!("Name:         {SHOP_NS}\n")), "{text}");
    assert!(
        text.contains("\nStatus:       Active\n\nNo resource quota.\n\nNo LimitRange resource.\n"),
        "{text}"
    );
}

#[tokio::test]
async fn describe_generic_kind() {
    let out = describe(&["lease", "-n", "kube-node-lease"]).await;
    let text = &out.text;
    assert_eq!(out.kind.as_deref(), Some("Lease"));
    assert!(
        text.contains(
            "\nAPI Version:  coordination.k8s.io/v1\nKind:         Lease\nMetadata:\n  Creation Timestamp:  "
        ),
        "{text}"
    );
    assert!(
        text.contains("\nSpec:\n  Holder Identity:         kubently-node-1\n  Lease Duration Seconds:  "),
        "{text}"
    );
    assert!(!text.contains("Managed Fields"), "{text}");
    assert!(text.contains("Events:"), "{text}");
}

#[tokio::test]
async fn several_objects_are_separated_like_kubectl() {
    let out = describe(&["svc", "payments", "storefront", "-n", SHOP_NS]).await;
    assert_eq!(out.rows, Some(2));
    assert!(out.text.contains("\n\n\nName:              storefront\n"), "{}", out.text);
}

#[tokio::test]
async fn describe_all_expands_the_category() {
    let out = describe(&["all", "-n", BATCH_NS, "--show-events=false"]).await;
    let kinds = out.kind.unwrap_or_default();
    for kind in ["Pod", "Deployment", "ReplicaSet", "Job"] {
        assert!(kinds.split(',').any(|k| k == kind), "{kind} missing from {kinds}");
    }
    assert!(out.text.contains("Name:           nightly-migration\n"), "{}", out.text);
    assert_no_secret_values(&out.text);
}

#[tokio::test]
async fn describe_replica_set_and_job() {
    let out = describe(&["rs", "-n", SHOP_NS, "-l", &format!("app={}", scenario::STOREFRONT)]).await;
    let text = &out.text;
    assert_eq!(out.kind.as_deref(), Some("ReplicaSet"));
    assert!(text.contains("\nControlled By:  Deployment/storefront\nReplicas:       3 current / 3 desired\nPods Status:    3 Running / 0 Waiting / 0 Succeeded / 0 Failed\n"), "{text}");
    assert!(text.contains("SuccessfulCreate"), "{text}");
    let out = describe(&["job", "nightly-migration", "-n", BATCH_NS]).await;
    let text = &out.text;
    assert_eq!(out.kind.as_deref(), Some("Job"));
    assert_eq!(field(text, "Backoff Limit"), Some("1"));
    assert_eq!(field(text, "Pods Statuses"), Some("0 Active / 0 Succeeded / 2 Failed"));
    assert!(text.contains("    Args:\n      migrate\n"), "{text}");
    assert!(text.contains("BackoffLimitExceeded"), "{text}");
}

#[tokio::test]
#[ignore = "prints our output beside kubectl's for eyeballing"]
async fn print_for_comparison() {
    for args in [
        &["pod", "-n", SHOP_NS, "-l", "app=orders-api"][..],
        &["deploy", "storefront", "-n", SHOP_NS],
        &["node", "kubently-node-1"],
        &["lease", "-n", "kube-node-lease"],
        &["svc", "-n", SHOP_NS],
        &["cm", "storefront-config", "-n", SHOP_NS],
        &["secret", "orders-db-credentials", "-n", SHOP_NS],
        &["ns", SHOP_NS],
        &["pods", "-n", BATCH_NS],
        &["rs", "-n", SHOP_NS, "-l", "app=storefront"],
        &["job", "-n", BATCH_NS],
        &["sa", "default", "-n", SHOP_NS],
    ] {
        println!("===== describe {}\n{}", args.join(" "), describe(args).await.text);
    }
}
