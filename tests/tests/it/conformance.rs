//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, pinned with the
//! Node.js it needs in `tests/conformance/package.json`; see `kubently_tests::node`) against
//! `/mcp`: every server scenario it has for 2025-11-25 (initialize and sessions), then every one
//! for 2026-07-28 (stateless), each run at its era's wire.
//!
//! Every check of every scenario must pass, except:
//! * the entries of `tests/conformance/expected-failures.yml`: scenarios (or single checks) that
//!   need the suite's fixture server's tools. Each must still fail, or the entry is stale, and a
//!   whole-scenario entry does not excuse the scenario's wire-schema check;
//! * a check that fails only because the suite called a method of a capability the gateway does
//!   not declare (prompts, resources, resource subscriptions, completions, logging: read from the
//!   gateway in each era) and got rmcp's -32601 answer, whose message is the method's name. That answer is what the
//!   spec asks for (`mcp.rs` checks it directly); such scenarios are reported as not applicable.
//!
//! The suite cannot send the gateway's `X-API-Key` (it has no option for headers), so it talks
//! to a loopback proxy that adds the key and streams everything else through unchanged, `Host`
//! included. Nothing leaves the machine: the suite only sends to the URL it is given, and its
//! proxy variables lead to a closed loopback port, so a request to any other host would fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use kubently_tests::app::{AGENT_KEY, TestApp};
use kubently_tests::header_proxy::HeaderProxy;
use kubently_tests::node::{self, Suite};
use serde_json::Value;

use crate::mcp_raw::Raw;

const ERAS: [&str; 2] = ["2025-11-25", "2026-07-28"];

/// The optional server capabilities whose methods the suite calls, and each one's method prefix.
/// `resources.subscribe` is the `subscribe` flag of `resources` (a server may serve resources
/// without subscriptions); it is matched before `resources`.
const CAPABILITIES: [(&str, &str); 6] = [
    ("prompts", "prompts/"),
    ("resources.subscribe", "resources/subscribe"),
    ("resources.subscribe", "resources/unsubscribe"),
    ("resources", "resources/"),
    ("completions", "completion/"),
    ("logging", "logging/"),
];

/// Whether the capabilities `declared` include `capability` (`resources.subscribe`: the flag is
/// true).
fn is_declared(declared: &serde_json::Map<String, Value>, capability: &str) -> bool {
    match capability.split_once('.') {
        None => declared.contains_key(capability),
        Some((parent, flag)) => declared.get(parent).and_then(|p| p.get(flag)) == Some(&Value::Bool(true)),
    }
}

/// The check the suite adds to every scenario: each message the server sent matches the schema.
const WIRE_SCHEMA_CHECK: &str = "wire-schema-valid";

#[derive(Debug)]
struct Check {
    id: String,
    status: String,
    message: String,
}

/// How a scenario came out.
#[derive(Debug, Default)]
struct Outcome {
    checks: usize,
    /// Failed checks the expected-failures list names.
    expected: Vec<String>,
    /// Failed checks that called a method of an undeclared capability: the methods.
    not_applicable: BTreeSet<String>,
    /// Any other failed check: id and message.
    unexpected: Vec<String>,
}

/// `tests/conformance/expected-failures.yml`: `scenario` or `scenario:check-id` entries.
fn expected_failures() -> BTreeSet<String> {
    #[derive(serde::Deserialize)]
    struct Baseline {
        server: Vec<String>,
    }
    let path = node::conformance_file("expected-failures.yml");
    let text = std::fs::read_to_string(&path).expect("expected-failures.yml");
    let baseline: Baseline = serde_yaml::from_str(&text).expect("expected-failures.yml parses");
    let entries: BTreeSet<String> = baseline.server.iter().cloned().collect();
    assert_eq!(entries.len(), baseline.server.len(), "an entry is listed twice");
    entries
}

/// The method of an undeclared capability that `message` says the gateway refused, if that is
/// all it says: the suite's prefixes, then rmcp's -32601 message, which is the method's name
/// (`Failed: resources/list`, `MCP error -32601: logging/setLevel`,
/// `prompts/list returned JSON-RPC error -32601: prompts/list`).
fn refused_method(message: &str, undeclared: &[&str]) -> Option<String> {
    let mut rest = message.trim();
    while let Some(stripped) = ["Failed: ", "MCP error -32601: ", "JSON-RPC error: "]
        .iter()
        .find_map(|prefix| rest.strip_prefix(prefix))
    {
        rest = stripped;
    }
    if let Some((method, answer)) = rest.split_once(" returned JSON-RPC error -32601: ")
        && method == answer
    {
        rest = answer;
    }
    let (capability, prefix) = CAPABILITIES.iter().find(|(_, prefix)| rest.starts_with(prefix))?;
    let verb = &rest[prefix.len()..];
    // A prefix that is a whole method (`resources/subscribe`) matches that method only.
    let is_method = if prefix.ends_with('/') {
        !verb.is_empty() && verb.chars().all(|c| c.is_ascii_alphabetic() || c == '/')
    } else {
        verb.is_empty()
    };
    (is_method && undeclared.contains(capability)).then(|| rest.to_string())
}

