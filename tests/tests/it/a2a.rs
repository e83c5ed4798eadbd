//! The A2A door with the official `a2a-sdk` Python client: the agent card, SendMessage with a
//! text part and with a data part, SendStreamingMessage (Task first, then working → artifact →
//! completed), GetTask, ListTasks (only the caller's), CancelTask, a refused command ending
//! REJECTED with the reason, push notifications (inline and by RPC) through the webhook
//! machinery, and wrong keys.

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
