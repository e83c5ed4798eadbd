//! The command lifecycle under faults: at most one execution, write-once results, follow-ups that
//! never give up early, writes that survive a leader election, and commands every executor gave
//! up on. Most run on the 3-node JetStream cluster of `nats/cluster/` (replicas 3, clients given
//! the seed list); executors that must be frozen or killed -9 run as processes of their own.

use std::future::IntoFuture;
use std::time::Duration;

use async_nats::jetstream;
use futures::StreamExt;
use kubently_shared::claims::{self, Claimed};
use kubently_shared::protocol::{self, Command, CommandResult, CommandStatus};
use kubently_shared::provision::{self, ProvisionOptions};
use kubently_shared::results::{self, Stored};
use kubently_tests::app::{ADMIN_KEY, ExecutorOptions, NatsTarget, TestApp};
use kubently_tests::nats_server::NatsCluster;
use kubently_tests::webhook_receiver::Receiver;
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;

const TEST_EXECUTOR: &str = env!("CARGO_BIN_EXE_kubently-test-executor");

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

/// A 3-node cluster and an app on it (gateway connected through the seed list, replicas 3).
async fn three_nodes() -> (NatsCluster, TestApp, jetstream::Context) {
    let stack = kubently_tests::harness::stack();
    let cluster = NatsCluster::start(Some(&stack.bus.nats_config))
        .await
        .expect("start the 3-node cluster from nats/cluster/");
    let app = TestApp::spawn_on(NatsTarget { url: cluster.seed_list(), replicas: 3 }).await;
    let client = stack.connect_to(&cluster.seed_list(), &stack.root_creds).await;
    (cluster, app, jetstream::new(client))
}

/// This app's provisioning options on the cluster, with an ack wait of `ack_wait` seconds.
fn options(app: &TestApp, ack_wait: u64) -> ProvisionOptions {
    ProvisionOptions {
        replicas: app.nats.replicas,
        ack_wait: Duration::from_secs(ack_wait),
        ..ProvisionOptions::with_prefix(app.prefix.clone())
    }
}

/// The next command on the cluster's queue, taken the way an executor takes it (and not acked).
async fn take_command(consumer: &jetstream::consumer::PullConsumer) -> (Command, jetstream::Message) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        assert!(tokio::time::Instant::now() < deadline, "no command arrived");
        let mut batch =
            consumer.fetch().max_messages(1).expires(Duration::from_secs(1)).messages().await.expect("fetch");
        if let Some(msg) = batch.next().await {
            let msg = msg.expect("message");
            return (protocol::decode(&msg.payload).expect("a command"), msg);
        }
    }
}

/// Makes the cluster known to the gateway (an executor came and went) without leaving one
/// connected: the test plays the executor itself.
async fn register_cluster(app: &TestApp) {
    app.start_executor("registrar", ExecutorOptions::default()).await.stop();
    app.wait_connected(false).await;
}

/// How many commands of this app's cluster have been claimed so far.
async fn claimed_commands(app: &TestApp) -> usize {
    let claims = &app.gateway.state.buckets.claims;
    let prefix = format!("{}.", app.cluster_id);
    match claims.keys().await {
        Ok(keys) => {
            keys.filter(|k| std::future::ready(k.as_ref().is_ok_and(|k| k.starts_with(&prefix))))
                .count()
                .await
        }
        Err(_) => 0,
    }
}

async fn a_storefront_pod(app: &TestApp) -> String {
    let (status, body) = app
        .execute("get", &["pods", "-l", "app=storefront", "-o", "name"], json!({"namespace": "demo-shop"}))
        .await;
    assert_eq!(status, 200, "{body}");
    text(&body, "output").lines().next().expect("a storefront pod").trim_start_matches("pod/").to_string()
}