fn judge(scenario: &str, checks: &[Check], listed: &BTreeSet<String>, undeclared: &[&str]) -> Outcome {
    let mut outcome = Outcome { checks: checks.len(), ..Outcome::default() };
    for check in checks.iter().filter(|c| c.status == "FAILURE") {
        // A whole-scenario entry excuses the scenario's own checks, not the check that every
        // message the gateway sent is valid under the era's schema.
        let whole = listed.contains(scenario) && check.id != WIRE_SCHEMA_CHECK;
        if whole || listed.contains(&format!("{scenario}:{}", check.id)) {
            outcome.expected.push(check.id.clone());
        } else if let Some(method) = refused_method(&check.message, undeclared) {
            outcome.not_applicable.insert(method);
        } else {
            outcome.unexpected.push(format!("{}: {}", check.id, check.message));
        }
    }
    outcome
}

/// Each scenario's checks from the suite's results directory (`server-<scenario>-<timestamp>/`).
fn read_results(dir: &Path) -> BTreeMap<String, Vec<Check>> {
    let mut results = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("the suite wrote results") {
        let entry = entry.expect("results entry");
        let dir_name = entry.file_name().to_string_lossy().to_string();
        // The timestamp is an ISO date with `:` and `.` made `-`: 24 characters after a `-`.
        let stamp_at = dir_name.len().checked_sub(25).expect("a results directory name");
        let scenario = dir_name
            .strip_prefix("server-")
            .and_then(|rest| rest.get(..stamp_at - "server-".len()))
            .unwrap_or_else(|| panic!("unexpected results directory {dir_name}"));
        let text = std::fs::read_to_string(entry.path().join("checks.json")).expect("checks.json");
        let checks: Vec<Value> = serde_json::from_str(&text).expect("checks.json parses");
        let checks = checks
            .iter()
            .map(|c| Check {
                id: c["id"].as_str().unwrap_or_default().to_string(),
                status: c["status"].as_str().unwrap_or_default().to_string(),
                message: c["errorMessage"].as_str().unwrap_or_default().to_string(),
            })
            .collect();
        results.insert(scenario.to_string(), checks);
    }
    results
}

