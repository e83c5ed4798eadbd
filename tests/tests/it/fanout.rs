//! Fan-out: one read-only command on many clusters, through `POST /debug/execute/fanout`, the MCP
//! tool `execute_kubectl_fanout` and an A2A data part with `cluster_ids`. Three clusters of one
//! installation, all served from the run's API server: `a` plain, `b` whose executor refuses
//! ConfigMaps (`policy.restricted_resources`, so one command can succeed on `a` and fail on `b`),
//! and `c` whose executor was stopped.

use std::time::Duration;

use async_nats::jetstream::consumer;
use futures::StreamExt;
use kubently_gateway::settings::ApiKeySettings;
use kubently_shared::protocol;
use kubently_tests::app::{AGENT_KEY, ExecutorHandle, ExecutorOptions, GatewayHandle, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

use crate::mcp_raw::Raw;

/// May use clusters `a` and `c` of the fleet only.
const FLEET_KEY: &str = "fleet-key-0123456789abcdef";
const FANOUT: &str = "/debug/execute/fanout";

struct Fleet {
    app: TestApp,
    a: String,
    b: String,
    c: String,
    _executors: Vec<ExecutorHandle>,
}

async fn fleet() -> Fleet {
    let app = TestApp::spawn().await;
    let a = app.cluster_id.clone();
    let (b, c) = (format!("{a}-b"), format!("{a}-c"));
    let ea = app.start_executor("ea", ExecutorOptions::default()).await;
    let restricted =
        ExecutorOptions { restricted_resources: vec!["configmaps".into()], ..Default::default() };
    let eb = app.start_executor_on(&b, "eb", restricted).await;
    let ec = app.start_executor_on(&c, "ec", ExecutorOptions::default()).await;
    ec.stop();
    app.wait_cluster_connected(&c, false).await;
    Fleet { app, a, b, c, _executors: vec![ea, eb] }
}

/// `(cluster_id, status)` of each result.
fn statuses(body: &Value) -> Vec<(String, String)> {
    body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("results: {body}"))
        .iter()
        .map(|r| (text(r, "cluster_id"), text(r, "status")))
        .collect()
}

