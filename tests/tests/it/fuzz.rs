//! A bounded schema fuzz run of the REST API: schemathesis (pinned in
//! `tests/python/fuzz-requirements.txt`) reads the gateway's own `/openapi.json` and sends a few
//! hundred generated requests, valid and invalid, to a test gateway with a connected executor.
//! Every response must be a non-5xx that the document declares: its status code, its content
//! type and its body schema.
//!
//! Nothing leaves the machine: the gateway is on loopback, `tests/python/fuzz_hooks.py` refuses
//! to send anywhere else and points every webhook `url` and `callback_url` at a loopback
//! receiver, the fuzzer's own proxy variables lead to a closed loopback port (a request to any
//! other host would fail, not go out), and schemathesis 4 has no telemetry.

use std::process::Stdio;
use std::time::{Duration, Instant};

use kubently_tests::app::{ADMIN_KEY, AGENT_KEY, TestApp};
use kubently_tests::python;
use kubently_tests::webhook_receiver::Receiver;

/// Generated cases per operation and phase (24 operations).
const MAX_EXAMPLES: &str = "8";
/// Fixed, so a failure reproduces; change it to explore.
const SEED: &str = "20261202";
/// No 5xx; the declared status codes, content types and bodies; and no operation that needs a key
/// answers without one or with a wrong one (`ignored_auth`: they must be 401s).
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_schema_conformance,ignored_auth";

/// One schemathesis run against `app` with `key`, plus `extra` options.
async fn fuzz(
    schemathesis: &std::path::Path,
    app: &TestApp,
    receiver: &Receiver,
    key: &str,
    extra: &[&str],
    workdir: &std::path::Path,
) -> std::process::Output {
    let schema = format!("{}/openapi.json", app.gateway.url);
    let run = tokio::process::Command::new(schemathesis)
        .args(["run", &schema, "--checks", CHECKS, "--max-examples", MAX_EXAMPLES, "--seed", SEED])
        .args(["--phases", "examples,coverage,fuzzing,stateful", "--workers", "1", "--request-timeout", "70"])
        .args(["--generation-database", "none", "--no-color", "--suppress-health-check", "all"])
        .args(["-H", &format!("X-API-Key: {key}")])
        .args(extra)
        .env("SCHEMATHESIS_HOOKS", python::script("fuzz_hooks.py"))
        .env("KUBENTLY_FUZZ_RECEIVER", receiver.url("/fuzz"))
        .env("KUBENTLY_FUZZ_CLUSTER", &app.cluster_id)
        .envs(
            ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"]
                .map(|v| (v, "http://127.0.0.1:9")),
        )
        .envs(["NO_PROXY", "no_proxy"].map(|v| (v, "127.0.0.1,localhost,::1")))
        .current_dir(workdir)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("schemathesis finishes within 5 minutes")
        .expect("schemathesis runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_api_survives_schema_fuzzing() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let receiver = Receiver::start().await;
    let schemathesis = tokio::task::spawn_blocking(|| python::fuzz_bin("schemathesis"))
        .await
        .expect("venv thread")
        .unwrap_or_else(|e| panic!("{e:#}"));
    let workdir = tempfile::tempdir().expect("work dir");
    let started = Instant::now();
    let out = fuzz(&schemathesis, &app, &receiver, AGENT_KEY, &[], workdir.path()).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}\n[fuzz] schemathesis ran {:.1}s, {}", started.elapsed().as_secs_f64(), out.status);
    assert!(out.status.success(), "schemathesis found problems ({}):\n{stdout}\n{stderr}", out.status);
    assert!(stdout.contains("passed"), "no test case ran:\n{stdout}\n{stderr}");
    // The admin operations once more with an admin key (the agent key only reaches their 403).
    let admin =
        fuzz(&schemathesis, &app, &receiver, ADMIN_KEY, &["--include-tag", "admin"], workdir.path()).await;
    let (stdout, stderr) = (String::from_utf8_lossy(&admin.stdout), String::from_utf8_lossy(&admin.stderr));
    eprintln!("{stdout}");
    assert!(admin.status.success(), "schemathesis found problems with the admin key:\n{stdout}\n{stderr}");

    // Every subscription the fuzzer made points at the loopback receiver.
    let (status, list) = app.get("/webhooks/subscriptions").await;
    assert_eq!(status, 200, "{list}");
    let subscriptions = list["subscriptions"].as_array().cloned().unwrap_or_default();
    for sub in &subscriptions {
        let url = sub["url"].as_str().unwrap_or_default();
        assert!(url.starts_with(&receiver.url("/")), "a subscription to {url} escaped the hooks");
    }
    eprintln!("[fuzz] {} subscriptions made, all to the loopback receiver", subscriptions.len());

    // Every operation the document says needs a key: 401 JSON without one and with a wrong one.
    let (status, doc) = app.request(reqwest::Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, 200);
    let mut secured = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if op["security"].as_array().is_none_or(|s| s.is_empty()) {
                continue;
            }
            assert!(op["responses"]["401"].is_object(), "{method} {path} does not declare its 401");
            let concrete =
                path.split('/').map(|s| if s.starts_with('{') { "x" } else { s }).collect::<Vec<_>>();
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            for key in [None, Some("not-a-key-0123456789abcdef")] {
                let (status, body) = app.request(method.clone(), &concrete.join("/"), key, None).await;
                assert!(
                    status == 401 && body["detail"].is_string(),
                    "{method} {path} with {key:?}: {status} {body}"
                );
            }
            secured += 1;
        }
    }
    assert!(secured >= 20, "only {secured} secured operations in the document");

    // What generators seldom send: path segments that are not UTF-8, and query values of the
    // wrong type. Each is a declared status with a JSON body.
    for (path, want) in [
        ("/debug/session/%FF", 404),
        ("/debug/result/%C0%AF", 404),
        ("/debug/clusters/%FF", 404),
        ("/cluster/%FF/status", 404),
        ("/webhooks/subscriptions/%FF", 404),
        ("/webhooks/subscriptions/%FF/deliveries", 404),
        ("/audit?limit=abc", 422),
        ("/audit?limit=%FF", 422),
        ("/debug/result/00000000-0000-0000-0000-000000000000?offset=-1", 422),
    ] {
        let response = app
            .http
            .get(format!("{}{path}", app.gateway.url))
            .header("X-API-Key", AGENT_KEY)
            .send()
            .await
            .expect("gateway reachable");
        let status = response.status().as_u16();
        let json = response.headers().get("content-type").is_some_and(|v| v == "application/json");
        let body = response.text().await.unwrap_or_default();
        eprintln!("[fuzz] {path} -> {status} {body}");
        assert!(status == want && json, "{path}: {status} {body}");
    }
}
