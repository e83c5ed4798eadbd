//! The MCP door with the official `mcp` Python SDK as the client, in both protocol eras:
//! 2025-11-25 (initialize + session) and 2026-07-28 (stateless). Every tool is called against
//! the demo scenario through the real command path.

use kubently_tests::app::{AGENT_KEY, TestApp};
use kubently_tests::python;
use reqwest::Method;
use serde_json::{Value, json};

use crate::mcp_raw::{MODERN, Raw};
use crate::support::assert_no_secrets;

const TOOLS: [&str; 11] = [
    "list_clusters",
    "create_debug_session",
    "diagnose",
    "close_session",
    "execute_kubectl",
    "execute_kubectl_fanout",
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
    let diagnosis = ok(&out, "diagnose");
    let text = diagnosis["output"].as_str().unwrap_or_default();
    assert!(
        text.starts_with("diagnose namespace demo-shop: 5 findings") && text.contains("CrashLoopBackOff"),
        "{diagnosis}"
    );
    assert!(diagnosis.get("report").is_none(), "text only: {diagnosis}");
    let report = &ok(&out, "diagnose_json")["report"];
    assert_eq!(report["scope"], "deployment/report-builder in namespace demo-batch", "{report}");
    assert_eq!(report["findings"][0]["kind"], "oom-killed", "{report}");
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

async fn capabilities_match_what_is_served(raw: Raw<'_>) {
    let era = if raw.is_modern() { MODERN } else { "2025-11-25" };
    let declared = raw.declared().await;
    assert!(declared.contains_key("tools"), "{era}: {declared:?}");
    let (status, tools) = raw.request(1, "tools/list", json!({})).await;
    assert_eq!(status, 200, "{era}: {tools}");
    let tools = tools["result"]["tools"].as_array().cloned().unwrap_or_else(|| panic!("{era}: {tools}"));
    // In the order an agent uses them, starting with one that needs no arguments.
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, kubently_gateway::mcp::tools::TOOL_ORDER, "{era}");
    assert!(tools[0]["inputSchema"]["required"].as_array().is_none_or(Vec::is_empty), "{era}: {}", tools[0]);

    // A method that exists nowhere: the shape of "method not found" in this era.
    let (unknown_status, unknown) = raw.request(2, "no/such/method", json!({})).await;
    assert_eq!(unknown["error"]["code"], -32601, "{era}: {unknown}");

    let methods = [
        ("prompts", "prompts/list", json!({})),
        ("prompts", "prompts/get", json!({"name": "explain_finding", "arguments": {"finding": "OOMKilled"}})),
        ("resources", "resources/list", json!({})),
        ("resources", "resources/templates/list", json!({})),
        ("resources", "resources/read", json!({"uri": "kubently://clusters"})),
        (
            "completions",
            "completion/complete",
            json!({
            "ref": {"type": "ref/prompt", "name": "debug_workflow"}, "argument": {"name": "cluster", "value": "lo"}}),
        ),
        ("logging", "logging/setLevel", json!({"level": "info"})),
    ];
    for (id, (capability, method, params)) in (10..).zip(methods) {
        let (status, reply) = raw.request(id, method, params).await;
        if declared.contains_key(capability) {
            assert!(reply.get("result").is_some(), "{era}: {method} of declared {capability}: {reply}");
        } else {
            assert_eq!(reply["error"]["code"], -32601, "{era}: {method} of undeclared {capability}: {reply}");
            assert_eq!(reply["id"], id, "{era}: {method}: {reply}");
            assert_eq!(status, unknown_status, "{era}: {method} is answered as an unknown method");
        }
    }
}

#[tokio::test]
async fn only_declared_capabilities_are_served_in_both_eras() {
    let app = TestApp::spawn().await;
    capabilities_match_what_is_served(Raw::legacy(&app, AGENT_KEY).await).await;
    capabilities_match_what_is_served(Raw::modern(&app, AGENT_KEY)).await;
}

async fn unreadable_bodies_are_json_rpc_errors(raw: Raw<'_>) {
    let era = if raw.is_modern() { MODERN } else { "2025-11-25" };
    let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#;
    let bodies = [
        (r#"{"jsonrpc":"2.0","id":1,"method":"tools/list""#, -32700, "truncated JSON"),
        ("{not json", -32700, "malformed JSON"),
        ("", -32700, "an empty body"),
        (&*format!("[{list}]"), -32600, "a batch"),
        (&*format!("[{list},{list}]"), -32600, "a batch of two"),
        ("[]", -32600, "an empty batch"),
        (r#""tools/list""#, -32600, "a string"),
        ("42", -32600, "a number"),
        (r#"{"jsonrpc":"2.0","id":18446744073709551616,"method":"tools/list"}"#, -32600, "id over u64"),
        (r#"{"jsonrpc":"2.0","id":9223372036854775808,"method":"tools/list"}"#, -32600, "id over i64"),
        (r#"{"jsonrpc":"2.0","id":-9223372036854775809,"method":"tools/list"}"#, -32600, "id under i64"),
        (r#"{"jsonrpc":"2.0","id":1.5,"method":"tools/list"}"#, -32600, "a fractional id"),
        (r#"{"jsonrpc":"2.0","id":null,"method":"tools/list"}"#, -32600, "a null id"),
        (r#"{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list"}"#, -32600, "an object id"),
    ];
    for (body, code, what) in bodies {
        let (status, content_type, reply) = raw.send_raw(body).await;
        assert_eq!(status, 400, "{era}: {what}: {reply}");
        assert!(
            content_type.as_deref().is_some_and(|c| c.starts_with("application/json")),
            "{era}: {what}: {content_type:?}"
        );
        assert_eq!(reply["jsonrpc"], "2.0", "{era}: {what}: {reply}");
        assert_eq!(reply["error"]["code"], code, "{era}: {what}: {reply}");
        assert!(reply["error"]["message"].is_string(), "{era}: {what}: {reply}");
        assert!(reply.get("id").is_some_and(Value::is_null), "{era}: {what}: the id is null: {reply}");
    }
    // Largest ids that are integers in range are fine, and the session (or the stateless door)
    // still serves.
    for id in [i64::MAX, i64::MIN] {
        let (status, reply) = raw.request(id, "tools/list", json!({})).await;
        assert_eq!(status, 200, "{era}: id {id}: {reply}");
        assert_eq!(reply["id"], id, "{era}: {reply}");
        assert!(reply["result"]["tools"].is_array(), "{era}: {reply}");
    }
}

#[tokio::test]
async fn unreadable_json_rpc_bodies_are_400_json_rpc_errors_in_both_eras() {
    let app = TestApp::spawn().await;
    unreadable_bodies_are_json_rpc_errors(Raw::legacy(&app, AGENT_KEY).await).await;
    unreadable_bodies_are_json_rpc_errors(Raw::modern(&app, AGENT_KEY)).await;
}
