//! The MCP door with the official `mcp` Python SDK as the client, in both protocol eras:
//! 2025-11-25 (initialize + session) and 2026-07-28 (stateless). Every tool is called against
//! the demo scenario through the real command path.

use kubently_tests::app::{AGENT_KEY, TestApp};
use kubently_tests::python;
use reqwest::Method;
use serde_json::Value;

use crate::support::assert_no_secrets;

const TOOLS: [&str; 9] = [
    "list_clusters",
    "create_debug_session",
    "close_session",
    "execute_kubectl",
    "get_command_result",
    "get_resources",
    "describe_resource",
    "get_logs",
    "get_events",
];

async fn drive(app: &TestApp, key: &str, mode: &str) -> Value {
    let url = format!("{}/mcp", app.gateway.url);
    python::run_json("mcp_client.py", vec![url, key.into(), mode.into(), app.cluster_id.clone()]).await
}

fn call<'a>(out: &'a Value, name: &str) -> &'a Value {
    &out["calls"][name]
}

fn ok<'a>(out: &'a Value, name: &str) -> &'a Value {
    let c = call(out, name);
    assert_eq!(c["is_error"], false, "{name} failed: {c}");
    &c["structured"]
}

async fn check_era(mode: &str, version: &str) {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let out = drive(&app, AGENT_KEY, mode).await;
    assert!(out.get("connect_error").is_none(), "{out}");
    assert_eq!(out["protocol_version"], version, "{out}");

    // Tools: all there, read-only, closed world, with input and output schemas.
    let tools = out["tools"].as_object().expect("tools");
    let mut names: Vec<&str> = tools.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut want = TOOLS.to_vec();
    want.sort_unstable();
    assert_eq!(names, want);
    for (name, t) in tools {
        assert_eq!(t["read_only"], true, "{name}");
        assert_eq!(t["open_world"], false, "{name}");
        assert_eq!(t["input_schema"]["type"], "object", "{name}");
        assert_eq!(t["output_schema"]["type"], "object", "{name}: structured output");
        assert!(t["description"].as_str().is_some_and(|d| d.len() > 20), "{name} is described");
    }
    assert!(tools["execute_kubectl"]["input_schema"]["properties"]["command"].is_object());
    assert!(tools["execute_kubectl"]["input_schema"]["properties"]["session_id"].is_object());

    // Each tool against the demo scenario.
    let clusters = ok(&out, "list_clusters")["clusters"].as_array().expect("clusters").clone();
    assert!(
        clusters.iter().any(|c| c["cluster_id"] == app.cluster_id.as_str() && c["connected"] == true),
        "{clusters:?}"
    );
    let session = ok(&out, "create_debug_session");
    assert_eq!(session["status"], "active");
    assert_eq!(session["cluster_id"], app.cluster_id.as_str());
    let pods = ok(&out, "execute_kubectl");
    assert!(pods["output"].as_str().unwrap_or_default().contains("orders-api"), "{pods}");
    assert_eq!(pods["truncated"], false);
    assert_eq!(pods["session_id"], session["session_id"]);
    let cut = ok(&out, "execute_budget");
    assert_eq!(cut["truncated"], true, "a 1 KiB budget cuts `get pods -A -o wide`: {cut}");
    let next = cut["next_offset"].as_u64().expect("next offset");
    let page = ok(&out, "get_command_result");
    assert_eq!(page["result_id"], cut["result_id"]);
    assert!(page["output"].as_str().is_some_and(|o| !o.is_empty()), "{page}");
    assert!(next > 0);
    assert!(ok(&out, "get_resources")["output"].as_str().unwrap_or_default().contains("storefront"));
    assert!(ok(&out, "describe_resource")["output"].as_str().unwrap_or_default().contains("Name:"));
    let logs = ok(&out, "get_logs")["output"].as_str().unwrap_or_default().to_string();
    assert!(!logs.is_empty(), "previous logs of the crash-looping orders-api");
    assert!(ok(&out, "get_events")["output"].as_str().unwrap_or_default().contains("Warning"));
    let secret = ok(&out, "secret");
    assert_no_secrets("MCP get secret -o yaml", &secret.to_string());
    assert_no_secrets(
        "MCP get secret -o yaml (text)",
        call(&out, "secret")["text"].as_str().unwrap_or_default(),
    );
    assert_eq!(ok(&out, "close_session")["status"], "ended");

    // A refused or failed command is a tool error that says how to correct it.
    let refused = call(&out, "refused");
    assert_eq!(refused["is_error"], true, "{refused}");
    assert!(refused["text"].as_str().unwrap_or_default().contains("delete"), "{refused}");
    let shell = call(&out, "shell");
    assert_eq!(shell["is_error"], true, "{shell}");
    assert!(shell["text"].as_str().unwrap_or_default().contains("shell syntax"), "{shell}");
    let failed = call(&out, "failed");
    assert_eq!(failed["is_error"], true, "{failed}");
    assert!(failed["text"].as_str().unwrap_or_default().contains("NotFound"), "{failed}");
    // Malformed arguments are protocol errors.
    for name in ["bad_type", "unknown_arg", "missing_arg"] {
        assert_eq!(call(&out, name)["protocol_error"], -32602, "{name}: {}", call(&out, name));
    }
    assert!(call(&out, "unknown_arg")["message"].as_str().unwrap_or_default().contains("namespce"));

    // The agent headers reach the audit log.
    let (status, audit) = app
        .request(Method::GET, &format!("/audit?cluster_id={}", app.cluster_id), Some(AGENT_KEY), None)
        .await;
    assert_eq!(status, 200, "{audit}");
    let text = audit.to_string();
    assert!(text.contains(&format!("mcp-{mode}")), "correlation id in audit: {text}");

    // No key, or a wrong one: refused before any MCP traffic.
    let denied = drive(&app, "wrong-key-0123456789abcdef", mode).await;
    assert!(denied.get("connect_error").is_some(), "a wrong key cannot connect: {denied}");
    let (status, _) = app
        .request(
            Method::POST,
            "/mcp",
            None,
            Some(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})),
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn mcp_2025_11_25_sessions_with_the_python_sdk() {
    check_era("legacy", "2025-11-25").await;
}

#[tokio::test]
async fn mcp_2026_07_28_stateless_with_the_python_sdk() {
    check_era("2026-07-28", "2026-07-28").await;
}
