//! Webhooks end to end with a real HTTP receiver: subscriptions, Standard Webhooks signatures
//! checked by an independent implementation, outages of the receiver and of the gateway,
//! isolation between subscribers, 410, dead letters and redelivery, replicas sharing delivery,
//! and async commands' callbacks agreeing with `GET /debug/result`. Test gateways retry after
//! about 1 s and 1 s (three attempts), with a 2 s attempt timeout.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use kubently_tests::app::{ADMIN_KEY, OTHER_KEY, SCOPED_KEY, TestApp};
use kubently_tests::webhook_receiver::{Received, Receiver, verify};
use reqwest::Method;
use serde_json::json;

/// Subscribes `events` of the app's cluster to `url`; returns (id, secret).
async fn subscribe(app: &TestApp, url: &str, events: &[&str]) -> (String, String) {
    let (status, body) = app
        .post(
            "/webhooks/subscriptions",
            &json!({"url": url, "events": events, "clusters": [app.cluster_id], "description": "test"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    (body["id"].as_str().expect("id").to_string(), body["secret"].as_str().expect("secret").to_string())
}

/// Runs `get namespaces` synchronously; returns the command id.
async fn run_command(app: &TestApp) -> String {
    let (status, body) = app.execute("get", &["namespaces"], json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "success", "{body}");
    body["command_id"].as_str().expect("command id").to_string()
}

fn command_ids(received: &[Received]) -> HashSet<String> {
    received
        .iter()
        .filter(|r| (200..300).contains(&r.answered))
        .filter_map(|r| r.json()["data"]["command_id"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn subscriptions_are_validated_owned_listed_and_deleted() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;

    // Validation names the field and says what is allowed.
    let (status, body) =
        app.post("/webhooks/subscriptions", &json!({"url": "ftp://x/", "events": ["command.*"]})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "url"]));
    assert!(body["detail"][0]["msg"].as_str().unwrap_or_default().contains("http or https"), "{body}");
    let (status, body) = app
        .post("/webhooks/subscriptions", &json!({"url": "http://10.1.2.3/hook", "events": ["command.*"]}))
        .await;
    assert_eq!(status, 422, "private targets are refused by default: {body}");
    assert!(body["detail"][0]["msg"].as_str().unwrap_or_default().contains("private"), "{body}");
    let (status, body) = app
        .post(
            "/webhooks/subscriptions",
            &json!({"url": receiver.url("/h"), "events": ["command.*", "pod.created"]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "events", "1"]));
    assert!(
        body["detail"][0]["msg"].as_str().unwrap_or_default().contains("cluster.disconnected"),
        "the allowed patterns are listed: {body}"
    );
    let (status, body) = app
        .post(
            "/webhooks/subscriptions",
            &json!({"url": receiver.url("/h"), "events": ["*"], "clusters": ["Bad_Id"]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = app
        .request(
            Method::POST,
            "/webhooks/subscriptions",
            Some(SCOPED_KEY),
            Some(&json!({"url": receiver.url("/h"), "events": ["*"], "clusters": [app.cluster_id]})),
        )
        .await;
    assert_eq!(status, 403, "a scoped key cannot subscribe to other clusters: {body}");
    let (status, _) = app.request(Method::GET, "/webhooks/subscriptions", None, None).await;
    assert_eq!(status, 401);

    // Create: covered patterns are dropped; the secret is shown once.
    let (status, created) = app.post("/webhooks/subscriptions", &json!({"url": receiver.url("/h"), "events": ["command.failed", "command.*", "cluster.disconnected"], "description": "ops"})).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["events"], json!(["cluster.disconnected", "command.*"]));
    assert!(created["secret"].as_str().expect("secret").starts_with("whsec_"));
    let (status, got) = app.get(&format!("/webhooks/subscriptions/{id}")).await;
    assert_eq!(status, 200, "{got}");
    assert!(got.get("secret").is_none(), "the secret is never shown again: {got}");
    assert_eq!(got["owner"], "agent");

    // Scoped keys get their clusters by default.
    let (status, scoped) = app
        .request(
            Method::POST,
            "/webhooks/subscriptions",
            Some(SCOPED_KEY),
            Some(&json!({"url": receiver.url("/s"), "events": ["*"]})),
        )
        .await;
    assert_eq!(status, 201, "{scoped}");
    assert_eq!(scoped["clusters"], json!(["elsewhere"]));

    // Owners see their own; admins see all; others get 404.
    let (_, mine) = app.get("/webhooks/subscriptions").await;
    let ids: Vec<&str> =
        mine["subscriptions"].as_array().expect("list").iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(ids, vec![id.as_str()], "{mine}");
    let (_, all) = app.request(Method::GET, "/webhooks/subscriptions", Some(ADMIN_KEY), None).await;
    assert_eq!(all["subscriptions"].as_array().expect("list").len(), 2, "{all}");
    let (status, _) =
        app.request(Method::GET, &format!("/webhooks/subscriptions/{id}"), Some(OTHER_KEY), None).await;
    assert_eq!(status, 404);
    let (status, _) =
        app.request(Method::DELETE, &format!("/webhooks/subscriptions/{id}"), Some(OTHER_KEY), None).await;
    assert_eq!(status, 404);

    // The test ping reaches the receiver, signed.
    let (status, ping) = app.post(&format!("/webhooks/subscriptions/{id}/test"), &json!({})).await;
    assert_eq!(status, 200, "{ping}");
    assert_eq!(ping["outcome"], "delivered", "{ping}");
    assert_eq!(ping["status_code"], 204);
    let got = receiver.wait_for(Duration::from_secs(5), "the ping", |r| !r.is_empty()).await;
    assert_eq!(got[0].json()["type"], "webhook.ping");
    verify(created["secret"].as_str().expect("secret"), &got[0]).expect("ping signature verifies");

    // Delete: gone from the store, and its consumer with it; survives a gateway restart.
    let (status, _) = app.delete(&format!("/webhooks/subscriptions/{id}")).await;
    assert_eq!(status, 204);
    let (status, _) = app.get(&format!("/webhooks/subscriptions/{id}")).await;
    assert_eq!(status, 404);
    let names = &app.gateway.state.names;
    assert!(
        app.ctx
            .jetstream()
            .get_consumer_from_stream::<async_nats::jetstream::consumer::pull::Config, _, _>(
                names.webhook_consumer(&id),
                names.events_stream()
            )
            .await
            .is_err(),
        "consumer deleted"
    );
    let mut app = app;
    app.restart_gateway().await;
    let (status, again) = app
        .request(
            Method::GET,
            &format!("/webhooks/subscriptions/{}", scoped["id"].as_str().expect("id")),
            Some(SCOPED_KEY),
            None,
        )
        .await;
    assert_eq!(status, 200, "subscriptions live in NATS: {again}");
}

#[tokio::test]
async fn command_events_arrive_signed_with_the_standard_webhooks_scheme() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let receiver = Receiver::start().await;
    let (_, secret) = subscribe(&app, &receiver.url("/hooks/kubently"), &["command.*"]).await;
    let command_id = run_command(&app).await;
    let got =
        receiver.wait_for(Duration::from_secs(10), "the command.completed event", |r| !r.is_empty()).await;
    let r = &got[0];
    verify(&secret, r).expect("signature verifies independently");
    assert!(verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", r).is_err(), "another secret does not verify");
    let body = r.json();
    assert_eq!(body["type"], "command.completed", "{body}");
    assert_eq!(body["data"]["command_id"], command_id.as_str());
    assert_eq!(body["data"]["cluster_id"], app.cluster_id.as_str());
    assert_eq!(body["data"]["status"], "success");
    assert_eq!(body["data"]["caller"], "agent");
    assert_eq!(
        r.id,
        body["data"]["event_id"].as_str().expect("event id"),
        "webhook-id is the event id (receivers dedupe on it)"
    );
    assert!(body["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(body["data"].get("output").is_none(), "events carry no command output: {body}");
}

#[tokio::test]
async fn a_receiver_that_is_down_for_a_while_gets_every_event_when_it_comes_back() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let mut receiver = Receiver::start().await;
    let (id, secret) = subscribe(&app, &receiver.url("/h"), &["command.completed"]).await;
    receiver.down();
    let mut sent = HashSet::new();
    for _ in 0..5 {
        sent.insert(run_command(&app).await);
    }
    // The first attempts fail (connection refused) and are logged as retrying.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, log) = app.get(&format!("/webhooks/subscriptions/{id}/deliveries?status=retrying")).await;
        let n = log["deliveries"].as_array().map_or(0, Vec::len);
        if n == 5 {
            let d = &log["deliveries"][0];
            assert!(d["last_error"].as_str().unwrap_or_default().contains("connect"), "{d}");
            assert!(d["next_attempt_at"].is_string(), "{d}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "5 retrying deliveries expected: {log}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    receiver.up().await;
    let got = receiver
        .wait_for(Duration::from_secs(15), "every event after the outage", |r| {
            command_ids(r).is_superset(&sent)
        })
        .await;
    for r in got.iter().filter(|r| r.answered == 204) {
        verify(&secret, r).expect("signature");
    }
    // Delivered-after-failure is visible in the log.
    let (_, log) = app.get(&format!("/webhooks/subscriptions/{id}/deliveries?status=delivered")).await;
    assert_eq!(log["deliveries"].as_array().map_or(0, Vec::len), 5, "{log}");
}

#[tokio::test]
async fn an_event_in_flight_when_the_gateway_dies_arrives_after_restart() {
    let (mut app, _executor) = TestApp::spawn_with_executor().await;
    let receiver = Receiver::start().await;
    let (_, secret) = subscribe(&app, &receiver.url("/h"), &["command.completed"]).await;
    // The receiver holds the request; the gateway dies while waiting for the answer.
    receiver.respond(204, Duration::from_secs(30));
    let command_id = run_command(&app).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while receiver.arrived() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the delivery never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.gateway.kill().await;
    app.gateway = app.start_replica().await;
    receiver.respond(204, Duration::ZERO);
    let got = receiver
        .wait_for(Duration::from_secs(30), "the redelivered event", |r| command_ids(r).contains(&command_id))
        .await;
    let r = got
        .iter()
        .find(|r| r.answered == 204 && r.json()["data"]["command_id"] == command_id.as_str())
        .expect("delivered");
    verify(&secret, r).expect("signature");
}

#[tokio::test]
async fn a_slow_receiver_does_not_delay_another_subscriber() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let slow = Receiver::start().await;
    let fast = Receiver::start().await;
    slow.respond(204, Duration::from_secs(10)); // every attempt times out (2 s)
    subscribe(&app, &slow.url("/slow"), &["command.completed"]).await;
    subscribe(&app, &fast.url("/fast"), &["command.completed"]).await;
    let mut sent = HashSet::new();
    let started = tokio::time::Instant::now();
    for _ in 0..10 {
        sent.insert(run_command(&app).await);
    }
    fast.wait_for(Duration::from_secs(5), "all 10 events at the fast receiver", |r| {
        command_ids(r).is_superset(&sent)
    })
    .await;
    assert!(started.elapsed() < Duration::from_secs(6), "fast subscriber served in {:?}", started.elapsed());
    assert!(slow.delivered().is_empty(), "the slow receiver has not answered any yet");
}

#[tokio::test]
async fn gone_unsubscribes_and_failures_end_as_dead_letters_that_can_be_redelivered() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let gone = Receiver::start().await;
    gone.respond(410, Duration::ZERO);
    let (gone_id, _) = subscribe(&app, &gone.url("/gone"), &["command.completed"]).await;
    let failing = Receiver::start().await;
    failing.respond(500, Duration::ZERO);
    let (id, secret) = subscribe(&app, &failing.url("/fail"), &["command.completed"]).await;

    let command_id = run_command(&app).await;
    // 410: the subscription is removed after the first attempt.
    gone.wait_for(Duration::from_secs(10), "the 410 attempt", |r| !r.is_empty()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.get(&format!("/webhooks/subscriptions/{gone_id}")).await.0 != 404 {
        assert!(tokio::time::Instant::now() < deadline, "410 must remove the subscription");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // 500 three times: dead letter.
    failing.wait_for(Duration::from_secs(15), "three attempts", |r| r.len() >= 3).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let dead = loop {
        let (_, log) = app.get(&format!("/webhooks/subscriptions/{id}/deliveries?status=dead")).await;
        if let Some(d) = log["deliveries"].as_array().and_then(|a| a.first()) {
            break d.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no dead letter: {log}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(dead["attempts"], 3, "{dead}");
    assert_eq!(dead["last_status_code"], 500, "{dead}");
    assert!(dead["last_error"].as_str().unwrap_or_default().contains("500"), "{dead}");
    assert_eq!(dead["payload"]["data"]["command_id"], command_id.as_str());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(failing.received().len(), 3, "no attempt after the dead letter");
    let ids: HashSet<String> = failing.received().into_iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 1, "every attempt carries the same webhook-id: {ids:?}");

    // Redeliver once the receiver is fixed.
    failing.respond(200, Duration::ZERO);
    let event_id = dead["event_id"].as_str().expect("event id");
    let (status, out) =
        app.post(&format!("/webhooks/subscriptions/{id}/deliveries/{event_id}/redeliver"), &json!({})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["attempt"]["outcome"], "delivered", "{out}");
    assert_eq!(out["delivery"]["status"], "delivered");
    assert_eq!(out["delivery"]["attempts"], 4);
    let ok = failing.delivered();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].id, event_id);
    verify(&secret, &ok[0]).expect("signature");
    let (status, _) =
        app.post(&format!("/webhooks/subscriptions/{id}/deliveries/nope/redeliver"), &json!({})).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn gateway_replicas_share_delivery_without_sending_twice() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let second = app.start_replica().await;
    let receiver = Receiver::start().await;
    subscribe(&app, &receiver.url("/h"), &["command.completed"]).await;
    let mut sent = HashSet::new();
    for _ in 0..20 {
        sent.insert(run_command(&app).await);
    }
    let got =
        receiver.wait_for(Duration::from_secs(15), "20 events", |r| command_ids(r).is_superset(&sent)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for r in receiver.received() {
        *per_id.entry(r.id).or_default() += 1;
    }
    assert!(per_id.values().all(|n| *n == 1), "no event was sent twice: {per_id:?}");
    assert_eq!(got.len(), 20);
    let mut second = second;
    second.stop().await;
}

#[tokio::test]
async fn an_async_command_calls_back_with_what_get_result_shows() {
    let (app, executor) = TestApp::spawn_with_executor().await;
    let receiver = Receiver::start().await;

    let (status, accepted) = app.post("/debug/execute/async", &json!({"cluster_id": app.cluster_id, "command_type": "get", "args": ["pods"], "namespace": "demo-shop", "callback_url": receiver.url("/cb")})).await;
    assert_eq!(status, 202, "{accepted}");
    let secret = accepted["callback_secret"].as_str().expect("generated secret shown once").to_string();
    let id = accepted["command_id"].as_str().expect("id").to_string();
    let got = receiver.wait_for(Duration::from_secs(15), "the callback", |r| !r.is_empty()).await;
    verify(&secret, &got[0]).expect("callback signature");
    assert_eq!(got[0].id, id, "webhook-id is the command id");
    let body = got[0].json();
    assert_eq!(body["type"], "command.completed", "{body}");
    let (status, result) = app.get(&format!("/debug/result/{id}")).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(body["data"], result, "the callback carries what GET /debug/result shows");
    assert!(result["output"].as_str().unwrap_or_default().contains("checkout"), "{result}");

    // A caller-chosen secret, and a command nobody runs: the callback reports the timeout, and
    // so does a `command.timeout` event, also for an async command without a callback.
    let events = Receiver::start().await;
    subscribe(&app, &events.url("/events"), &["command.timeout"]).await;
    executor.stop();
    app.wait_connected(false).await;
    let (status, plain) = app.post("/debug/execute/async", &json!({"cluster_id": app.cluster_id, "command_type": "get", "args": ["pods"], "timeout_seconds": 1})).await;
    assert_eq!(status, 202, "{plain}");
    let plain_id = plain["command_id"].as_str().expect("id").to_string();
    let own = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let (status, accepted) = app.post("/debug/execute/async", &json!({"cluster_id": app.cluster_id, "command_type": "get", "args": ["pods"], "timeout_seconds": 1, "callback_url": receiver.url("/cb"), "callback_secret": own})).await;
    assert_eq!(status, 202, "{accepted}");
    assert!(accepted.get("callback_secret").is_none(), "a given secret is not echoed");
    let id = accepted["command_id"].as_str().expect("id").to_string();
    let got = receiver
        .wait_for(Duration::from_secs(15), "the timeout callback", |r| r.iter().any(|x| x.id == id))
        .await;
    let r = got.iter().find(|x| x.id == id).expect("callback");
    verify(own, r).expect("signed with the caller's secret");
    let body = r.json();
    assert_eq!(body["type"], "command.timeout", "{body}");
    assert_eq!(body["data"]["status"], "timeout");
    assert!(body["data"]["error"].as_str().unwrap_or_default().contains("no executor connected"), "{body}");
    let (_, result) = app.get(&format!("/debug/result/{id}")).await;
    assert_eq!(body["data"], result);
    let timeouts = events
        .wait_for(Duration::from_secs(15), "both command.timeout events", |r| {
            command_ids(r).contains(&id) && command_ids(r).contains(&plain_id)
        })
        .await;
    assert!(timeouts.iter().all(|r| r.json()["type"] == "command.timeout"));
    assert_eq!(
        timeouts.iter().filter(|r| r.json()["data"]["command_id"] == plain_id.as_str()).count(),
        1,
        "one timeout event per command"
    );

    // callback fields are checked.
    let (status, body) = app.execute("get", &["pods"], json!({"callback_url": receiver.url("/cb")})).await;
    assert_eq!(status, 422, "sync execute has no callback: {body}");
    let (status, body) = app.post("/debug/execute/async", &json!({"cluster_id": app.cluster_id, "args": ["pods"], "callback_url": "http://169.254.169.254/latest"})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "callback_url"]));
    let (status, body) = app.post("/debug/execute/async", &json!({"cluster_id": app.cluster_id, "args": ["pods"], "callback_url": receiver.url("/cb"), "callback_secret": "short"})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "callback_secret"]));
}

/// Subscribes every event of the app's cluster to `url` with `key`.
async fn subscribe_as(app: &TestApp, key: &str, url: &str) {
    let body = json!({"url": url, "events": ["*"], "clusters": [app.cluster_id]});
    let (status, body) = app.request(Method::POST, "/webhooks/subscriptions", Some(key), Some(&body)).await;
    assert_eq!(status, 201, "{body}");
}

fn caller_of(r: &Received) -> Option<String> {
    let data = &r.json()["data"];
    data["caller"].as_str().or(data["owner"].as_str()).map(str::to_string)
}

#[tokio::test]
async fn a_subscription_hears_only_its_own_keys_sessions_and_commands() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let (other, admin) = (Receiver::start().await, Receiver::start().await);
    subscribe_as(&app, OTHER_KEY, &other.url("/other")).await;
    subscribe_as(&app, ADMIN_KEY, &admin.url("/admin")).await;

    // The agent's session and command; then one command of the other key's own.
    let (status, session) = app.post("/debug/session", &json!({"cluster_id": app.cluster_id})).await;
    assert_eq!(status, 201, "{session}");
    let agents = run_command(&app).await;
    let body = json!({"cluster_id": app.cluster_id, "command_type": "version"});
    let (status, own) = app.request(Method::POST, "/debug/execute", Some(OTHER_KEY), Some(&body)).await;
    assert_eq!(status, 200, "{own}");
    let own = own["command_id"].as_str().expect("command id").to_string();

    // The admin subscription hears everyone; the other key's hears its own command only.
    admin
        .wait_for(Duration::from_secs(15), "both commands at the admin", |r| {
            let ids = command_ids(r);
            ids.contains(&agents) && ids.contains(&own)
        })
        .await;
    other.wait_for(Duration::from_secs(15), "its own command", |r| command_ids(r).contains(&own)).await;
    tokio::time::sleep(Duration::from_secs(2)).await; // anything misrouted would have arrived by now
    let heard: Vec<Option<String>> = other.received().iter().map(caller_of).collect();
    assert!(
        heard.iter().all(|c| c.as_deref().is_none_or(|c| c == "other")),
        "another tenant's events: {heard:?}"
    );
    assert!(!command_ids(&other.received()).contains(&agents));
    assert!(
        admin
            .received()
            .iter()
            .any(|r| r.json()["type"] == "session.created" && caller_of(r).as_deref() == Some("agent")),
        "the admin hears the agent's session"
    );
}
