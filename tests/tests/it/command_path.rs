//! The command path end to end: REST gateway → JetStream → executor → kube-apiserver, with real
//! servers. Each test has its own gateway, executors, cluster id and NATS name prefix.

use std::time::Duration;

use async_nats::jetstream::consumer;
use futures::StreamExt;
use kubently_shared::protocol::{self, CommandResult, CommandStatus};
use kubently_tests::app::{ADMIN_KEY, ExecutorOptions, OTHER_KEY, SCOPED_KEY, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

/// Every stored result of this app's commands.
async fn stored_results(app: &TestApp) -> Vec<CommandResult> {
    let results = &app.gateway.state.buckets.results;
    let mut keys = results.keys().await.expect("result keys");
    let mut out = Vec::new();
    while let Some(k) = keys.next().await {
        let k = k.expect("key");
        if let Some(bytes) = results.get(&k).await.expect("get result") {
            out.push(protocol::decode::<CommandResult>(&bytes).expect("decode result"));
        }
    }
    out
}

/// Event types stored for this app's cluster, in order.
async fn event_types(app: &TestApp) -> Vec<String> {
    let names = &app.gateway.state.names;
    let mut stream = app.ctx.jetstream().get_stream(names.events_stream()).await.expect("events stream");
    let pending = stream.info().await.expect("info").state.messages;
    if pending == 0 {
        return Vec::new();
    }
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: names.events_subjects(),
            ..Default::default()
        })
        .await
        .expect("ordered consumer");
    let mut messages = consumer.messages().await.expect("messages");
    let mut types = Vec::new();
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_millis(300), messages.next()).await {
        let event: protocol::Event = protocol::decode(&msg.payload).expect("event");
        if event.cluster_id == app.cluster_id {
            types.push(event.event_type.as_str().to_string());
        }
    }
    types
}

#[tokio::test]
async fn execute_without_a_session_runs_get_version_and_api_resources() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let (status, body) = app.execute("get", &["pods"], json!({"namespace": "demo-shop"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(text(&body, "status"), "success", "{body}");
    let output = text(&body, "output");
    assert!(
        output.starts_with("NAME") && output.contains("orders-api-") && output.contains("CrashLoopBackOff"),
        "{output}"
    );
    assert!(body["session_id"].is_null());
    assert!(uuid::Uuid::parse_str(&text(&body, "command_id")).is_ok());

    let (_, body) = app.execute("version", &[], json!({})).await;
    assert!(text(&body, "output").contains("v1.20.2"), "{body}");
    let (_, body) = app.execute("api-resources", &[], json!({})).await;
    assert!(text(&body, "output").contains("deployments"), "{body}");

    // Shell metacharacters are data: a pod name that would be an injection elsewhere is just not found.
    let (status, body) = app.execute("get", &["pods", "x;$(reboot)`id`", "-n", "demo-shop"], json!({})).await;
    assert_eq!((status, text(&body, "status").as_str()), (200, "failure"), "{body}");
    assert!(text(&body, "error").contains("not found"), "{body}");
}

#[tokio::test]
async fn session_lifecycle_honours_ttl_keepalive_and_ownership() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let (status, s) = app
        .post(
            "/debug/session",
            &json!({"cluster_id": app.cluster_id, "ttl_seconds": 120, "user_id": "alice"}),
        )
        .await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(text(&s, "status"), "active");
    assert_eq!(s["ttl_seconds"], 120);
    let parse = |v: &Value, k: &str| {
        time::OffsetDateTime::parse(
            v[k].as_str().expect("time"),
            &time::format_description::well_known::Rfc3339,
        )
        .expect("rfc3339")
    };
    assert_eq!(
        (parse(&s, "expires_at") - parse(&s, "created_at")).whole_seconds(),
        120,
        "ttl_seconds is honoured"
    );
    let id = text(&s, "session_id");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) =
        app.execute("get", &["pods"], json!({"namespace": "demo-shop", "session_id": id})).await;
    assert_eq!((status, text(&body, "status").as_str()), (200, "success"), "{body}");
    assert_eq!(text(&body, "session_id"), id);
    let (_, after) = app.get(&format!("/debug/session/{id}")).await;
    assert!(
        parse(&after, "expires_at") > parse(&s, "expires_at"),
        "keep-alive moves expires_at: {s} → {after}"
    );
    assert_eq!(after["command_count"], 1);

    let (status, _) = app.request(Method::GET, &format!("/debug/session/{id}"), Some(OTHER_KEY), None).await;
    assert_eq!(status, 404, "sessions belong to the key that made them");
    let (status, _) = app.request(Method::GET, &format!("/debug/session/{id}"), Some(ADMIN_KEY), None).await;
    assert_eq!(status, 200, "admins see every session");

    let (status, _) = app.delete(&format!("/debug/session/{id}")).await;
    assert_eq!(status, 204);
    let (status, ended) = app.get(&format!("/debug/session/{id}")).await;
    assert_eq!((status, text(&ended, "status").as_str()), (200, "ended"));
    let (status, _) = app.delete(&format!("/debug/session/{id}")).await;
    assert_eq!(status, 404);
    let (status, body) = app.execute("version", &[], json!({"session_id": id})).await;
    assert_eq!(status, 404, "an ended session cannot run commands: {body}");
}

