//! The A2A door with the official `a2a-sdk` Python client: the agent card, SendMessage with a
//! text part and with a data part, SendStreamingMessage (Task first, then working → artifact →
//! completed), GetTask, ListTasks (only the caller's), CancelTask, a refused command ending
//! REJECTED with the reason, push notifications (inline and by RPC) through the webhook
//! machinery, and wrong keys. Then, over raw JSON-RPC: a missing `message` is -32602, ListTasks
//! pages through the caller's own tasks with the true `totalSize`, the version may come as the
//! `A2A-Version` query parameter, the card carries caching headers (304 on a match), and a
//! message too large to keep is refused.

use kubently_tests::app::{AGENT_KEY, OTHER_KEY, TestApp};
use kubently_tests::python;
use kubently_tests::webhook_receiver::Receiver;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

fn last_task(events: &Value) -> &Value {
    &events.as_array().and_then(|a| a.last()).expect("an event")["task"]
}

fn artifact_text(task: &Value) -> String {
    task["artifacts"][0]["parts"][0]["text"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a2a_with_the_python_sdk() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let receiver = Receiver::start().await;
    let out = python::run_json(
        "a2a_client.py",
        vec![
            app.gateway.url.clone(),
            AGENT_KEY.into(),
            app.cluster_id.clone(),
            OTHER_KEY.into(),
            receiver.url("/push"),
        ],
    )
    .await;

    // The card: skills with examples, the API-key scheme, the JSON-RPC interface at /a2a.
    let card = &out["card"];
    assert_eq!(card["name"], "Kubently");
    assert_eq!(card["supportedInterfaces"][0]["url"], format!("{}/a2a", app.gateway.url));
    assert_eq!(card["supportedInterfaces"][0]["protocolBinding"], "JSONRPC");
    assert!(card["skills"][0]["examples"].as_array().is_some_and(|e| !e.is_empty()), "{card}");
    assert_eq!(card["securitySchemes"]["api_key"]["apiKeySecurityScheme"]["name"], "X-API-Key", "{card}");
    assert_eq!(card["capabilities"]["streaming"], true);
    assert_eq!(card["capabilities"]["pushNotifications"], true);

    // SendMessage, text part: completed with the output as text and data.
    let task = last_task(&out["send_text"]);
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{task}");
    assert!(artifact_text(task).contains("orders-api"), "{task}");
    let data = &task["artifacts"][0]["parts"][1]["data"];
    assert_eq!(data["status"], "success", "{task}");
    assert_eq!(data["cluster_id"], app.cluster_id.as_str());
    assert_eq!(data["correlation_id"], "a2a-test", "X-Correlation-ID reaches the command: {data}");
    assert!(task["history"].as_array().is_some_and(|h| !h.is_empty()), "history carried: {task}");

    // Data part.
    let task = last_task(&out["send_data"]);
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{task}");
    assert!(artifact_text(task).contains("storefront"), "{task}");

    // Streaming: Task first, then working, the artifact, completed.
    let kinds: Vec<String> = out["stream"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e.as_object().and_then(|o| o.keys().next().cloned()).unwrap_or_default())
        .collect();
    assert_eq!(kinds.first().map(String::as_str), Some("task"), "{kinds:?}");
    assert!(kinds.contains(&"artifactUpdate".to_string()), "{kinds:?}");
    let states: Vec<&str> = out["stream"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["statusUpdate"]["status"]["state"].as_str())
        .collect();
    assert_eq!(states, ["TASK_STATE_WORKING", "TASK_STATE_COMPLETED"], "{}", out["stream"]);
    let artifact = out["stream"]
        .as_array()
        .expect("events")
        .iter()
        .find_map(|e| e.get("artifactUpdate"))
        .expect("artifact");
    assert!(
        artifact["artifact"]["parts"][0]["text"].as_str().unwrap_or_default().contains("Name:"),
        "{artifact}"
    );
    assert!(artifact["artifact"]["parts"][1]["data"].is_object(), "{artifact}");

    // Plain English: a health question is diagnosed, its scope understood; anything else is
    // REJECTED with the skills and examples.
    assert_eq!(card["skills"][0]["id"], "diagnose", "{card}");
    let task = last_task(&out["ask_shop"]);
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{task}");
    let text = artifact_text(task);
    assert!(
        text.starts_with("diagnose namespace demo-shop: 5 findings") && text.contains("CrashLoopBackOff"),
        "{text}"
    );
    let events = out["ask_why"].as_array().cloned().unwrap_or_default();
    let working = events
        .iter()
        .find(|e| e["statusUpdate"]["status"]["state"] == "TASK_STATE_WORKING")
        .and_then(|e| e["statusUpdate"]["status"]["message"]["parts"][0]["text"].as_str())
        .unwrap_or_default()
        .to_string();
    assert_eq!(working, "understood as `diagnose report-builder -n demo-batch`", "{events:?}");
    let answer = events
        .iter()
        .find_map(|e| e["artifactUpdate"]["artifact"]["parts"][0]["text"].as_str())
        .unwrap_or_default();
    assert!(answer.contains("OOMKilled") && answer.contains("memory limit 64Mi"), "{answer}");
    let other = out["ask_other"].as_array().and_then(|a| a.last()).expect("answer").clone();
    assert_eq!(other["task"]["status"]["state"], "TASK_STATE_REJECTED", "{other}");
    let help = other["task"]["status"]["message"]["parts"][0]["text"].as_str().unwrap_or_default();
    assert!(
        help.contains("skill `diagnose`") && help.contains("what is wrong in namespace demo-shop?"),
        "{help}"
    );

    // The policy refuses: REJECTED with the reason.
    let refused = out["refused"].as_array().and_then(|a| a.last()).expect("refused").clone();
    let refused_task = &refused["task"];
    assert_eq!(refused_task["status"]["state"], "TASK_STATE_REJECTED", "{refused}");
    assert!(
        refused_task["status"]["message"]["parts"][0]["text"].as_str().unwrap_or_default().contains("delete"),
        "{refused}"
    );

    // GetTask, ListTasks, CancelTask.
    assert_eq!(out["get_task"]["status"]["state"], "TASK_STATE_COMPLETED");
    let listed: Vec<&str> =
        out["list_tasks"].as_array().expect("list").iter().filter_map(Value::as_str).collect();
    assert_eq!(listed.len(), 4, "the four tasks sent so far: {listed:?}");
    let paged = &out["list_paged"];
    assert_eq!(paged["sizes"], json!([2, 2]), "{paged}");
    assert_eq!(paged["totals"], json!([4, 4]), "totalSize counts before pagination: {paged}");
    let mut paged_ids: Vec<&str> =
        paged["ids"].as_array().expect("ids").iter().filter_map(Value::as_str).collect();
    let mut all = listed.clone();
    paged_ids.sort();
    all.sort();
    assert_eq!(paged_ids, all, "the pages hold every task once");
    assert_eq!(out["cancel"]["state"], "TASK_STATE_CANCELED", "{}", out["cancel"]);
    assert_eq!(out["cancel_completed"], "TaskNotCancelableError");
    assert_eq!(out["unknown_task"], "TaskNotFoundError");

    // Tasks belong to their caller; wrong keys are refused.
    assert_eq!(out["other_list"], json!([]), "another key lists none of them");
    assert_eq!(out["other_get"], "TaskNotFoundError");
    assert!(out["wrong_key"].as_str().unwrap_or_default().contains("401"), "{}", out["wrong_key"]);

    // Push notifications go through the webhook machinery: every event of the task, with the
    // config's token; the RPC-made config gets the cancel; a private target is refused.
    let push_task = out["push_task"].as_str().expect("push task").to_string();
    let got = receiver
        .wait_for(Duration::from_secs(15), "the inline config's pushes", |r| {
            r.iter().any(|x| {
                x.a2a_token == "tok-inline" && String::from_utf8_lossy(&x.body).contains("COMPLETED")
            })
        })
        .await;
    let inline: Vec<_> = got.iter().filter(|x| x.a2a_token == "tok-inline").collect();
    assert!(inline.len() >= 4, "Task, working, artifact, completed: {}", inline.len());
    assert!(
        inline.iter().all(|x| String::from_utf8_lossy(&x.body).contains(&push_task)),
        "every push is about the task"
    );
    assert!(
        inline.iter().any(|x| String::from_utf8_lossy(&x.body).contains("orders-api")),
        "the artifact is pushed"
    );
    receiver
        .wait_for(Duration::from_secs(15), "the cancel push", |r| {
            r.iter()
                .any(|x| x.a2a_token == "tok-rpc" && String::from_utf8_lossy(&x.body).contains("CANCELED"))
        })
        .await;
    assert_eq!(out["push_created"]["id"], "cfg-1", "{}", out["push_created"]);
    assert_eq!(out["push_listed"], json!(["cfg-1"]));
    assert_eq!(out["push_get"]["token"], "tok-rpc");
    assert_eq!(out["push_after_delete"], json!([]));
    assert!(out["push_private"].as_str().unwrap_or_default().contains("private"), "{}", out["push_private"]);

    // The version header is honoured: anything but 1.x is refused.
    let resp = app
        .http
        .post(format!("{}/a2a", app.gateway.url))
        .header("X-API-Key", AGENT_KEY)
        .header("A2A-Version", "0.3")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}}))
        .send()
        .await
        .expect("post");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], -32009, "{body}");
    let (status, _) = app
        .request(
            Method::POST,
            "/a2a",
            None,
            Some(&json!({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}})),
        )
        .await;
    assert_eq!(status, 401);
}