/// Runs every server scenario of `era` against `url`: each scenario's checks.
async fn run_suite(suite: &Suite, url: &str, era: &str) -> BTreeMap<String, Vec<Check>> {
    let workdir = tempfile::tempdir().expect("work dir");
    let results = workdir.path().join("results");
    let run = suite
        .command(&["server", "--url", url, "--suite", "all", "--spec-version", era, "--output-dir"])
        .arg(&results)
        .envs(
            ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"]
                .map(|v| (v, "http://127.0.0.1:9")),
        )
        .envs(["NO_PROXY", "no_proxy"].map(|v| (v, "127.0.0.1,localhost,::1")))
        .env("NODE_USE_ENV_PROXY", "1")
        .current_dir(workdir.path())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("the suite finishes within 5 minutes")
        .expect("the suite runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Which scenarios it ran; each must have left its checks.
    let ran: BTreeSet<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("=== Running scenario: ")?.strip_suffix(" ==="))
        .collect();
    let checks = read_results(&results);
    let reported: BTreeSet<&str> = checks.keys().map(String::as_str).collect();
    assert!(
        ran.len() >= 20 && ran == reported,
        "{era}: the suite ran {ran:?} and reported {reported:?} ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    checks
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mcp_conformance_suite_passes_in_both_eras() {
    let app = TestApp::spawn().await;
    let proxy = HeaderProxy::start(&app.gateway.url, "x-api-key", AGENT_KEY).await.expect("key proxy");
    let suite = tokio::task::spawn_blocking(node::conformance_suite)
        .await
        .expect("install thread")
        .unwrap_or_else(|e| panic!("{e:#}"));
    let listed = expected_failures();
    let url = format!("{}/mcp", proxy.url);

    let mut seen_failing: BTreeSet<String> = BTreeSet::new();
    let mut ran_anywhere: BTreeSet<String> = BTreeSet::new();
    let mut problems = Vec::new();
    for era in ERAS {
        let raw =
            if era == ERAS[0] { Raw::legacy(&app, AGENT_KEY).await } else { Raw::modern(&app, AGENT_KEY) };
        let declared = raw.declared().await;
        let mut undeclared: Vec<&str> =
            CAPABILITIES.iter().map(|(c, _)| *c).filter(|c| !is_declared(&declared, c)).collect();
        undeclared.dedup();

        let started = Instant::now();
        let results = run_suite(&suite, &url, era).await;
        let (mut passed, mut expected, mut not_applicable) = (0, 0, 0);
        for (scenario, checks) in &results {
            ran_anywhere.insert(scenario.clone());
            let outcome = judge(scenario, checks, &listed, &undeclared);
            let failing: Vec<&Check> = checks.iter().filter(|c| c.status == "FAILURE").collect();
            for check in &failing {
                seen_failing.insert(scenario.clone());
                seen_failing.insert(format!("{scenario}:{}", check.id));
            }
            // A listed entry of a scenario that ran here must have failed here.
            let stale = listed.iter().filter(|entry| {
                let (name, check) = entry.split_once(':').unwrap_or((entry.as_str(), ""));
                name == scenario && !failing.iter().any(|c| check.is_empty() || c.id == check)
            });
            for entry in stale {
                problems.push(format!("{era}: {entry} passed; remove it from expected-failures.yml"));
            }
            let verdict = if !outcome.unexpected.is_empty() {
                problems
                    .push(format!("{era}: {scenario} failed:\n    {}", outcome.unexpected.join("\n    ")));
                "FAILED".to_string()
            } else if !outcome.expected.is_empty() {
                expected += 1;
                format!("expected failure ({})", outcome.expected.join(", "))
            } else if !outcome.not_applicable.is_empty() {
                not_applicable += 1;
                let methods: Vec<&str> = outcome.not_applicable.iter().map(String::as_str).collect();
                format!("not applicable (-32601 for {})", methods.join(", "))
            } else {
                passed += 1;
                "ok".to_string()
            };
            // Warnings (SHOULDs) do not fail a scenario; they are shown for a reader of the log.
            let warnings: Vec<&str> =
                checks.iter().filter(|c| c.status == "WARNING").map(|c| c.id.as_str()).collect();
            let warnings = if warnings.is_empty() {
                String::new()
            } else {
                format!("; warnings: {}", warnings.join(", "))
            };
            eprintln!("[conformance] {era} {scenario}: {} checks, {verdict}{warnings}", outcome.checks);
        }
        eprintln!(
            "[conformance] {era}: {} scenarios in {:.1}s; ok {passed}, expected failures {expected}, \
             not applicable {not_applicable} (undeclared: {})",
            results.len(),
            started.elapsed().as_secs_f64(),
            undeclared.join(", ")
        );
    }
    for entry in &listed {
        let scenario = entry.split_once(':').map_or(entry.as_str(), |(s, _)| s);
        if !ran_anywhere.contains(scenario) {
            problems.push(format!("{entry}: no such scenario ran in either era"));
        } else if !seen_failing.contains(entry) {
            problems.push(format!("{entry}: never failed; remove it from expected-failures.yml"));
        }
    }
    assert!(problems.is_empty(), "MCP conformance:\n{}", problems.join("\n"));
}

#[test]
fn only_a_bare_refusal_of_an_undeclared_capability_is_not_applicable() {
    let undeclared = ["prompts", "resources", "completions", "logging"];
    for (message, method) in [
        ("Failed: resources/list", "resources/list"),
        ("MCP error -32601: logging/setLevel", "logging/setLevel"),
        ("Failed: MCP error -32601: logging/setLevel", "logging/setLevel"),
        ("JSON-RPC error: prompts/get", "prompts/get"),
        ("prompts/list returned JSON-RPC error -32601: prompts/list", "prompts/list"),
        (
            "resources/templates/list returned JSON-RPC error -32601: resources/templates/list",
            "resources/templates/list",
        ),
        ("Failed: completion/complete", "completion/complete"),
    ] {
        assert_eq!(refused_method(message, &undeclared).as_deref(), Some(method), "{message}");
    }
    for message in [
        "Failed: no tool named `test_simple_text`",
        "Failed: resources/list returned no resources",
        "prompts/list returned JSON-RPC error -32603: internal",
        "Failed: tools/list",
        "Failed: resources/",
        "",
    ] {
        assert_eq!(refused_method(message, &undeclared), None, "{message}");
    }
    // A declared capability's refusal is a failure like any other.
    assert_eq!(refused_method("Failed: resources/list", &["prompts"]), None);
    // Resources without subscriptions: only the subscription methods are not applicable.
    let no_subscribe = ["resources.subscribe", "logging"];
    assert_eq!(
        refused_method("Failed: MCP error -32601: resources/subscribe", &no_subscribe).as_deref(),
        Some("resources/subscribe")
    );
    assert_eq!(
        refused_method("Failed: resources/unsubscribe", &no_subscribe).as_deref(),
        Some("resources/unsubscribe")
    );
    assert_eq!(refused_method("Failed: resources/list", &no_subscribe), None);
    assert_eq!(refused_method("Failed: resources/subscribed", &no_subscribe), None);
    let declared = serde_json::json!({"resources": {}, "prompts": {}}).as_object().cloned().expect("object");
    assert!(is_declared(&declared, "resources") && !is_declared(&declared, "resources.subscribe"));
    let declared =
        serde_json::json!({"resources": {"subscribe": true}}).as_object().cloned().expect("object");
    assert!(is_declared(&declared, "resources.subscribe"));
}