#[tokio::test]
async fn a_session_expires_after_its_ttl() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let (_, s) = app.post("/debug/session", &json!({"cluster_id": app.cluster_id, "ttl_seconds": 60})).await;
    let id = text(&s, "session_id");
    tokio::time::sleep(Duration::from_secs(61)).await;
    let (status, body) = app.get(&format!("/debug/session/{id}")).await;
    assert_eq!((status, text(&body, "status").as_str()), (200, "expired"), "{body}");
    let (status, _) = app.execute("version", &[], json!({"session_id": id})).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn unknown_sessions_and_clusters_are_404s() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let (status, body) =
        app.execute("version", &[], json!({"session_id": uuid::Uuid::new_v4().to_string()})).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Session not found")));
    let (status, body) = app.execute("version", &[], json!({"session_id": "not-a-uuid"})).await;
    assert_eq!(status, 404, "{body}");
    let body = json!({"cluster_id": "some-other-cluster", "command_type": "version"});
    let (status, resp) = app.post("/debug/execute", &body).await;
    assert_eq!(status, 404, "{resp}");
    let detail = resp["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("Cluster 'some-other-cluster' not found") && detail.contains(&app.cluster_id),
        "lists the known clusters: {resp}"
    );
    let (status, _) = app.post("/debug/session", &json!({"cluster_id": "some-other-cluster"})).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn session_of_another_cluster_is_a_400() {
    let app = TestApp::spawn().await;
    let first = app.start_executor("a", ExecutorOptions::default()).await;
    // A second cluster served by the same deployment.
    let mut other_settings = app.executor_settings("b", &ExecutorOptions::default());
    other_settings.executor.cluster_id = format!("{}-two", app.cluster_id);
    let second_cluster = other_settings.executor.cluster_id.clone();
    other_settings.nats.credentials_file = Some(app.executor_creds(&second_cluster));
    let other = tokio::spawn(async move {
        let exec = kubently_executor::Application::build(other_settings).await.expect("second executor");
        exec.run_until(tokio::time::sleep(Duration::from_secs(30))).await
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !app.gateway.state.registry.is_connected(&second_cluster) {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, s) = app.post("/debug/session", &json!({"cluster_id": second_cluster})).await;
    let (status, body) = app.execute("version", &[], json!({"session_id": text(&s, "session_id")})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].as_str().unwrap_or_default().starts_with("Session cluster mismatch"), "{body}");
    other.abort();
    drop(first);
}

#[tokio::test]
async fn validation_errors_are_422_with_useful_messages() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let cases = [
        (json!({"cluster_id": "Bad_Cluster", "command_type": "version"}), "cluster_id"),
        (
            json!({"cluster_id": app.cluster_id, "command_type": "delete", "args": ["pod", "x"]}),
            "command_type",
        ),
        (
            json!({"cluster_id": app.cluster_id, "command_type": "get", "args": ["pods", "--token=abc"]}),
            "args",
        ),
        (
            json!({"cluster_id": app.cluster_id, "command_type": "get", "args": ["pods"], "extra_args": ["--kubeconfig=/etc/x"]}),
            "extra_args",
        ),
        (
            json!({"cluster_id": app.cluster_id, "command_type": "rollout", "args": ["restart", "deploy/x"]}),
            "args",
        ),
        (
            json!({"cluster_id": app.cluster_id, "command_type": "get", "args": ["pods"], "timeout_seconds": 0}),
            "timeout_seconds",
        ),
    ];
    for (body, field) in cases {
        let (status, resp) = app.post("/debug/execute", &body).await;
        assert_eq!(status, 422, "{body} → {resp}");
        let detail = &resp["detail"][0];
        let loc: Vec<String> = detail["loc"]
            .as_array()
            .expect("loc")
            .iter()
            .map(|v| v.as_str().map(String::from).unwrap_or_else(|| v.to_string()))
            .collect();
        assert!(loc.contains(&field.to_string()), "{body}: loc {loc:?} should name {field}");
        assert!(detail["msg"].as_str().is_some_and(|m| m.len() > 20), "a message that explains: {resp}");
    }
    let (status, resp) = app
        .post("/debug/execute", &json!({"cluster_id": app.cluster_id, "command_type": "exec", "args": ["x"]}))
        .await;
    assert_eq!(status, 422);
    assert!(
        resp.to_string().contains("get") && resp.to_string().contains("describe"),
        "lists the allowed verbs: {resp}"
    );
    let (status, resp) =
        app.post("/debug/session", &json!({"cluster_id": app.cluster_id, "ttl_seconds": 30})).await;
    assert_eq!(status, 422, "{resp}");
    let (status, resp) = app
        .post(
            "/debug/execute",
            &json!({"cluster_id": app.cluster_id, "command_type": "get", "args": ["pods"], "bogus": 1}),
        )
        .await;
    assert_eq!(status, 422, "unknown fields are refused: {resp}");
    let resp = app
        .http
        .post(format!("{}/debug/execute", app.gateway.url))
        .header("X-API-Key", kubently_tests::app::AGENT_KEY)
        .header("X-Request-Timeout", "61")
        .json(&json!({"cluster_id": app.cluster_id, "command_type": "version"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 422);
    // Upstream's false positives pass.
    for args in [
        vec!["logs", "credit-api-123", "-n", "web-editor"],
        vec!["get", "pods", "-l", "app=scaler", "-n", "demo-shop"],
    ] {
        let (status, resp) = app.execute(args[0], &args[1..], json!({})).await;
        assert_eq!(status, 200, "{args:?} must pass the policy: {resp}");
    }
}

#[tokio::test]
async fn api_keys_and_scopes_are_enforced() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let (status, body) = app.request(Method::GET, "/debug/clusters", None, None).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Missing API key")));
    let (status, body) =
        app.request(Method::GET, "/debug/clusters", Some("wrong-key-0123456789abc"), None).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Invalid API key")));
    let body = json!({"cluster_id": app.cluster_id, "command_type": "version"});
    let (status, _) = app.request(Method::POST, "/debug/execute", Some(SCOPED_KEY), Some(&body)).await;
    assert_eq!(status, 403, "a key scoped to another cluster");
    let (_, clusters) = app.request(Method::GET, "/debug/clusters", Some(SCOPED_KEY), None).await;
    assert_eq!(clusters["count"], 0, "scoped keys only see their clusters: {clusters}");
    let (status, _) = app.get("/admin/agents").await;
    assert_eq!(status, 403);
    let (status, agents) = app.request(Method::GET, "/admin/agents", Some(ADMIN_KEY), None).await;
    assert_eq!(status, 200);
    assert!(
        agents["clusters"]
            .as_array()
            .expect("clusters")
            .iter()
            .any(|c| c["id"] == app.cluster_id.as_str() && c["connected"] == true),
        "{agents}"
    );
    let (status, _) = app.request(Method::GET, "/metrics", None, None).await;
    assert_eq!(status, 401);
    let (status, _) = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, 200, "liveness needs no key");
}

