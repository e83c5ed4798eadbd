//! Edge clusters through a NATS leaf node: the executor connects to a leaf (`nats/leaf.conf` with
//! `kubently-admin leaf`'s files), the leaf bridges it to the hub over TLS with credentials that
//! allow only what that cluster's executors may do, and commands run executor → leaf → hub →
//! gateway, also after the leaf node process is killed and started again.

use std::time::Duration;

use futures::StreamExt;
use kubently_shared::names::Names;
use kubently_tests::app::{ExecutorOptions, NatsTarget, TestApp};
use kubently_tests::harness::stack;
use kubently_tests::leaf::LeafNode;
use kubently_tests::nats_server::NatsServer;
use kubently_tests::process::{Lifetime, free_port, http_get};
use serde_json::{Value, json};

async fn monitor(port: u16, path: &str) -> Value {
    let (status, body) = http_get(port, path).await.expect("monitoring endpoint");
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("monitoring JSON")
}

async fn run_version(app: &TestApp) -> Value {
    let (status, body) = app.execute("version", &[], json!({})).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("success")), "{body}");
    body
}

#[tokio::test]
async fn commands_reach_an_edge_cluster_through_a_leaf_node_also_after_the_leaf_restarts() {
    let stack = stack();
    let dir = tempfile::Builder::new().prefix("kubently-leaf-").tempdir().expect("temp dir");
    // A hub of its own that accepts leaf nodes (TLS listener of the bus setup).
    let leafnode_port = free_port();
    let hub = NatsServer::start_with(
        &dir.path().join("hub"),
        &dir.path().join("hub.log"),
        Lifetime::TiedToTestProcess,
        Some(&stack.bus.nats_config),
        Some(
            &stack
                .bus
                .leafnode_hub_config(&format!("127.0.0.1:{leafnode_port}"))
                .expect("hub leafnode config"),
        ),
    )
    .await
    .expect("hub nats-server");
    let app = TestApp::spawn_on(NatsTarget { url: hub.url.clone(), replicas: 1 }).await;

    let names = Names::with_prefix(&app.prefix).expect("names");
    let files = stack
        .bus
        .leaf_files(
            &dir.path().join("leaf-files"),
            &names,
            &app.cluster_id,
            &[format!("tls://127.0.0.1:{leafnode_port}")],
        )
        .expect("kubently-admin leaf");
    let mut leaf = LeafNode::start(&dir.path().join("leaf"), &files.auth_config).await.expect("leaf node");
    let leafz = monitor(hub.monitor_port, "/leafz").await;
    assert_eq!(leafz["leafnodes"], 1, "the hub sees the leaf: {leafz}");

    let mut settings = app.executor_settings("edge-1", &ExecutorOptions::default());
    settings.nats.url = leaf.url.clone();
    let _executor = app.start_executor_with(settings).await;
    // The executor's one connection is to the leaf, not to the hub.
    let connz = monitor(leaf.monitor_port, "/connz").await;
    let clients: Vec<&str> = connz["connections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["kind"] == "Client")
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(clients, [format!("kubently-executor/{}/edge-1", app.cluster_id)], "{connz}");
    let hub_clients = monitor(hub.monitor_port, "/connz").await;
    assert!(
        !hub_clients.to_string().contains("edge-1"),
        "the executor has no connection to the hub: {hub_clients}"
    );
    let body = run_version(&app).await;
    assert!(body["output"].as_str().unwrap_or_default().contains("Server Version"), "{body}");
    // Everything the executor writes crosses too: its terminal event is in the hub's stream.
    let js = async_nats::jetstream::new(stack.connect_to(&hub.url, &stack.root_creds).await);
    let events = js.get_stream(names.events_stream()).await.expect("events stream");
    let subject = names.event_subject("command.completed", &app.cluster_id);
    let event = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Ok(m) = events.get_last_raw_message_by_subject(&subject).await {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the command's event reaches the hub's events stream");
    let event: Value = serde_json::from_slice(&event.payload).expect("event JSON");
    assert_eq!(event["data"]["command_id"], body["command_id"], "{event}");

    // The link carries only what this cluster's executors may do: even an unrestricted client
    // of the leaf reaches the hub with this cluster's replies only.
    let at_hub = stack.connect_to(&hub.url, &stack.root_creds).await;
    let mut own = at_hub.subscribe(names.reply_subject(&app.cluster_id, "probe", "1")).await.expect("sub");
    let mut other = at_hub.subscribe(names.reply_subject("other-cluster", "probe", "1")).await.expect("sub");
    at_hub.flush().await.expect("flush");
    let at_leaf = stack.connect_to(&leaf.url, &stack.root_creds).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // the hub's interest reaches the leaf
    at_leaf.publish(names.reply_subject("other-cluster", "probe", "1"), "forged".into()).await.expect("pub");
    at_leaf.publish(names.reply_subject(&app.cluster_id, "probe", "1"), "own".into()).await.expect("pub");
    at_leaf.flush().await.expect("flush");
    let got = tokio::time::timeout(Duration::from_secs(5), own.next()).await.expect("own reply crosses");
    assert_eq!(got.expect("message").payload, "own");
    assert!(
        tokio::time::timeout(Duration::from_millis(500), other.next()).await.is_err(),
        "another cluster's reply subject must not cross the link"
    );
    drop(at_leaf);

    // The leaf node dies: the gateway sees the cluster go (its heartbeats stop)…
    leaf.kill();
    app.wait_connected(false).await;
    let (status, body) = app.execute("version", &[], json!({"timeout_seconds": 2})).await;
    assert_ne!(
        body["status"], "success",
        "no command can reach the cluster without its leaf: {status} {body}"
    );
    // …and come back when it restarts: the executor reconnects to it, it relinks to the hub.
    leaf.restart().await.expect("leaf restarts");
    app.wait_connected(true).await;
    for _ in 0..3 {
        run_version(&app).await;
    }
    let leafz = monitor(hub.monitor_port, "/leafz").await;
    assert_eq!(leafz["leafnodes"], 1, "one link again: {leafz}");
}
