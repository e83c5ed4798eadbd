//! The local stack itself: NATS KV TTLs, the 3-node NATS cluster, the demo scenario's pod states,
//! logs through the apiserver's proxy to the fake kubelet, events, and a Deployment rollout.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, LogParams, PostParams};
use kubently_tests::harness::TestContext;
use kubently_tests::nats_server::NatsCluster;
use kubently_tests::scenario::{self, BATCH_NS, SHOP_NS};

const WAIT: Duration = Duration::from_secs(60);

fn app_selector(app: &str) -> ListParams {
    ListParams::default().labels(&format!("app={app}"))
}

async fn pods_of(ctx: &TestContext, ns: &str, app: &str) -> Vec<Pod> {
    Api::<Pod>::namespaced(ctx.kube.clone(), ns).list(&app_selector(app)).await.expect("list pods").items
}

fn first_status(pod: &Pod) -> k8s_openapi::api::core::v1::ContainerStatus {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first())
        .cloned()
        .expect("pod has a container status")
}

#[tokio::test]
async fn kv_per_key_ttl_expiry_is_seen_by_a_watcher() {
    let ctx = TestContext::new().await;
    let js = ctx.jetstream();
    let bucket = ctx.unique("TTL");
    let store = js
        .create_key_value(kv::Config {
            bucket: bucket.clone(),
            history: 1,
            limit_markers: Some(Duration::from_secs(1)),
            ..Default::default()
        })
        .await
        .expect("create KV bucket with per-key TTLs");
    let mut watch = store.watch("cluster.*").await.expect("watch");
    store
        .create_with_ttl("cluster.a", "active".into(), Duration::from_secs(1))
        .await
        .expect("create with TTL");
    store.put("cluster.b", "no ttl".into()).await.expect("put");

    let mut seen = Vec::new();
    let outcome = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(entry) = watch.next().await {
            let entry = entry.expect("watch entry");
            seen.push((entry.key.clone(), entry.operation));
            if entry.key == "cluster.a" && entry.operation == kv::Operation::Purge {
                return;
            }
        }
    })
    .await;
    assert!(outcome.is_ok(), "no expiry marker for cluster.a within 10 s; watcher saw {seen:?}");
    assert_eq!(
        seen.first(),
        Some(&("cluster.a".to_string(), kv::Operation::Put)),
        "the put comes first: {seen:?}"
    );
    assert!(store.get("cluster.a").await.expect("get").is_none(), "expired key must read as absent");
    assert_eq!(
        store.get("cluster.b").await.expect("get").as_deref(),
        Some(&b"no ttl"[..]),
        "a key without TTL stays"
    );
    js.delete_key_value(&bucket).await.expect("delete bucket");
}

