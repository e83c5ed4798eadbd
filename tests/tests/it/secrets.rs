//! Secret values never leave the executor: every verb, over the demo scenario, through the whole
//! command path. Both what the caller gets (cut to a small budget) and the full output kept for
//! paging are searched for every seeded Secret value, plain and base64-encoded.

use kubently_tests::app::TestApp;
use serde_json::{Value, json};

use crate::support::{base64, secret_leaks as leaks};

const COMMANDS: &[&[&str]] = &[
    &["get", "secret", "orders-db-credentials", "-o", "yaml"],
    &["get", "secret", "orders-db-credentials", "-o", "json"],
    &["get", "secrets", "-o", "wide"],
    &["get", "secrets", "-A", "-o", "yaml"],
    &["get", "secret", "orders-db-credentials", "-o", "jsonpath={.data.password}"],
    &["get", "secret", "orders-db-credentials", "-o", "jsonpath={.data}"],
    &["get", "secret", "orders-db-credentials", "-o", "custom-columns=NAME:.metadata.name,DATA:.data"],
    &["get", "secret", "orders-db-credentials", "-o", "name"],
    &["get", "pods", "-o", "yaml"],
    &["get", "deploy", "orders-api", "-o", "json"],
    &["get", "all", "-o", "yaml"],
    &["describe", "secret", "orders-db-credentials"],
    &["describe", "pods"],
    &["describe", "deploy", "orders-api"],
    &["logs", "deploy/orders-api", "--previous"],
    &["events"],
];

#[tokio::test]
async fn no_seeded_secret_value_appears_in_any_output_or_stored_result() {
    assert_eq!(base64(b"orders_app"), "b3JkZXJzX2FwcA==");
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let mut seen = 0;
    for argv in COMMANDS {
        // `-A` with a namespace is a conflict; those commands read every namespace anyway.
        let namespace = if argv.contains(&"-A") { Value::Null } else { json!("demo-shop") };
        let (status, body) =
            app.execute(argv[0], &argv[1..], json!({"namespace": namespace, "output_budget": 2048})).await;
        assert_eq!(status, 200, "{argv:?}: {body}");
        let reply = body.to_string();
        assert!(leaks(&reply).is_empty(), "{argv:?} leaked {:?} in its reply", leaks(&reply));
        // The full output kept for paging.
        let id = body["command_id"].as_str().unwrap_or_default();
        let (mut offset, mut stored) = (0u64, String::new());
        loop {
            let mut tries = 0;
            let (status, page) = loop {
                // An untruncated reply goes out before its copy is stored: allow a moment.
                let (status, page) =
                    app.get(&format!("/debug/result/{id}?offset={offset}&limit=1048576")).await;
                tries += 1;
                if status != 404 || tries > 20 {
                    break (status, page);
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            };
            assert_eq!(status, 200, "{argv:?}: {page}");
            stored.push_str(page["output"].as_str().unwrap_or_default());
            match page["next_offset"].as_u64() {
                Some(n) => offset = n,
                None => break,
            }
        }
        assert!(leaks(&stored).is_empty(), "{argv:?} leaked {:?} into the stored result", leaks(&stored));
        if body["status"] == "success" {
            seen += 1;
        }
    }
    assert!(
        seen >= COMMANDS.len() - 2,
        "most commands must succeed for this test to mean anything ({seen} of {})",
        COMMANDS.len()
    );
}
