//! MCP prompts, resources and completion with the official `mcp` Python SDK, in both protocol
//! eras, against the demo scenario: the workflow prompt for a cluster, namespace and symptom, the
//! finding prompt, the resources (the clusters list, a cluster's status and capabilities, a
//! stored result by id), completion of cluster ids and namespaces, -32602 for what does not
//! exist, and the key's scope: another caller does not read this caller's result, and a key
//! limited to another cluster neither lists nor reads nor completes this one.

use kubently_tests::app::{AGENT_KEY, OTHER_KEY, SCOPED_KEY, TestApp};
use kubently_tests::python;
use serde_json::Value;

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

async fn check_era(mode: &str, other_key: &str) {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let url = format!("{}/mcp", app.gateway.url);
    let cluster = app.cluster_id.clone();
    let out = python::run_json(
        "mcp_context_client.py",
        vec![url, AGENT_KEY.into(), other_key.into(), mode.into(), cluster.clone()],
    )
    .await;
    let owner = &out["owner"];
    // For a reader of the log (the README shows these): the prompt and a resource as fetched.
    eprintln!(
        "[mcp_context] {mode} prompts/get debug_workflow:\n{}",
        text(&owner["workflow"]["messages"][0]["text"])
    );
    eprintln!(
        "[mcp_context] {mode} resources/read kubently://clusters/{cluster}:\n{}",
        text(&owner["read_cluster"][0]["text"])
    );
    let caps = &owner["capabilities"];
    assert_eq!(
        (&caps["prompts"], &caps["resources"], &caps["completions"], &caps["resources_subscribe"]),
        (&Value::Bool(true), &Value::Bool(true), &Value::Bool(true), &Value::Bool(false)),
        "{mode}: {caps}"
    );

    // Prompts: listed with their arguments; the workflow names the cluster, scope and symptom,
    // recommends diagnose, and carries the read-only rules.
    let prompts = &owner["prompts"];
    assert_eq!(
        prompts["debug_workflow"]["arguments"],
        serde_json::json!({"cluster": false, "namespace": false, "symptom": false})
    );
    assert_eq!(
        prompts["explain_finding"]["arguments"],
        serde_json::json!({"finding": true, "cluster": false})
    );
    let workflow = &owner["workflow"]["messages"][0];
    assert_eq!(
        (&workflow["role"], &workflow["type"]),
        (&Value::from("user"), &Value::from("text")),
        "{mode}: {owner}"
    );
    let w = text(&workflow["text"]);
    for needle in [
        format!("cluster `{cluster}`"),
        "namespace `demo-shop`".into(),
        "> checkout returns 502".into(),
        "Call `diagnose` first, scoped to namespace `demo-shop`".into(),
        "1. Assessment".into(),
        "2. Investigation".into(),
        "3. Analysis".into(),
        "4. Cleanup".into(),
        "Read-only rules".into(),
        "Secret values are never shown".into(),
        "Kubernetes v1.20".into(),
        "`grep`".into(),
    ] {
        assert!(w.contains(&needle), "{mode}: the workflow lacks {needle:?}:\n{w}");
    }
    let f = text(&owner["finding"]["messages"][0]["text"]);
    assert!(f.contains("> Pod orders-api: CrashLoopBackOff, exit code 1, 47 restarts"), "{f}");
    assert!(f.contains(&format!("Cluster `{cluster}`: connected")), "the only cluster is described: {f}");
    for (case, needle) in [
        ("prompt_unknown", "debug_workflow, explain_finding"),
        ("prompt_missing", "`finding` is required"),
        ("prompt_unknown_arg", "no argument `namespce`"),
        ("prompt_other_cluster", "no cluster 'elsewhere'"),
    ] {
        assert_eq!(owner[case]["error"], -32602, "{mode} {case}: {}", owner[case]);
        assert!(text(&owner[case]["message"]).contains(needle), "{mode} {case}: {}", owner[case]);
    }

    // Resources: the list, the templates, and each one read.
    let resources = owner["resources"].as_object().expect("resources");
    let cluster_uri = format!("kubently://clusters/{cluster}");
    assert!(
        resources.contains_key("kubently://clusters") && resources.contains_key(&cluster_uri),
        "{mode}: {resources:?}"
    );
    let templates = owner["templates"].as_object().expect("templates");
    assert!(templates.contains_key("kubently://clusters/{cluster_id}"), "{templates:?}");
    assert_eq!(templates["kubently://results/{result_id}"]["mime_type"], "text/plain");
    let clusters: Value =
        serde_json::from_str(text(&owner["read_clusters"][0]["text"])).expect("clusters JSON");
    assert!(
        clusters["clusters"]
            .as_array()
            .expect("clusters")
            .iter()
            .any(|c| c["cluster_id"] == cluster.as_str() && c["connected"] == true),
        "{clusters}"
    );
    let status: Value = serde_json::from_str(text(&owner["read_cluster"][0]["text"])).expect("status JSON");
    assert_eq!(
        (&status["id"], &status["connected"]),
        (&Value::from(cluster.as_str()), &Value::Bool(true)),
        "{status}"
    );
    let verbs = status["capabilities"].as_array().expect("capabilities");
    assert!(verbs.iter().any(|v| v == "describe") && verbs.iter().any(|v| v == "logs"), "{status}");
    assert!(status["access"]["namespaces"].is_array(), "{status}");
    assert_eq!(owner["read_cluster"][0]["mime_type"], "application/json");
    let result = text(&owner["read_result"][0]["text"]);
    assert!(
        result.contains("orders-api") && result.starts_with("NAME"),
        "{mode}: the stored result: {result}"
    );
    // get_command_result searches the stored result.
    let searched = &owner["search"]["structured"];
    eprintln!(
        "[mcp_context] {mode} get_command_result grep=(?i)crashloop context=1:\n{}",
        text(&searched["output"])
    );
    assert_eq!(searched["matches"], 1, "{mode}: one crash-looping pod in demo-shop: {searched}");
    let lines: Vec<&str> = text(&searched["output"]).lines().collect();
    assert!(lines.iter().any(|l| l.contains(":orders-api") && l.contains("CrashLoopBackOff")), "{lines:?}");
    assert!(
        lines.len() >= 2
            && lines.iter().any(|l| l.split_once('-').is_some_and(|(n, _)| n.parse::<u32>().is_ok())),
        "context: {lines:?}"
    );
    let counted = &owner["search_count"]["structured"];
    assert!(counted["matches"].as_u64().is_some_and(|n| n >= 3), "{counted}");
    assert!(text(&counted["output"]).ends_with("lines match\n"), "{counted}");
    assert_eq!(owner["search_bad"]["is_error"], true, "{}", owner["search_bad"]);
    assert!(text(&owner["search_bad"]["text"]).contains("grep"), "{}", owner["search_bad"]);
    assert_eq!(owner["read_unknown"]["error"], -32602, "{}", owner["read_unknown"]);
    assert_eq!(owner["read_foreign_uri"]["error"], -32602, "{}", owner["read_foreign_uri"]);
    assert_eq!(
        owner["read_foreign_uri"]["data"]["uri"], "file:///etc/passwd",
        "{}",
        owner["read_foreign_uri"]
    );

    // Completion: cluster ids by prefix, the cluster's namespaces, the template's argument.
    assert_eq!(
        owner["complete_cluster"]["values"],
        serde_json::json!([cluster.clone()]),
        "{}",
        owner["complete_cluster"]
    );
    assert_eq!(
        owner["complete_namespace"]["values"],
        serde_json::json!(["demo-batch", "demo-shop"]),
        "{mode}: {}",
        owner["complete_namespace"]
    );
    let kube = owner["complete_namespace_again"]["values"].as_array().expect("values");
    assert!(
        kube.iter().any(|v| v == "kube-system") && kube.iter().all(|v| text(v).starts_with("kube")),
        "{kube:?}"
    );
    assert_eq!(owner["complete_template"]["values"], serde_json::json!([cluster.clone()]));
    assert_eq!(owner["complete_unknown"]["error"], -32602, "{}", owner["complete_unknown"]);

    // The other key.
    let other = &out["other"];
    assert_eq!(
        other["read_result"]["error"], -32602,
        "{mode}: another caller reads no result of this one: {other}"
    );
    if other_key == SCOPED_KEY {
        assert_eq!(other["resources"], serde_json::json!(["kubently://clusters"]), "{mode}: {other}");
        let listed: Value = serde_json::from_str(text(&other["read_clusters"][0]["text"])).expect("JSON");
        assert_eq!(listed["clusters"], serde_json::json!([]), "{mode}: {listed}");
        assert_eq!(other["read_cluster"]["error"], -32602, "{mode}: {other}");
        assert_eq!(other["complete_cluster"]["values"], serde_json::json!([]), "{mode}: {other}");
        assert_eq!(other["complete_namespace"]["values"], serde_json::json!([]), "{mode}: {other}");
        assert_eq!(other["workflow"]["error"], -32602, "{mode}: {other}");
    } else {
        assert!(
            other["resources"].as_array().expect("uris").iter().any(|u| *u == cluster_uri.as_str()),
            "{other}"
        );
        assert_eq!(
            other["read_cluster"]["ok"], true,
            "{mode}: clusters are shared by unscoped keys: {other}"
        );
        assert!(
            other["complete_namespace"]["values"]
                .as_array()
                .expect("values")
                .iter()
                .any(|v| v == "demo-shop"),
            "{other}"
        );
    }
}

#[tokio::test]
async fn mcp_prompts_resources_and_completion_2025_11_25() {
    check_era("legacy", SCOPED_KEY).await;
}

#[tokio::test]
async fn mcp_prompts_resources_and_completion_2026_07_28() {
    check_era("2026-07-28", OTHER_KEY).await;
}