/// `(cluster_id, reason)` of each skipped cluster.
fn skipped(body: &Value) -> Vec<(String, String)> {
    body["skipped"]
        .as_array()
        .unwrap_or_else(|| panic!("skipped: {body}"))
        .iter()
        .map(|s| (text(s, "cluster_id"), text(s, "reason")))
        .collect()
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// The command id of `cluster_id`'s result.
fn command_id(body: &Value, cluster_id: &str) -> String {
    let results = body["results"].as_array().expect("results");
    let r = results.iter().find(|r| r["cluster_id"] == cluster_id).expect("the cluster's result");
    text(r, "command_id")
}

#[tokio::test]
async fn fanout_reports_each_cluster_groups_identical_answers_and_says_why_clusters_were_skipped() {
    let f = fleet().await;
    let (a, b, c) = (f.a.as_str(), f.b.as_str(), f.c.as_str());
    let unknown = format!("{a}-nope");

    // `version` on all three and one no executor ever served: a and b give the same answer.
    let body = json!({"cluster_ids": [a, b, c, unknown], "command_type": "version"});
    let (status, out) = f.app.post(FANOUT, &body).await;
    assert_eq!(status, 200, "{out}");
    eprintln!("[fanout] version:\n{}", serde_json::to_string_pretty(&out).expect("json"));
    assert_eq!(statuses(&out), pairs(&[(a, "success"), (b, "success")]));
    assert_eq!(skipped(&out), pairs(&[(c, "not_connected"), (&unknown, "unknown")]));
    let groups = out["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1, "identical outputs are one group: {out}");
    assert_eq!(groups[0]["clusters"], json!([a, b]));
    assert!(text(&groups[0], "output").contains("v1.20.2"), "{out}");
    assert!(
        out["results"].as_array().expect("results").iter().all(|r| r["group"] == 0 && r["error"].is_null())
    );
    let counts = &out["counts"];
    assert_eq!(
        (&counts["requested"], &counts["sent"], &counts["success"], &counts["skipped"], &counts["groups"]),
        (&json!(4), &json!(2), &json!(2), &json!(2), &json!(1)),
        "{out}"
    );
    // The fan-out id ties the clusters' commands together; each is a command of its own.
    let fanout_id = text(&out, "fanout_id");
    assert_eq!(text(&out, "correlation_id"), fanout_id);
    let (id_a, id_b) = (command_id(&out, a), command_id(&out, b));
    assert_ne!(id_a, id_b);
    for r in out["results"].as_array().expect("results") {
        let url = r["meta"]["result_url"].as_str().expect("result_url");
        assert_eq!(url, format!("/debug/result/{}", text(r, "command_id")));
        let (status, page) = f.app.get(url).await;
        assert_eq!((status, page["status"].as_str()), (200, Some("success")), "{page}");
        assert_eq!(page["cluster_id"], r["cluster_id"]);
    }

    // Audit and events per cluster, carrying the fan-out's correlation id.
    for (cluster, id) in [(a, &id_a), (b, &id_b)] {
        let (status, page) = f.app.get(&format!("/audit?cluster_id={cluster}")).await;
        assert_eq!(status, 200, "{page}");
        let entries = page["entries"].as_array().expect("entries");
        let entry = entries
            .iter()
            .find(|e| e["command_id"] == id.as_str())
            .unwrap_or_else(|| panic!("no audit record of {cluster}'s command: {page}"));
        assert_eq!((text(entry, "outcome"), text(entry, "command")), ("success".into(), "version".into()));
        assert_eq!(text(entry, "correlation_id"), fanout_id);
        assert_eq!(text(entry, "service_identity"), "agent");
    }
    let events = completed_events(&f.app, &[a, b], 2).await;
    assert_eq!(events, vec![(a.to_string(), id_a.clone()), (b.to_string(), id_b.clone())]);

    // One command, two answers: success on a, failure on b (its executor refuses ConfigMaps).
    // Partial results are a 200.
    let body = json!({"cluster_ids": [a, b], "command_type": "get", "args": ["configmaps"], "namespace": "demo-shop"});
    let (status, out) = f.app.post(FANOUT, &body).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(statuses(&out), pairs(&[(a, "success"), (b, "failure")]));
    let groups = out["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 2, "{out}");
    assert_eq!((&groups[0]["clusters"], &groups[0]["status"]), (&json!([a]), &json!("success")));
    assert_eq!((&groups[1]["clusters"], &groups[1]["status"]), (&json!([b]), &json!("failure")));
    assert!(text(&groups[1], "error").contains("configmaps"), "the executor's refusal: {out}");
    assert!(out["skipped"].as_array().is_some_and(Vec::is_empty));

    // Each cluster gets its share of the output budget.
    let body = json!({"cluster_ids": [a, b], "command_type": "get", "args": ["pods", "-A", "-o", "wide"], "output_budget": 2048});
    let (status, out) = f.app.post(FANOUT, &body).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["output_budget_per_cluster"], 1024, "{out}");
    for r in out["results"].as_array().expect("results") {
        assert_eq!(r["meta"]["truncated"], true, "{r}");
    }
    for g in out["groups"].as_array().expect("groups") {
        // Cut at a line within 1 KiB; the footer that says so comes on top.
        assert!(text(g, "output").contains("budget 1024)"), "{g}");
        assert_eq!(g["truncated"], true, "{g}");
    }

    // "*": every cluster the key may use (a stopped cluster is skipped, not waited for).
    let (status, out) = f.app.post(FANOUT, &json!({"cluster_ids": "*", "command_type": "version"})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(statuses(&out), pairs(&[(a, "success"), (b, "success")]));
    assert_eq!(skipped(&out), pairs(&[(c, "not_connected")]));
    assert_eq!(out["counts"]["requested"], 3);
}

#[tokio::test]
async fn every_cluster_means_the_clusters_a_scoped_key_may_use() {
    let f = fleet().await;
    let (a, b, c) = (f.a.as_str(), f.b.as_str(), f.c.as_str());
    let gateway = scoped_gateway(&f.app, &[a, c]).await;
    let post = |body: Value| {
        let request = f.app.http.post(format!("{}{FANOUT}", gateway.url)).header("X-API-Key", FLEET_KEY);
        async move {
            let resp = request.json(&body).send().await.expect("gateway reachable");
            (resp.status().as_u16(), resp.json::<Value>().await.expect("json"))
        }
    };
    let (status, out) = post(json!({"cluster_ids": "*", "command_type": "version"})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(statuses(&out), pairs(&[(a, "success")]));
    assert_eq!(skipped(&out), pairs(&[(c, "not_connected")]));
    assert_eq!(out["counts"]["requested"], 2);
    assert!(!out.to_string().contains(&format!("\"{b}\"")), "another tenant's cluster shows: {out}");

    // Named outside its scope: skipped as not permitted, the rest still runs.
    let (status, out) = post(json!({"cluster_ids": [b, a], "command_type": "version"})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(statuses(&out), pairs(&[(a, "success")]));
    assert_eq!(skipped(&out), pairs(&[(b, "not_permitted")]));
    assert!(text(&out["skipped"][0], "detail").contains("fleet"), "{out}");
}

#[tokio::test]
async fn the_mcp_tool_and_the_a2a_data_part_fan_out_too() {
    let f = fleet().await;
    let (a, b, c) = (f.a.as_str(), f.b.as_str(), f.c.as_str());

    // MCP: execute_kubectl_fanout, listed and called.
    let raw = Raw::modern(&f.app, AGENT_KEY);
    let (status, tools) = raw.request(1, "tools/list", json!({})).await;
    assert_eq!(status, 200, "{tools}");
    let tool = tools["result"]["tools"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == "execute_kubectl_fanout"))
        .unwrap_or_else(|| panic!("execute_kubectl_fanout is listed: {tools}"));
    assert_eq!(tool["annotations"]["readOnlyHint"], true);
    let args = json!({"command": "version", "cluster_ids": "*"});
    let (status, answer) =
        raw.request(2, "tools/call", json!({"name": "execute_kubectl_fanout", "arguments": args})).await;
    assert_eq!(status, 200, "{answer}");
    let result = &answer["result"];
    assert_eq!(result["isError"], false, "{answer}");
    let out = &result["structuredContent"];
    eprintln!("[fanout] MCP: {}", serde_json::to_string_pretty(out).expect("json"));
    assert_eq!(statuses(out), pairs(&[(a, "success"), (b, "success")]));
    assert_eq!(skipped(out), pairs(&[(c, "not_connected")]));
    assert_eq!(out["groups"][0]["clusters"], json!([a, b]));
    assert!(out["results"].as_array().expect("results").iter().all(|r| r["result_id"].is_string()));
    let summary = text(out, "summary");
    assert!(summary.contains("2 success") && summary.contains("not connected"), "{summary}");
    // A bad list is a tool error that says what to change.
    let args = json!({"command": "version", "cluster_ids": [a, a]});
    let (_, answer) =
        raw.request(3, "tools/call", json!({"name": "execute_kubectl_fanout", "arguments": args})).await;
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    assert!(answer.to_string().contains("listed twice"), "{answer}");

    // A2A: a data part with cluster_ids.
    let ask = json!({"message": {"messageId": uuid::Uuid::new_v4().to_string(), "role": "ROLE_USER",
        "parts": [{"data": {"cluster_ids": [a, b, c], "command": "version"}}]}});
    let resp = f
        .app
        .http
        .post(format!("{}/a2a", f.app.gateway.url))
        .header("X-API-Key", AGENT_KEY)
        .header("A2A-Version", "1.0")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": ask}))
        .send()
        .await
        .expect("send");
    let body: Value = resp.json().await.expect("json");
    let task = &body["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "partial results complete the task: {body}");
    let parts = &task["artifacts"][0]["parts"];
    let data = &parts[1]["data"];
    assert_eq!(statuses(data), pairs(&[(a, "success"), (b, "success")]));
    assert_eq!(skipped(data), pairs(&[(c, "not_connected")]));
    assert_eq!(data["correlation_id"], task["contextId"], "the A2A context id is the correlation id");
    let shown = text(&parts[0], "text");
    assert!(shown.contains(&format!("== {a}, {b} (success) ==")) && shown.contains("v1.20.2"), "{shown}");
    // cluster_ids with cluster_id is ambiguous: rejected.
    let ask = json!({"message": {"messageId": uuid::Uuid::new_v4().to_string(), "role": "ROLE_USER",
        "parts": [{"data": {"cluster_ids": [a], "cluster_id": a, "command": "version"}}]}});
    let resp = f
        .app
        .http
        .post(format!("{}/a2a", f.app.gateway.url))
        .header("X-API-Key", AGENT_KEY)
        .header("A2A-Version", "1.0")
        .json(&json!({"jsonrpc": "2.0", "id": 2, "method": "SendMessage", "params": ask}))
        .send()
        .await
        .expect("send");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["result"]["task"]["status"]["state"], "TASK_STATE_REJECTED", "{body}");
}

#[tokio::test]
async fn a_cluster_whose_executor_dies_before_answering_is_not_connected() {
    let app = TestApp::spawn().await;
    let a = app.cluster_id.clone();
    let d = format!("{a}-d");
    let _ea = app.start_executor("ea", ExecutorOptions::default()).await;
    let ed = app.start_executor_on(&d, "ed", ExecutorOptions::default()).await;
    // Killed: its presence outlives it by up to three heartbeats, so the command is sent, and
    // nobody takes it.
    ed.kill();
    assert!(app.gateway.state.registry.is_connected(&d), "still looks connected");
    let body = json!({"cluster_ids": [a, d], "command_type": "version", "timeout_seconds": 6});
    let (status, out) = app.post(FANOUT, &body).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(statuses(&out), pairs(&[(&a, "success"), (&d, "not_connected")]));
    let dead = &out["results"][1];
    assert!(dead["group"].is_null(), "{out}");
    assert!(text(dead, "error").contains("no executor connected"), "{out}");
    assert_eq!(out["counts"]["not_connected"], 1);
    // It waited for its own deadline; the other cluster answered at once.
    assert!(dead["execution_time_ms"].as_u64().is_some_and(|ms| ms >= 6000), "{out}");
    assert!(out["results"][0]["execution_time_ms"].as_u64().is_some_and(|ms| ms < 5000), "{out}");
}

#[tokio::test]
async fn fanout_requests_are_validated_with_clear_errors() {
    let app = TestApp::spawn().await;
    let a = app.cluster_id.clone();
    let many: Vec<String> = (0..1001).map(|i| format!("c{i}")).collect();
    let cases = [
        (json!({"cluster_ids": [], "command_type": "version"}), vec!["body", "cluster_ids"], "at least one"),
        (
            json!({"cluster_ids": [a, "x", a], "command_type": "version"}),
            vec!["body", "cluster_ids", "2"],
            "twice",
        ),
        (
            json!({"cluster_ids": "prod", "command_type": "version"}),
            vec!["body", "cluster_ids"],
            "list of cluster ids",
        ),
        (
            json!({"cluster_ids": ["*", a], "command_type": "version"}),
            vec!["body", "cluster_ids", "0"],
            "stands alone",
        ),
        (
            json!({"cluster_ids": ["Bad_Id"], "command_type": "version"}),
            vec!["body", "cluster_ids", "0"],
            "lowercase",
        ),
        (
            json!({"cluster_ids": many, "command_type": "version"}),
            vec!["body", "cluster_ids"],
            "at most 1000",
        ),
        (
            json!({"cluster_ids": [a], "command_type": "delete", "args": ["pod", "x"]}),
            vec!["body", "command_type"],
            "delete",
        ),
        (
            json!({"cluster_ids": [a], "command_type": "version", "timeout_seconds": 0}),
            vec!["body", "timeout_seconds"],
            "between",
        ),
    ];
    for (body, loc, says) in cases {
        let (status, out) = app.post(FANOUT, &body).await;
        assert_eq!(status, 422, "{out}");
        let detail = &out["detail"][0];
        assert_eq!(detail["loc"], json!(loc), "{out}");
        assert!(text(detail, "msg").contains(says), "`{says}` in {out}");
    }
    // A fan-out has no session or callback: unknown fields are refused.
    for field in ["session_id", "cluster_id", "callback_url"] {
        let mut body = json!({"cluster_ids": [a], "command_type": "version"});
        body[field] = json!("x");
        let (status, out) = app.post(FANOUT, &body).await;
        assert_eq!(status, 422, "{field}: {out}");
        assert!(out.to_string().contains(field), "{out}");
    }
    let (status, out) = app.request(Method::POST, FANOUT, None, Some(&json!({"cluster_ids": "*"}))).await;
    assert_eq!(status, 401, "{out}");
    // Nothing to run on is an answer, not an error.
    let (status, out) = app.post(FANOUT, &json!({"cluster_ids": "*", "command_type": "version"})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!((&out["counts"]["requested"], &out["counts"]["sent"]), (&json!(0), &json!(0)), "{out}");
}

/// A gateway replica that also knows [`FLEET_KEY`], scoped to `clusters`, once it sees them.
async fn scoped_gateway(app: &TestApp, clusters: &[&str]) -> GatewayHandle {
    let mut settings = kubently_tests::app::gateway_settings(&app.ctx, &app.prefix);
    settings.auth.keys.push(ApiKeySettings {
        service: "fleet".into(),
        key: FLEET_KEY.into(),
        clusters: clusters.iter().map(|c| c.to_string()).collect(),
        ..Default::default()
    });
    let gateway = kubently_tests::app::spawn_gateway(settings).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !clusters.iter().all(|c| gateway.state.registry.is_known(c))
        || !gateway.state.registry.is_connected(clusters[0])
    {
        assert!(tokio::time::Instant::now() < deadline, "the replica never saw {clusters:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    gateway
}

/// `(cluster, command id)` of the `command.completed` events of `clusters`, in cluster order,
/// once there are `want` of them.
async fn completed_events(app: &TestApp, clusters: &[&str], want: usize) -> Vec<(String, String)> {
    let names = &app.gateway.state.names;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut found = Vec::new();
        for cluster in clusters {
            let stream = app.ctx.jetstream().get_stream(names.events_stream()).await.expect("events stream");
            let consumer = stream
                .create_consumer(consumer::pull::OrderedConfig {
                    filter_subject: names.event_subject("command.completed", cluster),
                    ..Default::default()
                })
                .await
                .expect("ordered consumer");
            let mut messages = consumer.messages().await.expect("messages");
            while let Ok(Some(Ok(msg))) =
                tokio::time::timeout(Duration::from_millis(300), messages.next()).await
            {
                let event: protocol::Event = protocol::decode(&msg.payload).expect("event");
                found.push((event.cluster_id.clone(), text(&event.data, "command_id")));
            }
        }
        if found.len() >= want || tokio::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
