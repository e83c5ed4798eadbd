//! Hostile input is an error answer naming the field, never a panic, a hang or a dropped NATS
//! connection: control characters and oversized values that would become NATS headers or
//! subjects, oversized bodies on every door, malformed query strings, ambiguous namespaces.

use std::time::{Duration, Instant};

use kubently_tests::app::{AGENT_KEY, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

use crate::mcp_raw::Raw;

fn in_flight(app: &TestApp) -> String {
    let metrics = app.gateway.state.metrics.render();
    metrics.lines().find(|l| l.starts_with("kubently_commands_in_flight ")).unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_correlation_id_that_cannot_be_a_header_is_a_422_on_every_path() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let bad =
        ["a\r\nNats-Msg-Id: forged", "line\nbreak", "nul\0byte", "tab\there", &"c".repeat(257), "ünïcode"];
    for value in bad {
        for path in ["/debug/execute", "/debug/execute/async"] {
            let body =
                json!({"cluster_id": app.cluster_id, "command_type": "version", "correlation_id": value});
            let (status, err) = app.post(path, &body).await;
            assert_eq!(status, 422, "{path} {value:?}: {err}");
            assert_eq!(err["detail"][0]["loc"], json!(["body", "correlation_id"]), "{err}");
            assert!(err["detail"][0]["msg"].as_str().is_some_and(|m| m.contains("printable ASCII")), "{err}");
        }
        let (status, err) =
            app.post("/debug/session", &json!({"cluster_id": app.cluster_id, "correlation_id": value})).await;
        assert_eq!(status, 422, "session {value:?}: {err}");
    }
    // 1.5 MB in the body: over the body limit, a 413 (not NATS's "header size exceeds maximum"),
    // answered from the declared length (the gateway does not read such a body).
    let (status, err) = declare_large_body(&app, "/debug/execute", 1_500_000).await;
    assert_eq!(status, 413, "{err}");
    assert!(err.contains("max_body_bytes"), "{err}");

    // Nothing was queued, nothing stays in flight, and the gateway serves the next caller.
    let (status, ok) = app.execute("version", &[], json!({"correlation_id": "fine-0123 (ok)"})).await;
    assert_eq!((status, ok["status"].as_str()), (200, Some("success")), "{ok}");
    assert_eq!(ok["correlation_id"], "fine-0123 (ok)");
    assert_eq!(in_flight(&app), "kubently_commands_in_flight 0");
}

#[tokio::test]
async fn ids_no_record_can_have_are_quick_404s_and_never_reach_nats() {
    let app = TestApp::spawn().await;
    let long = "a".repeat(4000);
    let paths = [
        (Method::GET, format!("/webhooks/subscriptions/{long}")),
        (Method::DELETE, format!("/webhooks/subscriptions/{long}")),
        (Method::POST, format!("/webhooks/subscriptions/{long}/test")),
        (Method::GET, format!("/webhooks/subscriptions/{long}/deliveries")),
        (Method::POST, format!("/webhooks/subscriptions/{long}/deliveries/{long}/redeliver")),
        (Method::GET, format!("/debug/session/{long}")),
        (Method::DELETE, format!("/debug/session/{long}")),
        (Method::GET, format!("/debug/result/{long}")),
        (Method::GET, "/webhooks/subscriptions/wh_../x".to_string()),
        (Method::GET, "/webhooks/subscriptions/wh_0123456789ABCDEF0123456789abcdef".to_string()),
    ];
    for (method, path) in paths {
        let started = Instant::now();
        let (status, body) = app.request(method.clone(), &path, Some(AGENT_KEY), None).await;
        assert_eq!(status, 404, "{method} {}: {body}", &path[..60.min(path.len())]);
        assert!(started.elapsed() < Duration::from_secs(2), "{method} answered in {:?}", started.elapsed());
        assert!(!body.to_string().contains(&long), "the 404 does not echo a 4,000-character id");
    }
    // The gateway's NATS connection survived: subscriptions still work end to end.
    assert_eq!(app.gateway.state.nats.connection_state(), async_nats::connection::State::Connected);
    let (status, sub) = app
        .post("/webhooks/subscriptions", &json!({"url": "http://127.0.0.1:9/hook", "events": ["*"]}))
        .await;
    assert_eq!(status, 201, "{sub}");
    let id = sub["id"].as_str().expect("subscription id");
    assert_eq!(app.get(&format!("/webhooks/subscriptions/{id}")).await.0, 200);
    assert_eq!(app.delete(&format!("/webhooks/subscriptions/{id}")).await.0, 204);
}

#[tokio::test]
async fn query_string_errors_are_422_json_like_body_errors() {
    let app = TestApp::spawn().await;
    let result = "/debug/result/01890a5d-ac96-774b-bcce-b302099a8057";
    for path in [
        format!("{result}?limit=-1"),
        format!("{result}?limit=abc"),
        format!("{result}?offset=1.5"),
        "/audit?limit=abc".into(),
        "/audit?limit=-3".into(),
        "/webhooks/subscriptions/wh_0123456789abcdef0123456789abcdef/deliveries?status=bogus".into(),
    ] {
        let (status, err) = app.get(&path).await;
        assert_eq!(status, 422, "{path}: {err}");
        assert_eq!(err["detail"][0]["loc"], json!(["query"]), "{path}: {err}");
        assert!(err["detail"][0]["msg"].is_string(), "{err}");
    }
}

#[tokio::test]
async fn a_namespace_together_with_all_namespaces_is_a_422_conflict() {
    let app = TestApp::spawn().await;
    for (args, namespace) in [(["pods", "-A"], "demo-shop"), (["pods", "--all-namespaces"], "default")] {
        let (status, err) = app.execute("get", &args, json!({"namespace": namespace})).await;
        assert_eq!(status, 422, "{err}");
        let msg = err["detail"][0]["msg"].as_str().unwrap_or_default();
        assert!(msg.contains(args[1]) && msg.contains(&format!("namespace {namespace}")), "{msg}");
        assert_eq!(err["detail"][0]["loc"], json!(["body", "args", "1"]), "{err}");
    }
}

#[tokio::test]
async fn every_door_refuses_bodies_over_the_limit_with_413() {
    let app = TestApp::spawn().await;
    for path in ["/debug/execute", "/debug/session", "/webhooks/subscriptions", "/mcp", "/a2a"] {
        let (status, body) = declare_large_body(&app, path, 1024 * 1024 + 1).await;
        assert_eq!(status, 413, "{path}: {body}");
        let detail: Value = serde_json::from_str(&body).unwrap_or_default();
        assert!(detail["detail"].as_str().is_some_and(|d| d.contains("max_body_bytes")), "{path}: {body}");
    }
    // At the limit the body is read as usual (and refused for what it says).
    let (status, _) = declare_large_body(&app, "/debug/execute", 1024).await;
    assert_eq!(status, 100, "a body within the limit is asked for (100 Continue)");
}

/// Announces a `length`-byte body with `Expect: 100-continue` over a raw connection and sends
/// none of it: the gateway must answer from the declared length alone. The status line's code and
/// the body (a `100 Continue` when the gateway wants the body).
async fn declare_large_body(app: &TestApp, path: &str, length: usize) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.gateway.url.trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.expect("gateway reachable");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nX-API-Key: {AGENT_KEY}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {length}\r\nExpect: 100-continue\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.expect("write head");
    let mut answer = vec![0u8; 8192];
    let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut answer))
        .await
        .expect("the gateway answers without the body")
        .expect("read");
    let text = String::from_utf8_lossy(&answer[..n]).to_string();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text}"));
    (code, text.split("\r\n\r\n").nth(1).unwrap_or_default().to_string())
}

#[tokio::test]
async fn an_mcp_session_belongs_to_the_key_that_opened_it() {
    use kubently_tests::app::OTHER_KEY;
    let app = TestApp::spawn().await;
    let owner = Raw::legacy(&app, AGENT_KEY).await;
    let other = owner.with_key(OTHER_KEY);

    // Another key can neither use, watch nor end it: as if it did not exist.
    assert_eq!(other.request(2, "tools/list", json!({})).await.0, 404);
    assert_eq!(other.session_request(Method::GET).await, 404);
    assert_eq!(other.session_request(Method::DELETE).await, 404);

    // The owner's session is untouched, and the owner may end it.
    let (status, tools) = owner.request(3, "tools/list", json!({})).await;
    assert_eq!(status, 200);
    assert!(tools.to_string().contains("execute_kubectl"), "{tools}");
    assert_eq!(owner.session_request(Method::DELETE).await, 204);
}