#[tokio::test]
async fn three_node_nats_cluster_forms_and_replicates_a_stream() {
    let stack = kubently_tests::harness::stack();
    let cluster = NatsCluster::start(Some(&stack.bus.nats_config))
        .await
        .expect("start the 3-node cluster from nats/cluster/");
    let client = stack.connect_to(&cluster.seed_list(), &stack.root_creds).await;
    let js = jetstream::new(client);
    let stream = tokio::time::timeout(WAIT, async {
        loop {
            // The meta leader needs a moment after the nodes come up.
            match js
                .get_or_create_stream(jetstream::stream::Config {
                    name: "R3".into(),
                    subjects: vec!["r3.>".into()],
                    num_replicas: 3,
                    ..Default::default()
                })
                .await
            {
                Ok(s) => return s,
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    })
    .await
    .expect("R3 stream created within 60 s");
    // A just-created R3 stream may not have elected its leader yet (more likely on a busy
    // machine): the first publishes can answer "stream not found" until it has.
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            // One message id: a retry after an ack that got lost stores nothing twice.
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(kubently_shared::names::HEADER_MSG_ID, "r3-hello");
            match js.publish_with_headers("r3.x", headers, "hello".into()).await.expect("publish").await {
                Ok(_) => return,
                Err(e) => {
                    tracing::info!(error = %e, "R3 stream not ready yet");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    })
    .await
    .expect("the R3 stream acknowledges a publish within 30 s");
    let mut stream = stream;
    let info = stream.info().await.expect("stream info");
    assert_eq!(info.config.num_replicas, 3);
    assert_eq!(info.state.messages, 1);
    let cluster_info = info.cluster.as_ref().expect("clustered stream has cluster info");
    assert_eq!(cluster_info.replicas.len(), 2, "a leader plus two replicas: {cluster_info:?}");
    // The routes that replicated it are mutual TLS, like every client connection.
    for node in &cluster.nodes {
        let (_, varz) = kubently_tests::process::http_get(node.monitor_port, "/varz").await.expect("varz");
        let varz: serde_json::Value = serde_json::from_str(varz.split("\r\n\r\n").last().unwrap_or(&varz))
            .unwrap_or_else(|e| panic!("varz is JSON ({e}): {varz}"));
        assert_eq!(varz["cluster"]["tls_required"], true, "routes require TLS: {}", varz["cluster"]);
        assert_eq!(varz["cluster"]["tls_verify"], true, "routes verify the peer: {}", varz["cluster"]);
        assert_eq!(varz["tls_required"], true, "clients require TLS");
    }
}

#[tokio::test]
async fn seeded_pods_show_every_scenario_state() {
    let ctx = TestContext::new().await;
    let readiness = scenario::converged(&ctx.kube).await.expect("scenario check");
    assert!(readiness.done(), "scenario incomplete: {:?}", readiness.missing);

    let storefront = pods_of(&ctx, SHOP_NS, scenario::STOREFRONT).await;
    assert_eq!(storefront.len(), 3);
    for pod in &storefront {
        let s = first_status(pod);
        assert!(
            s.ready && s.state.as_ref().and_then(|st| st.running.as_ref()).is_some(),
            "{:?} not running+ready",
            pod.metadata.name
        );
    }

    let orders = first_status(&pods_of(&ctx, SHOP_NS, scenario::ORDERS_API).await[0]);
    assert!(orders.restart_count >= 10, "crash-looping pod has many restarts, got {}", orders.restart_count);
    let last = orders.last_state.and_then(|s| s.terminated).expect("crash loop has a last terminated state");
    assert_eq!(last.exit_code, 1);

    let oom = first_status(&pods_of(&ctx, BATCH_NS, scenario::REPORT_BUILDER).await[0]);
    let terminated = oom.state.and_then(|s| s.terminated).expect("OOMKilled container is terminated");
    assert_eq!((terminated.reason.as_deref(), terminated.exit_code), (Some("OOMKilled"), 137));

    let pull = &pods_of(&ctx, BATCH_NS, scenario::THUMBNAILER).await[0];
    assert_eq!(pull.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Pending"));
    let waiting = first_status(pull).state.and_then(|s| s.waiting).expect("image pull waits");
    assert!(waiting.message.unwrap_or_default().contains("v9.9.9-does-not-exist"));

    let checkout = first_status(&pods_of(&ctx, SHOP_NS, scenario::CHECKOUT).await[0]);
    assert!(!checkout.ready && checkout.started == Some(true), "readiness-failing pod runs but is not ready");

    for app in [scenario::ML_TRAINER, scenario::GPU_INFERENCE] {
        let pod = &pods_of(&ctx, BATCH_NS, app).await[0];
        assert!(
            pod.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_none(),
            "{app} must stay unscheduled"
        );
    }
    let services: Api<k8s_openapi::api::core::v1::Endpoints> = Api::namespaced(ctx.kube.clone(), SHOP_NS);
    let payments = services.get(scenario::PAYMENTS_SVC).await.expect("payments endpoints");
    assert!(payments.subsets.unwrap_or_default().is_empty(), "the payments Service selects no pod");
}

#[tokio::test]
async fn logs_through_the_apiserver_come_from_the_fake_kubelet() {
    let ctx = TestContext::new().await;
    let pod = pods_of(&ctx, SHOP_NS, scenario::ORDERS_API).await.remove(0);
    let name = pod.metadata.name.expect("pod name");
    let api: Api<Pod> = Api::namespaced(ctx.kube.clone(), SHOP_NS);

    let previous =
        api.logs(&name, &LogParams { previous: true, ..Default::default() }).await.expect("previous logs");
    assert!(previous.to_lowercase().contains("connection refused"), "previous logs:\n{previous}");
    assert!(previous.contains("postgres:5432"), "previous logs:\n{previous}");
    assert!(
        previous.contains("Traceback (most recent call last)"),
        "previous logs end in a stack trace:\n{previous}"
    );
    for (_, value) in scenario::SECRET_VALUES {
        assert!(!previous.contains(value), "logs must not carry secret values");
    }
    let current = api.logs(&name, &LogParams::default()).await.expect("current logs");
    assert!(!current.is_empty());

    let tail = api
        .logs(&name, &LogParams { tail_lines: Some(2), timestamps: true, ..Default::default() })
        .await
        .expect("tail");
    let lines: Vec<&str> = tail.lines().collect();
    assert_eq!(lines.len(), 2, "tailLines=2:\n{tail}");
    for line in lines {
        let ts = line.split(' ').next().unwrap_or_default();
        assert!(
            time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).is_ok(),
            "timestamps=true prefixes RFC 3339: {line}"
        );
    }

    let healthy = pods_of(&ctx, SHOP_NS, scenario::STOREFRONT).await.remove(0);
    let healthy_logs = api
        .logs(healthy.metadata.name.as_deref().expect("name"), &LogParams::default())
        .await
        .expect("healthy logs");
    assert!(healthy_logs.contains("nginx"), "a healthy nginx pod logs its startup:\n{healthy_logs}");
    let err = api
        .logs(
            healthy.metadata.name.as_deref().expect("name"),
            &LogParams { previous: true, ..Default::default() },
        )
        .await;
    assert!(err.is_err(), "a container that never restarted has no previous logs");
}

#[tokio::test]
async fn warning_events_explain_the_broken_pods() {
    let ctx = TestContext::new().await;
    let mut reasons = Vec::new();
    for ns in [SHOP_NS, BATCH_NS] {
        let events = Api::<Event>::namespaced(ctx.kube.clone(), ns)
            .list(&ListParams::default().fields("type=Warning"))
            .await
            .expect("events");
        for e in events.items {
            assert!(
                e.involved_object.uid.is_some(),
                "event {:?} lacks involvedObject.uid (describe would not show it)",
                e.metadata.name
            );
            reasons.push(format!(
                "{}/{}",
                e.involved_object.name.unwrap_or_default(),
                e.reason.unwrap_or_default()
            ));
        }
    }
    for (object, reason) in [
        (scenario::ORDERS_API, "BackOff"),
        (scenario::THUMBNAILER, "Failed"),
        (scenario::CHECKOUT, "Unhealthy"),
        (scenario::ML_TRAINER, "FailedScheduling"),
        (scenario::GPU_INFERENCE, "FailedScheduling"),
        (scenario::NIGHTLY_MIGRATION, "BackoffLimitExceeded"),
    ] {
        assert!(
            reasons.iter().any(|r| r.starts_with(object) && r.ends_with(&format!("/{reason}"))),
            "no Warning {reason} event for {object}; warnings: {reasons:?}"
        );
    }
}

#[tokio::test]
async fn a_deployment_rolls_out() {
    let ctx = TestContext::new().await;
    let ns = ctx.namespace("rollout").await;
    let api: Api<Deployment> = Api::namespaced(ctx.kube.clone(), &ns.name);
    let deployment: Deployment = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1.25.3"}]}}}
    }))
    .expect("deployment body");
    api.create(&PostParams::default(), &deployment).await.expect("create deployment");

    let rolled_out = tokio::time::timeout(WAIT, async {
        loop {
            let d = api.get("web").await.expect("get deployment");
            let s = d.status.unwrap_or_default();
            if s.available_replicas == Some(2) && s.updated_replicas == Some(2) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
    .await;
    assert!(rolled_out.is_ok(), "deployment did not become available within {WAIT:?}");
}