#[tokio::test]
async fn no_executor_means_an_explicit_timeout_and_the_command_never_runs_late() {
    let app = TestApp::spawn().await;
    let (status, body) = app.execute("version", &[], json!({"timeout_seconds": 1})).await;
    assert_eq!(status, 404, "a never-seen cluster is unknown: {body}");
    app.start_executor("e1", ExecutorOptions::default()).await.stop();
    app.wait_connected(false).await;

    let (status, body) =
        app.execute("get", &["pods"], json!({"namespace": "demo-shop", "timeout_seconds": 2})).await;
    assert_eq!((status, text(&body, "status").as_str()), (200, "timeout"), "{body}");
    let error = text(&body, "error");
    assert!(error.contains(&format!("no executor connected for cluster '{}'", app.cluster_id)), "{error}");
    let id = uuid::Uuid::parse_str(&text(&body, "command_id")).expect("command id");

    // An executor that arrives later answers the queued command with an explicit expiry.
    let _late = app.start_executor("e2", ExecutorOptions::default()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let result = loop {
        if let Some(r) = stored_results(&app).await.into_iter().find(|r| r.command_id == id) {
            break r;
        }
        assert!(tokio::time::Instant::now() < deadline, "the queued command was never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(result.status, CommandStatus::Timeout, "{result:?}");
    assert!(result.output.is_empty(), "an expired command is not run");
}

#[tokio::test]
async fn a_crashed_executor_still_in_the_registry_gives_the_did_not_answer_timeout() {
    let app = TestApp::spawn().await;
    // Slow heartbeats: the crashed executor's presence outlives the 1 s command by far.
    let executor =
        app.start_executor("e1", ExecutorOptions { heartbeat_seconds: 10, ..Default::default() }).await;
    executor.kill(); // its heartbeat key lives on for up to 3 beats
    let (_, body) = app.execute("version", &[], json!({"timeout_seconds": 1})).await;
    assert_eq!(text(&body, "status"), "timeout", "{body}");
    assert!(text(&body, "error").contains("executor did not answer within 1 s"), "{body}");
}

#[tokio::test]
async fn the_registry_shows_connect_and_disconnect_and_emits_events() {
    let (app, executor) = TestApp::spawn_with_executor().await;
    let (status, detail) = app.get(&format!("/debug/clusters/{}", app.cluster_id)).await;
    assert_eq!(status, 200);
    assert_eq!(detail["connected"], true, "{detail}");
    assert_eq!(detail["kubernetesVersion"], "v1.20.2", "{detail}");
    assert_eq!(detail["executors"][0]["executorId"], "e1");
    // Test executors run with the apiserver's admin credential, allowed as a lab identity: the
    // presence record says so, with the permissions that make it dangerous.
    assert_eq!(detail["access"]["writeIdentity"], true, "{detail}");
    assert_eq!(detail["access"]["secrets"], json!(["*"]), "{detail}");
    assert!(
        detail["access"]["dangerousPermissions"][0].as_str().is_some_and(|d| d.contains("cluster-admin")),
        "{detail}"
    );
    let (_, listed) = app.get("/debug/clusters").await;
    assert!(listed["clusters"].as_array().expect("list").contains(&json!(app.cluster_id)));

    executor.stop();
    app.wait_connected(false).await;
    let (_, status) = app.get(&format!("/cluster/{}/status", app.cluster_id)).await;
    assert_eq!(
        (status["connected"].clone(), status["status"].clone()),
        (json!(false), json!("disconnected")),
        "{status}"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let types = loop {
        let types = event_types(&app).await;
        let both = ["cluster.connected", "cluster.disconnected"].iter().all(|t| types.iter().any(|x| x == t));
        if both || tokio::time::Instant::now() > deadline {
            break types;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        types.contains(&"cluster.connected".to_string())
            && types.contains(&"cluster.disconnected".to_string()),
        "{types:?}"
    );
}

#[tokio::test]
async fn audit_records_every_command_without_its_output() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let resp = app
        .http
        .post(format!("{}/debug/execute", app.gateway.url))
        .header("X-API-Key", kubently_tests::app::AGENT_KEY)
        .header("X-Correlation-ID", "incident-4711")
        .json(&json!({"cluster_id": app.cluster_id, "command_type": "get", "args": ["pods"], "namespace": "demo-shop"}))
        .send()
        .await
        .expect("send");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(text(&body, "correlation_id"), "incident-4711");
    let _ = app.execute("delete", &["pod", "x"], json!({})).await; // rejected: audited too

    // Audit records are stored in the background: wait for both.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let audit = loop {
        let (status, audit) = app.get(&format!("/audit?cluster_id={}", app.cluster_id)).await;
        assert_eq!(status, 200, "{audit}");
        if audit["count"] == 2 || tokio::time::Instant::now() > deadline {
            break audit;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let entries = audit["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2, "{audit}");
    let run = entries.iter().find(|e| e["type"] == "command_executed").expect("executed entry");
    assert_eq!(run["outcome"], "success");
    assert_eq!(run["correlation_id"], "incident-4711");
    assert_eq!(run["service_identity"], "agent");
    assert!(run["command"].as_str().unwrap_or_default().contains("get pods"), "{run}");
    assert!(!audit.to_string().contains("CrashLoopBackOff"), "the audit log never holds output");
    assert!(entries.iter().any(|e| e["outcome"] == "rejected"), "{audit}");

    let (_, theirs) = app.request(Method::GET, "/audit", Some(OTHER_KEY), None).await;
    assert_eq!(theirs["count"], 0, "another caller sees none of it: {theirs}");
    let (_, all) = app
        .request(Method::GET, &format!("/audit?cluster_id={}", app.cluster_id), Some(ADMIN_KEY), None)
        .await;
    assert_eq!(all["count"], 2);
    let (status, _) = app.get("/audit?since=yesterday").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn two_executor_replicas_share_the_work() {
    let app = TestApp::spawn().await;
    let opts = ExecutorOptions { concurrency: 2, ..Default::default() };
    let _a = app.start_executor("a", opts.clone()).await;
    let _b = app.start_executor("b", opts).await;
    let calls = (0..40)
        .map(|_| app.execute("get", &["pods"], json!({"namespace": "demo-shop", "timeout_seconds": 20})));
    for (status, body) in futures::future::join_all(calls).await {
        assert_eq!((status, text(&body, "status").as_str()), (200, "success"), "{body}");
    }
    let results = stored_results(&app).await;
    assert_eq!(results.len(), 40, "every command answered exactly once");
    let by_a = results.iter().filter(|r| r.executor_id == "a").count();
    assert!(by_a > 0 && by_a < 40, "both replicas took work: a ran {by_a} of 40");
}

#[tokio::test]
async fn a_gateway_restart_loses_no_accepted_command() {
    let mut app = TestApp::spawn().await;
    app.start_executor("e1", ExecutorOptions::default()).await.stop();
    app.wait_connected(false).await;
    // Accepted while no executor is connected; then the gateway that accepted it goes away.
    let url = format!("{}/debug/execute", app.gateway.url);
    let request = app
        .http
        .post(url)
        .header("X-API-Key", kubently_tests::app::AGENT_KEY)
        .json(&json!({"cluster_id": app.cluster_id, "command_type": "get", "args": ["pods"], "namespace": "demo-shop", "timeout_seconds": 30}))
        .send();
    let pending = tokio::spawn(request);
    tokio::time::sleep(Duration::from_millis(500)).await;
    pending.abort(); // the client gives up …
    app.restart_gateway().await; // … and the gateway restarts
    let _executor = app.start_executor("e2", ExecutorOptions::default()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let results = stored_results(&app).await;
        if let Some(r) = results.first() {
            assert_eq!(
                r.status,
                CommandStatus::Success,
                "the queued command ran once its executor came: {r:?}"
            );
            assert!(r.output.contains("orders-api-"));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the accepted command was lost");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn metrics_openapi_and_fast_mode() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let (_, body) = app.execute("version", &[], json!({})).await;
    assert_eq!(text(&body, "status"), "success");
    let metrics_for = |key: &'static str| {
        let request = app.http.get(format!("{}/metrics", app.gateway.url)).header("X-API-Key", key);
        async move { request.send().await.expect("metrics").text().await.expect("text") }
    };
    let metrics = metrics_for(ADMIN_KEY).await;
    assert!(
        metrics.contains(&format!(
            "kubently_commands_total{{cluster=\"{}\",verb=\"version\",status=\"success\"}} 1",
            app.cluster_id
        )),
        "{metrics}"
    );
    assert!(metrics.contains("kubently_command_duration_seconds_bucket"), "{metrics}");
    // Per-cluster series show every tenant's activity: admin keys only.
    let tenant = metrics_for(kubently_tests::app::AGENT_KEY).await;
    assert!(
        !tenant.contains("cluster=\"") && tenant.contains("kubently_command_duration_seconds_bucket"),
        "{tenant}"
    );
    let (status, doc) = app.request(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap_or_default().starts_with("3.1"), "{}", doc["openapi"]);
    assert!(doc["paths"]["/debug/execute"]["post"].is_object());
    // The execute marked the cluster active: the executor switched to fast fetching.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (_, d) = app.get(&format!("/debug/clusters/{}", app.cluster_id)).await;
        if d["mode"] == "fast" && d["status"]["hasActiveSession"] == true {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "executor never switched to fast mode: {d}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_executor_killed_mid_command_is_not_run_again_and_the_caller_is_told_at_once() {
    let app = TestApp::spawn().await;
    let opts = ExecutorOptions { ack_wait_seconds: 3, ..Default::default() };
    let first = app.start_executor("first", opts.clone()).await;
    let pod = {
        let (_, body) = app
            .execute(
                "get",
                &["pods", "-l", "app=storefront", "-o", "name"],
                json!({"namespace": "demo-shop"}),
            )
            .await;
        text(&body, "output").lines().next().expect("a storefront pod").trim_start_matches("pod/").to_string()
    };
    // A long-running command: follow a pod's logs until the deadline.
    let call = app.execute_in_background(
        json!({"command_type": "logs", "args": [pod, "-f"], "namespace": "demo-shop", "timeout_seconds": 15}),
    );
    // Wait until the first executor has it in flight, then crash it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.gateway.state.registry.executors(&app.cluster_id).iter().all(|e| e.in_flight == 0) {
        assert!(tokio::time::Instant::now() < deadline, "the command never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let second = app.start_executor("second", opts).await;
    first.kill();

    let killed_at = tokio::time::Instant::now();

    // Redelivered after the ack wait, the other replica finds the claim and the claimant gone:
    // it does not run the command again, and answers long before the 15 s deadline.
    let (_, body) = call.await.expect("call finished");
    assert_eq!(text(&body, "status"), "failure", "{body}");
    let error = text(&body, "error");
    assert!(
        error.contains("executor 'first'") && error.contains("was not run again"),
        "the caller learns who took it and that it was not re-run: {error}"
    );
    assert!(killed_at.elapsed() < Duration::from_secs(12), "answered before the deadline");
    let results = stored_results(&app).await;
    let ours: Vec<&CommandResult> =
        results.iter().filter(|r| r.command_id.to_string() == text(&body, "command_id")).collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].executor_id, "second", "the killed executor never answered it");
    assert_eq!(ours[0].status, CommandStatus::Failure);
    assert_eq!(ours[0].error.as_deref(), Some(error.as_str()), "the stored result is the one the caller got");
    drop(second);
}

#[tokio::test]
async fn a_command_whose_executor_died_is_never_said_not_to_have_run() {
    // The executor takes a long command, dies, and no executor is left by the deadline: the
    // registry says "no executor connected", but the command was taken (and may have reached the
    // cluster), so the timeout must not say it was not run — sync or async.
    let app = TestApp::spawn().await;
    let opts = ExecutorOptions { heartbeat_seconds: 1, ..Default::default() };
    let first = app.start_executor("first", opts).await;
    let pod = {
        let (_, body) = app
            .execute(
                "get",
                &["pods", "-l", "app=storefront", "-o", "name"],
                json!({"namespace": "demo-shop"}),
            )
            .await;
        text(&body, "output").lines().next().expect("a storefront pod").trim_start_matches("pod/").to_string()
    };
    let follow = json!({"cluster_id": app.cluster_id, "command_type": "logs", "args": [pod, "-f"], "namespace": "demo-shop", "timeout_seconds": 8});
    let (status, accepted) = app.post("/debug/execute/async", &follow).await;
    assert_eq!(status, 202, "{accepted}");
    let call = app.execute_in_background(follow);
    // Both follows claimed (plus the `get pods` above): the executor has them running.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut keys = app.gateway.state.buckets.claims.keys().await.expect("claim keys");
        let mut claimed = 0;
        while let Some(k) = keys.next().await {
            claimed += usize::from(k.expect("key").starts_with(&format!("{}.", app.cluster_id)));
        }
        if claimed == 3 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the commands never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill(); // its presence expires after 3 missed beats, well before the 8 s deadline

    let (_, body) = call.await.expect("call finished");
    assert_eq!(text(&body, "status"), "timeout", "{body}");
    let taken = |error: &str| {
        assert!(
            error.contains("executor 'first' took the command") && !error.contains("was not run ("),
            "the caller learns who took it, and is not told it did not run: {error}"
        );
    };
    taken(&text(&body, "error"));
    assert!(!app.gateway.state.registry.is_connected(&app.cluster_id), "no executor left at the deadline");

    // The async command's follow-up stores the same kind of timeout.
    let id = text(&accepted, "command_id");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let stored = loop {
        if let Some(r) = stored_results(&app).await.into_iter().find(|r| r.command_id.to_string() == id)
            && r.status.is_final()
        {
            break r;
        }
        assert!(tokio::time::Instant::now() < deadline, "the async command never got a final result");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(stored.status, CommandStatus::Timeout, "{stored:?}");
    taken(stored.error.as_deref().unwrap_or_default());
}

/// The `command.*` events of command `id`, in order.
async fn command_events(app: &TestApp, id: uuid::Uuid) -> Vec<protocol::Event> {
    let names = &app.gateway.state.names;
    let stream = app.ctx.jetstream().get_stream(names.events_stream()).await.expect("events stream");
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: names.events_subjects(),
            ..Default::default()
        })
        .await
        .expect("ordered consumer");
    let mut messages = consumer.messages().await.expect("messages");
    let mut events = Vec::new();
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_millis(300), messages.next()).await {
        let event: protocol::Event = protocol::decode(&msg.payload).expect("event");
        if event.data["command_id"] == id.to_string() {
            events.push(event);
        }
    }
    events
}

#[tokio::test]
async fn a_claimant_that_died_after_storing_its_result_still_gets_its_one_terminal_event() {
    // Executor 'ghost' took a command, stored its result and died before its event and its ack
    // left. The command comes again; the executor that finds the claim and the stored result
    // re-sends the reply and emits the event: one event, also when the ghost's did make it.
    use kubently_shared::claims::{self, Claimed};
    use kubently_shared::events::EventPublisher;
    use kubently_shared::policy::{self, CommandInput, PolicyConfig};
    use kubently_shared::protocol::{Caller, Command, Event, EventType};
    use kubently_shared::results::{self, Stored};
    use time::OffsetDateTime;

    let (app, _executor) = TestApp::spawn_with_executor().await;
    let (js, names, buckets) = (app.ctx.jetstream(), &app.gateway.state.names, &app.gateway.state.buckets);
    let version = policy::parse(
        &CommandInput { command_type: "version", args: &[], extra_args: &[], namespace: None },
        &PolicyConfig::default(),
    )
    .expect("version parses");
    for ghost_event_stored in [false, true] {
        let now = OffsetDateTime::now_utc();
        let mut command = Command::new(
            app.cluster_id.clone(),
            version.clone(),
            Caller::service("direct"),
            String::new(),
            now,
            Duration::from_secs(20),
        );
        command.reply_to = names.reply_subject(&command.cluster_id, "direct", command.id);
        let ghost = claims::Claim::new("ghost");
        let claimed = claims::claim(&js, &buckets.claims, &command, &ghost, Duration::from_secs(600));
        assert_eq!(claimed.await.expect("claim"), Claimed::Mine);
        let result = CommandResult {
            output: "ghost's output".into(),
            ..CommandResult::new(&command, CommandStatus::Success, "ghost", now)
        };
        let stored = results::store_final(&js, &buckets.results, &result).await.expect("store");
        assert!(matches!(stored, Stored::Written));
        if ghost_event_stored {
            let data = json!({"command_id": command.id, "status": "success", "executor_id": "ghost"});
            EventPublisher::new(js.clone(), names.clone())
                .store_deduplicated(
                    Event::new(EventType::CommandCompleted, &app.cluster_id, data, now).by("direct"),
                    format!("command.{}", command.id),
                )
                .await;
        }

        let mut replies = app.ctx.nats.subscribe(command.reply_to.clone()).await.expect("subscribe");
        app.ctx.publish_signed(names, &command).await;
        let reply = tokio::time::timeout(Duration::from_secs(15), replies.next())
            .await
            .expect("a reply within 15 s")
            .expect("reply subscription open");
        let reply: CommandResult = protocol::decode(&reply.payload).expect("decode");
        assert_eq!((reply.executor_id.as_str(), reply.output.as_str()), ("ghost", "ghost's output"));

        // The executor acks only once the event is stored: the reply came before that, so wait a bit.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let events = loop {
            let events = command_events(&app, command.id).await;
            if !events.is_empty() || tokio::time::Instant::now() > deadline {
                break events;
            }
        };
        let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(types, ["command.completed"], "ghost's event stored first: {ghost_event_stored}");
        assert_eq!(events[0].data["executor_id"], "ghost", "the event tells who produced the result");
    }
}

#[tokio::test]
async fn large_outputs_are_cut_to_the_budget_and_paged_from_the_stored_result() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let (status, full) =
        app.execute("get", &["pods", "-A", "-o", "yaml"], json!({"output_budget": 1_048_576})).await;
    assert_eq!((status, text(&full, "status").as_str()), (200, "success"), "{full}");
    let whole = text(&full, "output");
    assert!(whole.len() > 8 * 1024, "a big output to cut: {} bytes", whole.len());
    assert_eq!(full["meta"]["truncated"], false);

    let (_, cut) = app.execute("get", &["pods", "-A", "-o", "yaml"], json!({"output_budget": 4096})).await;
    let meta = &cut["meta"];
    assert_eq!(meta["truncated"], true, "{cut}");
    assert_eq!(meta["verb"], "get");
    assert_eq!(meta["bytes"].as_u64(), Some(whole.len() as u64), "meta gives the full size");
    assert!(meta["tokens_estimate"].as_u64().is_some_and(|t| t > 0 && t < 2000), "{meta}");
    let output = text(&cut, "output");
    assert!(output.contains("[kubently: output truncated") && output.contains("To narrow:"), "{output}");
    let kept = output.split("[kubently:").next().unwrap_or_default();
    assert!(kept.len() <= 4096 && whole.starts_with(kept), "cut at a line within the budget");

    // Page through the stored full output; it reassembles exactly.
    let id = text(&cut, "command_id");
    let (mut offset, mut joined) = (0u64, String::new());
    loop {
        let (status, page) = app.get(&format!("/debug/result/{id}?offset={offset}&limit=8192")).await;
        assert_eq!(status, 200, "{page}");
        joined.push_str(page["output"].as_str().unwrap_or_default());
        match page["next_offset"].as_u64() {
            Some(n) => offset = n,
            None => break,
        }
    }
    assert_eq!(joined.len(), whole.len());
    assert_eq!(
        joined.lines().filter(|l| !l.contains("creationTimestamp") && !l.contains("resourceVersion")).count(),
        whole.lines().filter(|l| !l.contains("creationTimestamp") && !l.contains("resourceVersion")).count()
    );
    let (status, _) = app.request(Method::GET, &format!("/debug/result/{id}"), Some(OTHER_KEY), None).await;
    assert_eq!(status, 404, "results belong to the caller that ran the command");
    let (status, _) = app.request(Method::GET, &format!("/debug/result/{id}"), Some(ADMIN_KEY), None).await;
    assert_eq!(status, 200);
    let (status, _) = app.execute("version", &[], json!({"output_budget": 10})).await;
    assert_eq!(status, 422, "a budget below 1 KiB is refused");
}

/// A stored result is searched instead of re-run: `grep` gives the matching lines numbered as
/// `grep -n` does, `context` the lines around them, `count` only how many; the filtered lines
/// page like the whole output; a bad search is a 422 naming its query field.
#[tokio::test]
async fn stored_results_are_searched_with_grep_context_and_count() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let (status, full) =
        app.execute("get", &["pods", "-A", "-o", "yaml"], json!({"output_budget": 1_048_576})).await;
    assert_eq!((status, text(&full, "status").as_str()), (200, "success"), "{full}");
    let whole: Vec<String> = text(&full, "output").lines().map(str::to_string).collect();
    let id = text(&full, "command_id");
    let expected: Vec<usize> = whole
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("phase: "))
        .map(|(i, _)| i + 1)
        .collect();
    assert!(expected.len() >= 5, "every pod has a phase: {expected:?}");

    // Matching lines only, each with its line number.
    let (status, page) = app.get(&format!("/debug/result/{id}?grep=%5E%5Cs%2Bphase%3A%20")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["matches"].as_u64(), Some(expected.len() as u64), "{page}");
    let numbered: Vec<usize> = text(&page, "output")
        .lines()
        .map(|l| l.split_once(':').and_then(|(n, _)| n.parse().ok()).unwrap_or_else(|| panic!("{l}")))
        .collect();
    assert_eq!(numbered, expected);
    assert!(text(&page, "output").lines().all(|l| l.contains("phase: ")));

    // With two lines of context: each line is the output's line of that number.
    let (_, ctx) = app.get(&format!("/debug/result/{id}?grep=phase%3A%20&context=2")).await;
    let out = text(&ctx, "output");
    let mut shown = 0;
    for line in out.lines().filter(|l| *l != "--") {
        let at = line.find([':', '-']).unwrap_or_else(|| panic!("{line}"));
        let number: usize = line[..at].parse().unwrap_or_else(|_| panic!("{line}"));
        assert_eq!(&line[at + 1..], whole[number - 1], "line {number}");
        assert_eq!(&line[at..=at] == ":", expected.contains(&number), "{line}");
        shown += 1;
    }
    assert!(
        shown > expected.len() && shown <= expected.len() * 5,
        "context lines around each match: {shown}"
    );

    // Only the count; and the filtered lines page like a whole output.
    let (_, count) = app.get(&format!("/debug/result/{id}?grep=phase%3A%20&count=true")).await;
    assert_eq!(count["matches"].as_u64(), Some(expected.len() as u64));
    assert_eq!(text(&count, "output"), format!("{} of {} lines match\n", expected.len(), whole.len()));
    let (mut offset, mut joined) = (0u64, String::new());
    loop {
        let (status, page) = app
            .get(&format!("/debug/result/{id}?grep=phase%3A%20&context=2&offset={offset}&limit=100"))
            .await;
        assert_eq!(status, 200, "{page}");
        joined.push_str(text(&page, "output").as_str());
        match page["next_offset"].as_u64() {
            Some(n) => offset = n,
            None => break,
        }
    }
    assert_eq!(joined, out, "the filtered lines reassemble from pages");

    // Bad searches: 422 naming the field.
    for (query, field) in [
        ("grep=(unclosed", "grep"),
        ("grep=(%3F%3Dlookahead)", "grep"),
        (&*format!("grep={}", "a".repeat(513)), "grep"),
        ("grep=x&context=21", "context"),
        ("context=2", "context"),
        ("count=true", "count"),
    ] {
        let (status, body) = app.get(&format!("/debug/result/{id}?{query}")).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["detail"][0]["loc"], json!(["query", field]), "{query}: {body}");
    }
    let (status, _) =
        app.request(Method::GET, &format!("/debug/result/{id}?grep=phase"), Some(OTHER_KEY), None).await;
    assert_eq!(status, 404, "another caller's result is not searched either");
}

/// Polls `GET /debug/result/{id}` until its status is not `pending` (or 20 s pass).
async fn settled_result(app: &TestApp, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, page) = app.get(&format!("/debug/result/{id}")).await;
        assert_eq!(status, 200, "{page}");
        if page["status"] != "pending" || tokio::time::Instant::now() > deadline {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn async_execute_returns_at_once_and_the_result_is_fetched_later() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let (status, accepted) = app.post("/debug/execute/async", &json!({"cluster_id": app.cluster_id, "command_type": "get", "args": ["pods"], "namespace": "demo-shop"})).await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["status"], "pending");
    let id = text(&accepted, "command_id");
    assert_eq!(text(&accepted, "result_url"), format!("/debug/result/{id}"));

    let result = settled_result(&app, &id).await;
    assert_eq!(result["status"], "success", "{result}");
    assert!(text(&result, "output").contains("orders-api-"), "{result}");
    assert_eq!(result["verb"], "get");
    let (status, _) = app.request(Method::GET, &format!("/debug/result/{id}"), Some(OTHER_KEY), None).await;
    assert_eq!(status, 404, "only the caller (or an admin) reads a result");

    // The result is also an event.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !event_types(&app).await.contains(&"command.completed".to_string()) {
        assert!(tokio::time::Instant::now() < deadline, "no command.completed event");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Refused commands are refused up front, like the sync door.
    let (status, _) = app
        .post(
            "/debug/execute/async",
            &json!({"cluster_id": app.cluster_id, "command_type": "delete", "args": ["pod", "x"]}),
        )
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn an_async_command_nobody_answers_turns_into_a_timeout() {
    let app = TestApp::spawn().await;
    app.start_executor("e1", ExecutorOptions::default()).await.stop();
    app.wait_connected(false).await;
    let (status, accepted) = app
        .post(
            "/debug/execute/async",
            &json!({"cluster_id": app.cluster_id, "command_type": "version", "timeout_seconds": 1}),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    let id = text(&accepted, "command_id");
    let (_, early) = app.get(&format!("/debug/result/{id}")).await;
    assert_eq!(early["status"], "pending", "{early}");
    let result = settled_result(&app, &id).await;
    assert_eq!(result["status"], "timeout", "{result}");
    assert!(text(&result, "error").contains("no executor connected"), "{result}");
}