#[tokio::test]
async fn a_redelivered_command_never_replaces_the_result_its_first_executor_stored() {
    let (_cluster, app, js) = three_nodes().await;
    register_cluster(&app).await;
    let opts = options(&app, 2);
    let buckets = provision::ensure_command_path(&js, &opts).await.expect("provision");
    let consumer = provision::ensure_cluster_consumer(&js, &app.cluster_id, &opts).await.expect("consumer");
    let call = app.execute_in_background(json!({"command_type": "version", "timeout_seconds": 20}));

    // A first executor claims the command, stores its result, replies, and dies before acking.
    let (command, _unacked) = take_command(&consumer).await;
    let claimed =
        claims::claim(&js, &buckets.claims, &command, &claims::Claim::new("first"), buckets.claim_ttl).await;
    assert_eq!(claimed.expect("claim"), Claimed::Mine);
    let ran = CommandResult {
        output: "Server Version: what the first executor saw\n".into(),
        ..CommandResult::new(&command, CommandStatus::Success, "first", OffsetDateTime::now_utc())
    };
    let stored = results::store_final(&js, &buckets.results, &ran).await.expect("store");
    assert!(matches!(stored, Stored::Written));
    let reply = CommandResult {
        command_signature: kubently_shared::signing::signature_of(_unacked.headers.as_ref()),
        ..ran.clone()
    };
    js.publish(command.reply_to.clone(), protocol::encode(&reply).expect("encode")).await.expect("reply");
    drop(_unacked);

    // The second replica gets the redelivery after the ack wait: it must neither run the command
    // again nor replace the stored result with anything (an expiry, a second answer).
    let second =
        app.start_executor("second", ExecutorOptions { ack_wait_seconds: 2, ..Default::default() }).await;
    let (status, body) = call.await.expect("call");
    assert_eq!((status, text(&body, "status").as_str()), (200, "success"), "{body}");
    assert_eq!(text(&body, "output"), ran.output);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let info = consumer.clone().info().await.expect("consumer info").clone();
        if info.delivered.consumer_sequence >= 2 && info.num_ack_pending == 0 && info.num_pending == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the redelivery was never settled: {info:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, page) = app.get(&format!("/debug/result/{}", command.id)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(text(&page, "status"), "success", "the true result stays: {page}");
    assert_eq!(text(&page, "output"), ran.output);
    let stored = results::read(&buckets.results, &command.cluster_id, command.id)
        .await
        .expect("read")
        .expect("a result");
    assert_eq!(stored.executor_id, "first", "nobody overwrote it");
    drop(second);
}

#[tokio::test]
async fn an_executor_frozen_past_the_ack_wait_does_not_make_the_command_run_twice() {
    let (_cluster, app, js) = three_nodes().await;
    let opts = ExecutorOptions { ack_wait_seconds: 2, heartbeat_seconds: 1, ..Default::default() };
    let frozen = app.start_executor_process(TEST_EXECUTOR, "frozen", opts.clone()).await;
    let pod = a_storefront_pod(&app).await;
    let before = claimed_commands(&app).await;
    // A long command (follow logs until the deadline) that the first executor has taken…
    let call = app.execute_in_background(
        json!({"command_type": "logs", "args": [pod, "-f"], "namespace": "demo-shop", "timeout_seconds": 20}),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while claimed_commands(&app).await == before {
        assert!(tokio::time::Instant::now() < deadline, "the command was never taken");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // …when it freezes (no progress, no heartbeats) for longer than the ack wait.
    frozen.pause();
    let other = app.start_executor("other", opts).await;
    let frozen_at = tokio::time::Instant::now();

    let (status, body) = call.await.expect("call");
    assert_eq!((status, text(&body, "status").as_str()), (200, "failure"), "{body}");
    let error = text(&body, "error");
    assert!(error.contains("executor 'frozen'") && error.contains("was not run again"), "{error}");
    assert!(frozen_at.elapsed() < Duration::from_secs(15), "told before the 20 s deadline");
    let id: uuid::Uuid = text(&body, "command_id").parse().expect("command id");

    // Thawed, the first executor finishes its run at the deadline and finds the result stored.
    frozen.resume();
    let names = &app.gateway.state.names;
    let results_bucket = js.get_key_value(names.results_bucket()).await.expect("results bucket");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while !frozen.log_text().contains("a final result was stored first") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the thawed executor never finished its run: {}",
            frozen.daemon.log_tail(20)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let stored = results::find(&results_bucket, id).await.expect("read").expect("a result");
    assert_eq!(stored.status, CommandStatus::Failure, "the answer the caller got stays");
    assert_eq!(stored.executor_id, "other");
    assert_eq!(stored.error.as_deref(), Some(error.as_str()));
    drop(other);
}

#[tokio::test]
async fn a_stream_leader_failover_costs_latency_not_errors_or_results() {
    let (cluster, app, js) = three_nodes().await;
    let _executor = app.start_executor("e1", ExecutorOptions::default()).await;
    let receiver = Receiver::start().await;
    let commands_stream = app.gateway.state.names.commands_stream();

    // Steady mixed load: sync commands and async ones with callbacks, ~10 a second.
    let mut sync_calls = Vec::new();
    let mut async_ids = Vec::new();
    let mut killed = None;
    for i in 0..60 {
        if i == 20 {
            let info =
                js.get_stream(&commands_stream).await.expect("stream").info().await.expect("info").clone();
            let leader = info.cluster.and_then(|c| c.leader).expect("the stream has a leader");
            let node = cluster
                .nodes
                .iter()
                .find(|n| n.daemon.name.ends_with(&leader))
                .expect("the leader is one of ours");
            node.daemon.signal(libc::SIGKILL);
            killed = Some(leader);
        }
        if i % 2 == 0 {
            sync_calls
                .push(app.execute_in_background(json!({"command_type": "version", "timeout_seconds": 25})));
        } else {
            let (status, body) = app
                .post(
                    "/debug/execute/async",
                    &json!({"cluster_id": app.cluster_id, "command_type": "get", "args": ["nodes"],
                            "timeout_seconds": 25, "callback_url": receiver.url("/cb")}),
                )
                .await;
            assert_eq!(status, 202, "an async submit during the failover is accepted, not a 5xx: {body}");
            async_ids.push(text(&body, "command_id"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(killed.is_some());

    for call in sync_calls {
        let (status, body) = call.await.expect("call");
        assert_eq!((status, text(&body, "status").as_str()), (200, "success"), "{body}");
        let (_, page) = app.get(&format!("/debug/result/{}", text(&body, "command_id"))).await;
        assert_eq!(page["status"], body["status"], "what the caller got is what is stored: {page}");
    }
    receiver
        .wait_for(Duration::from_secs(60), "one callback per async command", |got| {
            async_ids.iter().all(|id| got.iter().any(|r| r.json()["data"]["command_id"] == json!(id)))
        })
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    for id in &async_ids {
        let callbacks: Vec<Value> = receiver
            .delivered()
            .iter()
            .map(|r| r.json())
            .filter(|b| b["data"]["command_id"] == json!(id))
            .collect();
        assert_eq!(callbacks.len(), 1, "exactly one callback for {id}");
        assert_eq!(callbacks[0]["data"]["status"], "success", "{}", callbacks[0]);
        let (_, page) = app.get(&format!("/debug/result/{id}")).await;
        assert_eq!(page["status"], "success", "{page}");
    }
}

#[tokio::test]
async fn async_follow_ups_see_every_result_on_three_nodes_and_call_back_once() {
    let (_cluster, app, _js) = three_nodes().await;
    let _executor = app.start_executor("e1", ExecutorOptions::default()).await;
    let receiver = Receiver::start().await;
    let mut ids = Vec::new();
    for _ in 0..40 {
        let (status, body) = app
            .post(
                "/debug/execute/async",
                &json!({"cluster_id": app.cluster_id, "command_type": "version", "callback_url": receiver.url("/cb")}),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        ids.push(text(&body, "command_id"));
    }
    receiver
        .wait_for(Duration::from_secs(60), "a callback per command", |got| {
            ids.iter().all(|id| got.iter().any(|r| r.json()["data"]["command_id"] == json!(id)))
        })
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let delivered = receiver.delivered();
    assert_eq!(delivered.len(), ids.len(), "no callback dropped, none twice");
    assert!(delivered.iter().all(|r| r.json()["data"]["status"] == "success"));
}

#[tokio::test]
async fn a_command_every_executor_gave_up_on_ends_with_an_explicit_failure() {
    let app = TestApp::spawn().await;
    register_cluster(&app).await;
    let js = app.ctx.jetstream();
    // One delivery only: the executor that takes it dies, and nobody else may run it.
    let opts = ProvisionOptions { max_deliver: 1, ..options(&app, 1) };
    let consumer = provision::ensure_cluster_consumer(&js, &app.cluster_id, &opts).await.expect("consumer");
    let call = app.execute_in_background(json!({"command_type": "version", "timeout_seconds": 20}));
    let (command, _never_acked) = take_command(&consumer).await;
    // Executors keep polling; the server gives up on the command after the ack wait.
    let polling = tokio::spawn(async move {
        loop {
            if let Ok(mut batch) =
                consumer.fetch().max_messages(1).expires(Duration::from_secs(1)).messages().await
            {
                while batch.next().await.is_some() {}
            }
        }
    });
    let (status, body) = call.await.expect("call");
    polling.abort();
    assert_eq!((status, text(&body, "status").as_str()), (200, "failure"), "{body}");
    assert!(text(&body, "error").contains("no executor finished it"), "{body}");
    let (_, page) = app.get(&format!("/debug/result/{}", command.id)).await;
    assert_eq!(page["status"], "failure", "{page}");
}

/// An audit record as the gateway stores it.
fn audit_record(cluster: &str, n: usize) -> Vec<u8> {
    json!({"timestamp": OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).expect("time"),
           "type": "command_executed", "service_identity": "agent", "cluster_id": cluster, "session_id": null,
           "command_id": uuid::Uuid::new_v4().to_string(), "command": format!("get pods # {n}"),
           "outcome": "success", "error": null, "correlation_id": null})
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn audit_queries_reach_the_whole_retention_window_and_see_fresh_writes() {
    let app = TestApp::spawn().await;
    let js = app.ctx.jetstream();
    let names = &app.gateway.state.names;
    let cluster = &app.cluster_id;
    let publish_all = |records: Vec<Vec<u8>>, subject: String| {
        let js = js.clone();
        async move {
            let mut acks = Vec::new();
            for r in records {
                acks.push(js.publish(subject.clone(), r.into()).await.expect("publish").into_future());
                if acks.len() == 500 {
                    futures::future::try_join_all(acks.drain(..)).await.expect("acks");
                }
            }
            futures::future::try_join_all(acks).await.expect("acks");
        }
    };
    // 50 old records of ours, then more than 10 000 newer ones of another cluster.
    let before_old = OffsetDateTime::now_utc();
    publish_all((0..50).map(|n| audit_record(cluster, n)).collect(), names.audit_subject(cluster)).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let after_old = OffsetDateTime::now_utc();
    tokio::time::sleep(Duration::from_millis(20)).await;
    publish_all((0..10_500).map(|n| audit_record("busy", n)).collect(), names.audit_subject("busy")).await;

    let rfc = |t: OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).expect("time");
    let window = format!("since={}&until={}", rfc(before_old), rfc(after_old));
    let (status, page) =
        app.request(Method::GET, &format!("/audit?{window}&limit=1000"), Some(ADMIN_KEY), None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["count"], 50, "records older than the newest 10 000 are found: {page}");

    // Paged with the cursor, newest first, nothing twice, nothing missed.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for _ in 0..10 {
        let (status, page) = app
            .request(
                Method::GET,
                &format!("/audit?cluster_id={cluster}&limit=20{cursor}"),
                Some(ADMIN_KEY),
                None,
            )
            .await;
        assert_eq!(status, 200, "{page}");
        for e in page["entries"].as_array().expect("entries") {
            seen.push(
                e["command"]
                    .as_str()
                    .expect("command")
                    .trim_start_matches("get pods # ")
                    .parse::<usize>()
                    .expect("n"),
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, (0..50).rev().collect::<Vec<_>>(), "three pages, newest first");
    let (status, bad) = app.request(Method::GET, "/audit?cursor=abc", Some(ADMIN_KEY), None).await;
    assert_eq!((status, &bad["detail"][0]["loc"]), (422, &json!(["query", "cursor"])), "{bad}");

    // A query right after the commands sees every one of their records.
    for _ in 0..30 {
        let (status, _) = app.execute("delete", &["pod", "x"], json!({})).await;
        assert!((400..500).contains(&status));
    }
    let (_, fresh) =
        app.get(&format!("/audit?cluster_id={cluster}&event_type=command_rejected&limit=1000")).await;
    assert_eq!(fresh["count"], 30, "{fresh}");
}

#[tokio::test]
async fn a_final_result_is_written_once_and_a_pending_record_is_replaced() {
    let app = TestApp::spawn().await;
    let (js, results_bucket) = (&app.gateway.state.js, &app.gateway.state.buckets.results);
    let command = Command::new(
        app.cluster_id.clone(),
        kubently_shared::policy::KubectlRequest::Version,
        protocol::Caller::service("agent"),
        "reply.nowhere",
        OffsetDateTime::now_utc(),
        Duration::from_secs(10),
    );
    let final_of = |status, executor: &str| CommandResult {
        output: format!("{executor} says {status:?}"),
        ..CommandResult::new(&command, status, executor, OffsetDateTime::now_utc())
    };
    // No record yet: the first final result is stored.
    let first = results::store_final(js, results_bucket, &final_of(CommandStatus::Success, "a")).await;
    assert!(matches!(first.expect("store"), Stored::Written));
    // A later one (an expiry, a duplicate) finds it and leaves it.
    match results::store_final(js, results_bucket, &final_of(CommandStatus::Timeout, "b"))
        .await
        .expect("store")
    {
        Stored::AlreadyFinal(kept) => {
            assert_eq!((kept.status, kept.executor_id.as_str()), (CommandStatus::Success, "a"))
        }
        Stored::Written => panic!("a final result was replaced"),
    }
    // A pending record (async execute) is replaced by the first final result only.
    let async_command = Command { id: uuid::Uuid::now_v7(), ..command.clone() };
    let pending =
        protocol::encode(&CommandResult::pending(&async_command, OffsetDateTime::now_utc())).expect("encode");
    kubently_shared::kv_ttl::replace(js, results_bucket, &async_command.id.to_string(), pending, 0)
        .await
        .expect("pending");
    let done = CommandResult::new(&async_command, CommandStatus::Failure, "c", OffsetDateTime::now_utc());
    assert!(matches!(results::store_final(js, results_bucket, &done).await.expect("store"), Stored::Written));
    let late = CommandResult::new(&async_command, CommandStatus::Success, "d", OffsetDateTime::now_utc());
    assert!(matches!(
        results::store_final(js, results_bucket, &late).await.expect("store"),
        Stored::AlreadyFinal(_)
    ));
    let stored = results::read(results_bucket, &async_command.cluster_id, async_command.id)
        .await
        .expect("read")
        .expect("a result");
    assert_eq!((stored.status, stored.executor_id.as_str()), (CommandStatus::Failure, "c"));
}