/// One JSON-RPC call to `/a2a{query}` with `key`; `A2A-Version: 1.0` is sent only without a
/// query.
async fn rpc(app: &TestApp, key: &str, query: &str, method: &str, params: Value) -> Value {
    rpc_at(app, &app.gateway.url, key, query, method, params).await
}

/// [`rpc`] against the gateway at `url` (a replica).
async fn rpc_at(app: &TestApp, url: &str, key: &str, query: &str, method: &str, params: Value) -> Value {
    let mut req = app.http.post(format!("{url}/a2a{query}")).header("X-API-Key", key);
    if query.is_empty() {
        req = req.header("A2A-Version", "1.0");
    }
    let resp = req
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 200, "JSON-RPC answers 200");
    resp.json().await.expect("json")
}

fn text_message(text: &str) -> Value {
    json!({"message": {
        "messageId": uuid::Uuid::new_v4().to_string(),
        "role": "ROLE_USER",
        "parts": [{"text": text}],
    }})
}

/// `totalSize` of the caller's ListTasks (0 is left out of ProtoJSON).
async fn total_tasks(app: &TestApp, key: &str) -> i64 {
    let body = rpc(app, key, "", "ListTasks", json!({"pageSize": 100})).await;
    assert!(body["result"].is_object(), "{body}");
    body["result"]["totalSize"].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn a2a_send_message_without_a_message_is_invalid_params() {
    let app = TestApp::spawn().await;
    for (method, params) in [
        ("SendMessage", json!({})),
        ("SendStreamingMessage", json!({})),
        ("SendMessage", json!({"message": {"messageId": "m1", "role": "ROLE_USER", "parts": []}})),
        ("SendMessage", json!({"message": {"role": "ROLE_USER", "parts": [{"text": "version"}]}})),
    ] {
        let body = rpc(&app, AGENT_KEY, "", method, params.clone()).await;
        assert_eq!(body["error"]["code"], -32602, "{method} {params}: {body}");
        assert!(body.get("result").is_none(), "{body}");
    }
    assert_eq!(total_tasks(&app, AGENT_KEY).await, 0, "no task was made");
    // A real message still makes a task.
    let body = rpc(&app, AGENT_KEY, "", "SendMessage", text_message("version")).await;
    assert!(body["result"]["task"]["id"].is_string(), "{body}");
    assert_eq!(total_tasks(&app, AGENT_KEY).await, 1);
}

#[tokio::test]
async fn a2a_list_tasks_pages_through_the_callers_own_tasks() {
    let app = TestApp::spawn().await;
    // Interleaved with another key's tasks, so filtering after paginating would leave holes.
    let mut mine = Vec::new();
    for i in 0..5 {
        let body = rpc(&app, AGENT_KEY, "", "SendMessage", text_message("version")).await;
        mine.push(body["result"]["task"]["id"].as_str().expect("task id").to_string());
        if i < 3 {
            let body = rpc(&app, OTHER_KEY, "", "SendMessage", text_message("version")).await;
            assert!(body["result"]["task"]["id"].is_string(), "{body}");
        }
    }
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut token = String::new();
    loop {
        let body =
            rpc(&app, AGENT_KEY, "", "ListTasks", json!({"pageSize": 2, "pageToken": token.clone()})).await;
        let page = &body["result"];
        assert_eq!(page["totalSize"], 5, "totalSize is every task of the caller's: {body}");
        assert_eq!(page["pageSize"], 2, "{body}");
        let tasks = page["tasks"].as_array().cloned().unwrap_or_default();
        sizes.push(tasks.len());
        seen.extend(tasks.iter().filter_map(|t| t["id"].as_str().map(str::to_string)));
        token = page["nextPageToken"].as_str().unwrap_or_default().to_string();
        if token.is_empty() || sizes.len() > 5 {
            break;
        }
    }
    assert_eq!(sizes, [2, 2, 1], "full pages, then the rest");
    let mut expected = mine.clone();
    expected.reverse();
    assert_eq!(seen, expected, "each of my tasks once, newest first");
    assert_eq!(total_tasks(&app, OTHER_KEY).await, 3);
    let body = rpc(&app, AGENT_KEY, "", "ListTasks", json!({"pageToken": "not-a-token"})).await;
    assert_eq!(body["error"]["code"], -32602, "{body}");
}

#[tokio::test]
async fn a2a_version_may_come_as_a_query_parameter() {
    let app = TestApp::spawn().await;
    let get = json!({"id": "no-such-task"});
    let body = rpc(&app, AGENT_KEY, "?A2A-Version=1.0", "GetTask", get.clone()).await;
    assert_eq!(body["error"]["code"], -32001, "the version is accepted, the task unknown: {body}");
    let body = rpc(&app, AGENT_KEY, "?a2a-version=1.0", "ListTasks", json!({})).await;
    assert!(body["result"].is_object(), "{body}");
    let body = rpc(&app, AGENT_KEY, "?A2A-Version=0.3", "GetTask", get.clone()).await;
    assert_eq!(body["error"]["code"], -32009, "{body}");
    // Neither header nor parameter: still refused.
    let body = rpc(&app, AGENT_KEY, "?other=1", "GetTask", get).await;
    assert_eq!(body["error"]["code"], -32009, "{body}");
}

#[tokio::test]
async fn a2a_card_has_caching_headers() {
    let app = TestApp::spawn().await;
    let url = format!("{}/.well-known/agent-card.json", app.gateway.url);
    let resp = app.http.get(&url).send().await.expect("get");
    assert_eq!(resp.status(), 200);
    let header = |r: &reqwest::Response, name: &str| {
        r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    };
    let cache_control = header(&resp, "cache-control");
    assert!(cache_control.contains("max-age="), "{cache_control}");
    let etag = header(&resp, "etag");
    assert!(etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2, "{etag}");
    let last_modified = header(&resp, "last-modified");
    assert!(last_modified.ends_with(" GMT"), "{last_modified}");
    let card: Value = resp.json().await.expect("card");
    assert_eq!(card["name"], "Kubently");

    for (name, value) in [
        ("if-none-match", etag.clone()),
        ("if-none-match", format!("\"other\", W/{etag}")),
        ("if-modified-since", last_modified.clone()),
    ] {
        let resp = app.http.get(&url).header(name, &value).send().await.expect("get");
        assert_eq!(resp.status(), 304, "{name}: {value}");
        assert_eq!(header(&resp, "etag"), etag);
        assert!(!header(&resp, "cache-control").is_empty());
        assert!(resp.bytes().await.expect("body").is_empty());
    }
    let resp = app.http.get(&url).header("if-none-match", "\"other\"").send().await.expect("get");
    assert_eq!(resp.status(), 200, "a stale copy gets the card");
    let resp = app
        .http
        .get(&url)
        .header("if-modified-since", "Thu, 01 Jan 1970 00:00:00 GMT")
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 200, "an old copy gets the card");
}

