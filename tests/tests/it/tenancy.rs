//! The tenancy matrix: every record kind one key makes, read, listed, changed and deleted by every
//! kind of key, through every door (REST, MCP, A2A; webhooks in `webhooks.rs`). A record belongs
//! to the key that made it; another key gets exactly what it would for a record that does not
//! exist; a key scoped to other clusters sees nothing of this cluster; an admin sees all. Two keys
//! cannot share a service name (the gateway refuses to start; see `auth`'s unit tests).

use kubently_tests::app::{ADMIN_KEY, AGENT_KEY, OTHER_KEY, SCOPED_KEY, TestApp};
use kubently_tests::webhook_receiver::Receiver;
use reqwest::Method;
use serde_json::{Value, json};

use crate::mcp_raw::Raw;

/// (key, may see the agent's records, may use the app's cluster)
const KEYS: [(&str, &str, bool, bool); 4] = [
    ("owner", AGENT_KEY, true, true),
    ("other key", OTHER_KEY, false, true),
    ("other-cluster key", SCOPED_KEY, false, false),
    ("admin", ADMIN_KEY, true, true),
];

async fn status_of(
    app: &TestApp,
    method: Method,
    path: &str,
    key: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    app.request(method, path, Some(key), body).await
}

#[tokio::test]
async fn rest_records_belong_to_their_key() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let receiver = Receiver::start().await;
    let (_, session) = app.post("/debug/session", &json!({"cluster_id": app.cluster_id})).await;
    let session = session["session_id"].as_str().expect("session id").to_string();
    let (_, ran) = app.execute("version", &[], json!({"session_id": session})).await;
    let command = ran["command_id"].as_str().expect("command id").to_string();
    let (_, sub) = app
        .post(
            "/webhooks/subscriptions",
            &json!({"url": receiver.url("/t"), "events": ["cluster.*"], "clusters": [app.cluster_id]}),
        )
        .await;
    let sub = sub["id"].as_str().expect("subscription id").to_string();

    for (who, key, sees, uses_cluster) in KEYS {
        let owned = if sees { 200 } else { 404 };
        for path in [
            format!("/debug/session/{session}"),
            format!("/debug/result/{command}"),
            format!("/webhooks/subscriptions/{sub}"),
            format!("/webhooks/subscriptions/{sub}/deliveries"),
        ] {
            let (status, body) = status_of(&app, Method::GET, &path, key, None).await;
            assert_eq!(status, owned, "{who}: GET {path}: {body}");
        }
        let (status, _) =
            status_of(&app, Method::POST, &format!("/webhooks/subscriptions/{sub}/test"), key, None).await;
        assert_eq!(status, owned, "{who}: test ping");

        // Listings hold exactly what the key may see.
        let (_, audit) = status_of(&app, Method::GET, "/audit?limit=1000", key, None).await;
        let audited =
            audit["entries"].as_array().is_some_and(|e| e.iter().any(|e| e["command_id"] == command));
        assert_eq!(audited, sees, "{who}: audit");
        let (_, subs) = status_of(&app, Method::GET, "/webhooks/subscriptions", key, None).await;
        let listed =
            subs["subscriptions"].as_array().is_some_and(|s| s.iter().any(|s| s["id"] == sub.as_str()));
        assert_eq!(listed, sees, "{who}: subscription list");
        let (_, clusters) = status_of(&app, Method::GET, "/debug/clusters", key, None).await;
        let known =
            clusters["clusters"].as_array().is_some_and(|c| c.iter().any(|c| c == app.cluster_id.as_str()));
        assert_eq!(known, uses_cluster, "{who}: cluster list");
        let cluster_status = if uses_cluster { 200 } else { 404 };
        let (status, _) =
            status_of(&app, Method::GET, &format!("/cluster/{}/status", app.cluster_id), key, None).await;
        assert_eq!(status, cluster_status, "{who}: cluster status");

        // Using or changing another key's session is as for a session that does not exist.
        if !sees {
            let body =
                json!({"cluster_id": app.cluster_id, "command_type": "version", "session_id": session});
            let (status, _) = status_of(&app, Method::POST, "/debug/execute", key, Some(&body)).await;
            assert_eq!(
                status,
                if uses_cluster { 404 } else { 403 },
                "{who}: execute in another key's session"
            );
            let (status, _) =
                status_of(&app, Method::DELETE, &format!("/debug/session/{session}"), key, None).await;
            assert_eq!(status, 404, "{who}: end another key's session");
            let (status, _) =
                status_of(&app, Method::DELETE, &format!("/webhooks/subscriptions/{sub}"), key, None).await;
            assert_eq!(status, 404, "{who}: delete another key's subscription");
        }
    }
    // Nothing above changed the owner's records.
    let (_, view) = app.get(&format!("/debug/session/{session}")).await;
    assert_eq!(view["status"], "active", "{view}");
    assert_eq!(app.delete(&format!("/webhooks/subscriptions/{sub}")).await.0, 204);
}

/// A `tools/call` of `tool` in a fresh 2025-11-25 session of `key`: the call's result.
async fn mcp_call(app: &TestApp, key: &str, tool: &str, arguments: Value) -> Value {
    let session = Raw::legacy(app, key).await;
    let (_, answer) = session.request(2, "tools/call", json!({"name": tool, "arguments": arguments})).await;
    answer["result"].clone()
}

#[tokio::test]
async fn mcp_and_a2a_records_belong_to_their_key() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let (_, ran) = app.execute("version", &[], json!({})).await;
    let command = ran["command_id"].as_str().expect("command id").to_string();
    let (_, session) = app.post("/debug/session", &json!({"cluster_id": app.cluster_id})).await;
    let session = session["session_id"].as_str().expect("session id").to_string();

    // An A2A task of the agent's.
    let a2a = |key: &'static str, method: &'static str, params: Value| {
        let request = app
            .http
            .post(format!("{}/a2a", app.gateway.url))
            .header("X-API-Key", key)
            .header("A2A-Version", "1.0")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}));
        async move { request.send().await.expect("a2a").json::<Value>().await.expect("json") }
    };
    let message = json!({"message": {"messageId": uuid::Uuid::new_v4().to_string(), "role": "ROLE_USER",
        "parts": [{"text": "version"}], "metadata": {"cluster_id": app.cluster_id}}});
    let sent = a2a(AGENT_KEY, "SendMessage", message).await;
    let task = sent["result"]["task"]["id"].as_str().unwrap_or_else(|| panic!("a task: {sent}")).to_string();

    for (who, key, sees, _) in KEYS {
        let page = mcp_call(&app, key, "get_command_result", json!({"result_id": command})).await;
        assert_eq!(
            page["isError"].as_bool().unwrap_or(false),
            !sees,
            "{who}: MCP get_command_result: {page}"
        );
        let got = a2a(key, "GetTask", json!({"id": task})).await;
        assert_eq!(got["result"]["id"].as_str() == Some(task.as_str()), sees, "{who}: A2A GetTask: {got}");
        if !sees {
            assert!(got["error"]["code"].is_i64(), "{who}: {got}");
            let closed = mcp_call(&app, key, "close_session", json!({"session_id": session})).await;
            assert_eq!(
                closed["isError"], true,
                "{who}: MCP close_session of another key's session: {closed}"
            );
            let cancel = a2a(key, "CancelTask", json!({"id": task})).await;
            assert!(cancel["error"]["code"].is_i64(), "{who}: A2A CancelTask: {cancel}");
        }
    }
    let (_, view) = app.get(&format!("/debug/session/{session}")).await;
    assert_eq!(view["status"], "active", "{view}");
}