#[tokio::test]
async fn a2a_messages_too_large_to_keep_are_refused() {
    let app = TestApp::spawn().await;
    // The attacker's messages were kept whole in the task store; a kubectl command is tiny. (Over
    // the 64 KiB message limit, under the gateway's 1 MiB body limit, which answers 413 before.)
    let big = "x".repeat(256 * 1024);
    for method in ["SendMessage", "SendStreamingMessage"] {
        let body = rpc(&app, AGENT_KEY, "", method, text_message(&big)).await;
        assert_eq!(body["error"]["code"], -32602, "{method}: {}", body["error"]);
        assert!(body["error"]["message"].as_str().unwrap_or_default().contains("bytes"), "{}", body["error"]);
    }
    assert_eq!(total_tasks(&app, AGENT_KEY).await, 0, "nothing was kept");
    let body = rpc(&app, AGENT_KEY, "", "SendMessage", text_message(&"x".repeat(1000))).await;
    assert!(body["result"]["task"]["id"].is_string(), "an ordinary message still makes a task: {body}");
}

/// GetTask on the gateway at `url`, polled until `done(task)` (replicas catch up in milliseconds).
async fn task_at(app: &TestApp, url: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let body = rpc_at(app, url, AGENT_KEY, "", "GetTask", json!({"id": id})).await;
        if done(&body["result"]) {
            return body["result"].clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "task {id} on {url}: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a2a_tasks_and_push_configs_survive_a_restart_and_every_replica_serves_them() {
    let (mut app, _executor) = TestApp::spawn_with_executor().await;
    let body = rpc(&app, AGENT_KEY, "", "SendMessage", text_message("version")).await;
    let id = body["result"]["task"]["id"].as_str().expect("task id").to_string();
    assert_eq!(body["result"]["task"]["status"]["state"], "TASK_STATE_COMPLETED", "{body}");
    let config = json!({"taskId": id, "id": "ops", "url": "http://127.0.0.1:9/hook", "token": "t0k"});
    let saved = rpc(&app, AGENT_KEY, "", "CreateTaskPushNotificationConfig", config).await;
    assert_eq!(saved["result"]["id"], "ops", "{saved}");

    // Another replica reads, lists and owns the same task.
    let replica = app.start_replica().await;
    let task = task_at(&app, &replica.url, &id, |t| t["status"]["state"] == "TASK_STATE_COMPLETED").await;
    assert_eq!(task["artifacts"], body["result"]["task"]["artifacts"]);
    let listed = rpc_at(&app, &replica.url, AGENT_KEY, "", "ListTasks", json!({})).await;
    assert_eq!(listed["result"]["totalSize"], 1, "{listed}");
    let theirs = rpc_at(&app, &replica.url, OTHER_KEY, "", "GetTask", json!({"id": id})).await;
    assert!(theirs["error"].is_object(), "another caller's task stays hidden: {theirs}");
    let configs =
        rpc_at(&app, &replica.url, AGENT_KEY, "", "ListTaskPushNotificationConfigs", json!({"taskId": id}))
            .await;
    assert_eq!(configs["result"]["configs"][0]["id"], "ops", "{configs}");

    // The gateway that made it restarts: nothing is lost.
    app.restart_gateway().await;
    task_at(&app, &app.gateway.url.clone(), &id, |t| t["status"]["state"] == "TASK_STATE_COMPLETED").await;
    let config =
        rpc(&app, AGENT_KEY, "", "GetTaskPushNotificationConfig", json!({"taskId": id, "id": "ops"})).await;
    assert_eq!(config["result"]["url"], "http://127.0.0.1:9/hook", "{config}");
}

#[tokio::test]
async fn a2a_task_whose_gateway_dies_mid_run_ends_failed_everywhere() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    // Two gateways with a short task lease; the first one runs a long command and dies.
    let short_lease = || {
        let mut s = kubently_tests::app::gateway_settings(&app.ctx, &app.prefix);
        s.a2a.task_lease_seconds = 5;
        s
    };
    let mut doomed = kubently_tests::app::spawn_gateway(short_lease()).await;
    let survivor = kubently_tests::app::spawn_gateway(short_lease()).await;
    let (_, pods) = app
        .execute("get", &["pods", "-l", "app=storefront", "-o", "name"], json!({"namespace": "demo-shop"}))
        .await;
    let pod =
        pods["output"].as_str().and_then(|o| o.lines().next()).expect("a pod").trim_start_matches("pod/");
    let ask = json!({"message": {"messageId": uuid::Uuid::new_v4().to_string(), "role": "ROLE_USER",
        "parts": [{"data": {"cluster_id": app.cluster_id, "command": format!("logs {pod} -f"), "namespace": "demo-shop"}}]},
        "configuration": {"returnImmediately": true}});
    let resp = app
        .http
        .post(format!("{}/a2a", doomed.url))
        .header("X-API-Key", AGENT_KEY)
        .header("A2A-Version", "1.0")
        .header("X-Request-Timeout", "30")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": ask}))
        .send()
        .await
        .expect("send");
    let body: Value = resp.json().await.expect("json");
    let id = body["result"]["task"]["id"].as_str().expect("task id").to_string();
    task_at(&app, &survivor.url, &id, |t| t["status"]["state"] == "TASK_STATE_WORKING").await;
    doomed.kill().await;

    let task = task_at(&app, &survivor.url, &id, |t| t["status"]["state"] == "TASK_STATE_FAILED").await;
    let why = task["status"]["message"]["parts"][0]["text"].as_str().unwrap_or_default();
    assert!(why.contains("stopped before it finished"), "{task}");
    // Once ended, it stays ended: the same answer from a fresh gateway.
    let later = kubently_tests::app::spawn_gateway(short_lease()).await;
    task_at(&app, &later.url, &id, |t| t["status"]["state"] == "TASK_STATE_FAILED").await;
}
