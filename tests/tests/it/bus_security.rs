//! The bus as a security boundary: every connection authenticates (operator-mode JWTs) over TLS,
//! an executor's credentials reach only its own cluster, clusters are added and revoked without
//! restarting NATS, and an executor runs only what the gateway signed — even for a party with
//! full NATS write access.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream;
use futures::StreamExt;
use kubently_admin::tls::BusTls;
use kubently_shared::names::{HEADER_MSG_ID, Names};
use kubently_shared::policy::{self, CommandInput, PolicyConfig};
use kubently_shared::protocol::{self, Caller, Command, CommandResult, CommandStatus};
use kubently_shared::results;
use kubently_shared::signing::{CommandSigner, generate_seed};
use kubently_tests::app::{ExecutorOptions, TestApp};
use serde_json::json;
use time::OffsetDateTime;

const TEST_EXECUTOR: &str = env!("CARGO_BIN_EXE_kubently-test-executor");

/// A connection that records the server's permission violations.
struct Probe {
    client: async_nats::Client,
    errors: Arc<Mutex<Vec<String>>>,
}

impl Probe {
    async fn connect(app: &TestApp, creds: &std::path::Path) -> Self {
        let errors = Arc::new(Mutex::new(Vec::new()));
        let seen = errors.clone();
        let stack = app.ctx.stack;
        let names = Names::with_prefix(&app.prefix).expect("prefix");
        let client = async_nats::ConnectOptions::with_credentials_file(creds)
            .await
            .expect("creds")
            .add_root_certificates(stack.bus.tls.ca_cert.clone())
            .require_tls(true)
            .custom_inbox_prefix(names.executor_inbox_prefix(&app.cluster_id))
            .event_callback(move |event| {
                let seen = seen.clone();
                async move {
                    if let async_nats::Event::ServerError(e) = event {
                        seen.lock().expect("lock").push(e.to_string());
                    }
                }
            })
            .connect(&stack.nats_url)
            .await
            .expect("the credential connects");
        Self { client, errors }
    }

    /// Waits for the server to refuse `what` on `subject`.
    async fn refused(&self, what: &str, subject: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let errors = self.errors.lock().expect("lock").clone();
            if errors.iter().any(|e| {
                let e = e.to_lowercase();
                e.contains("permissions violation") && e.contains(what) && e.contains(&subject.to_lowercase())
            }) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what} to {subject} was not refused: {errors:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn publish_refused(&self, subject: String) {
        self.client.publish(subject.clone(), "x".into()).await.expect("publish");
        self.client.flush().await.expect("flush");
        self.refused("publish", &subject).await;
    }

    async fn subscribe_refused(&self, subject: String) {
        let _sub = self.client.subscribe(subject.clone()).await.expect("subscribe");
        self.client.flush().await.expect("flush");
        self.refused("subscription", &subject).await;
    }
}

#[tokio::test]
async fn an_executor_credential_reaches_only_its_own_clusters_subjects() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let names = Names::with_prefix(&app.prefix).expect("prefix");
    let (a, b) = (app.cluster_id.clone(), format!("{}-b", app.cluster_id));
    // B has a command waiting and a stored result.
    let (_, ran) = app.execute("version", &[], json!({})).await;
    let creds_a = app.executor_creds(&a);
    let probe = Probe::connect(&app, &creds_a).await;
    let js = jetstream::new(probe.client.clone());

    // Its own consumer binds (the positive control: the credential works).
    let own = js
        .get_consumer_from_stream::<jetstream::consumer::pull::Config, _, _>(
            names.executor_consumer(&a),
            names.commands_stream(),
        )
        .await;
    assert!(own.is_ok(), "its own consumer: {own:?}");

    let commands = names.commands_stream();
    let results = names.results_bucket();
    // Another cluster's commands, results and replies.
    probe
        .publish_refused(format!("$JS.API.CONSUMER.MSG.NEXT.{commands}.{}", names.executor_consumer(&b)))
        .await;
    probe.publish_refused(format!("$JS.API.CONSUMER.INFO.{commands}.{}", names.executor_consumer(&b))).await;
    probe.publish_refused(format!("$JS.API.DIRECT.GET.KV_{results}.$KV.{results}.{b}.x")).await;
    probe.publish_refused(format!("$JS.API.STREAM.MSG.GET.KV_{results}")).await;
    probe.subscribe_refused(names.reply_wildcard("gw").replace(".*.gw.", &format!(".{b}.gw."))).await;
    probe.subscribe_refused(format!("$KV.{results}.>")).await;
    probe.subscribe_refused("_INBOX.>".into()).await;
    // Publishing commands, or replies for another cluster.
    probe.publish_refused(names.command_subject(&a)).await;
    probe.publish_refused(names.command_subject(&b)).await;
    probe.publish_refused(names.reply_subject(&b, "gw", "x")).await;
    probe.publish_refused(format!("$KV.{results}.{b}.forged")).await;
    // The subject where the results bucket republishes what it stored: nats-server's alone.
    probe.publish_refused(names.stored_results().replace('>', &format!("{a}.forged"))).await;
    // Creating, changing or deleting anything.
    probe.publish_refused(format!("$JS.API.STREAM.DELETE.{commands}")).await;
    probe.publish_refused("$JS.API.STREAM.CREATE.EVIL".into()).await;
    probe
        .publish_refused(format!("$JS.API.CONSUMER.DELETE.{commands}.{}", names.executor_consumer(&a)))
        .await;
    probe.publish_refused(format!("$JS.API.CONSUMER.CREATE.{commands}.evil")).await;

    // Nothing was harmed: the stream is there and the stored result readable by its owner.
    let stored = app.get(&format!("/debug/result/{}", ran["command_id"].as_str().expect("id"))).await;
    assert_eq!(stored.0, 200, "{stored:?}");
    assert_eq!(stored.1["status"], "success");
}

#[tokio::test]
async fn anonymous_connections_and_a_wrong_ca_are_refused() {
    let app = TestApp::spawn().await;
    let stack = app.ctx.stack;
    let anonymous = async_nats::ConnectOptions::new()
        .add_root_certificates(stack.bus.tls.ca_cert.clone())
        .require_tls(true)
        .connect(&stack.nats_url)
        .await;
    assert!(anonymous.is_err(), "an anonymous connection must be refused");

    let other = tempfile::tempdir().expect("temp dir");
    let wrong = BusTls::load_or_create(other.path(), &["127.0.0.1"]).expect("another CA");
    let wrong_ca = async_nats::ConnectOptions::with_credentials_file(&stack.root_creds)
        .await
        .expect("creds")
        .add_root_certificates(wrong.ca_cert)
        .require_tls(true)
        .connect(&stack.nats_url)
        .await;
    let error = wrong_ca.expect_err("a server whose certificate another CA signed is refused").to_string();
    assert!(error.to_lowercase().contains("tls") || error.contains("certificate"), "{error}");

    let plaintext = async_nats::ConnectOptions::with_credentials_file(&stack.root_creds)
        .await
        .expect("creds")
        .connect(stack.nats_url.replace("tls://", "nats://"))
        .await;
    assert!(plaintext.is_err(), "no connection without the bus CA: {plaintext:?}");
}

async fn next_reply(replies: &mut async_nats::Subscriber) -> CommandResult {
    let msg =
        tokio::time::timeout(Duration::from_secs(15), replies.next()).await.expect("a reply").expect("open");
    protocol::decode::<CommandResult>(&msg.payload).expect("a result")
}

/// A `version` command for the app's cluster, replying to `reply_to`.
fn command(app: &TestApp, reply_to: &str, timeout: Duration, issued_at: OffsetDateTime) -> Command {
    let request = policy::parse(
        &CommandInput { command_type: "version", args: &[], extra_args: &[], namespace: None },
        &PolicyConfig::default(),
    )
    .expect("version parses");
    let mut c = Command::new(
        app.cluster_id.clone(),
        request,
        Caller::service("attacker"),
        reply_to.to_string(),
        issued_at,
        timeout,
    );
    c.reply_to = reply_to.to_string();
    c
}

#[tokio::test]
async fn only_commands_the_gateway_signed_run_even_for_a_party_with_full_nats_write_access() {
    let app = TestApp::spawn().await;
    let executor = app.start_executor_process(TEST_EXECUTOR, "guard", ExecutorOptions::default()).await;
    let names = Names::with_prefix(&app.prefix).expect("prefix");
    // The attacker holds unrestricted NATS credentials of the account.
    let nats = app.ctx.nats.clone();
    let js = jetstream::new(nats.clone());
    let reply_to = names.reply_subject(&app.cluster_id, "attacker", "inbox");
    let mut replies = nats.subscribe(reply_to.clone()).await.expect("subscribe");
    let subject = names.command_subject(&app.cluster_id);
    let publish = |headers: async_nats::HeaderMap, payload: bytes::Bytes| {
        let (js, subject) = (js.clone(), subject.clone());
        async move {
            js.publish_with_headers(subject, headers, payload).await.expect("publish").await.expect("stored")
        }
    };
    let refusals = [
        ("unsigned", "is not signed"),
        ("signed by a stranger", "does not trust"),
        ("altered after signing", "does not match its content"),
        ("deadline a day ahead", "further ahead than a command lives"),
    ];
    let mut refused_ids = Vec::new();
    for (case, reason) in refusals {
        let now = OffsetDateTime::now_utc();
        let timeout =
            if case.starts_with("deadline") { Duration::from_secs(86_400) } else { Duration::from_secs(20) };
        let c = command(&app, &reply_to, timeout, now);
        let (mut headers, mut payload) = app.ctx.signed_command(&c);
        match case {
            "unsigned" => headers = async_nats::HeaderMap::new(),
            "signed by a stranger" => {
                let stranger = CommandSigner::from_seed(&generate_seed()).expect("key");
                stranger.sign_into(&payload, &mut headers);
            }
            "altered after signing" => {
                let mut altered = c.clone();
                altered.caller.service = "someone-else".into();
                payload = protocol::encode(&altered).expect("encode");
            }
            _ => {}
        }
        headers.insert(HEADER_MSG_ID, c.id.to_string().as_str());
        publish(headers, payload).await;
        let reply = next_reply(&mut replies).await;
        assert_eq!((reply.command_id, reply.status), (c.id, CommandStatus::Failure), "{case}: {reply:?}");
        let error = reply.error.unwrap_or_default();
        assert!(error.contains("refused by the executor") && error.contains(reason), "{case}: {error}");
        refused_ids.push(c.id);
    }

    // Expired: signed, but past its deadline when it arrives.
    let stale = command(
        &app,
        &reply_to,
        Duration::from_secs(1),
        OffsetDateTime::now_utc() - time::Duration::minutes(5),
    );
    app.ctx.publish_signed(&names, &stale).await;
    let reply = next_reply(&mut replies).await;
    assert_eq!((reply.command_id, reply.status), (stale.id, CommandStatus::Timeout), "{reply:?}");
    assert!(reply.error.unwrap_or_default().contains("expired before it could run"));

    // Replayed: the gateway's own signed bytes, published again as a new message.
    let genuine = command(&app, &reply_to, Duration::from_secs(20), OffsetDateTime::now_utc());
    let (headers, payload) = app.ctx.signed_command(&genuine);
    publish(headers.clone(), payload.clone()).await;
    let first = next_reply(&mut replies).await;
    assert_eq!(first.status, CommandStatus::Success, "{first:?}");
    let mut replay = headers;
    replay.insert(HEADER_MSG_ID, format!("{}-again", genuine.id).as_str());
    publish(replay, payload).await;
    let again = next_reply(&mut replies).await;
    assert_eq!(again.executed_at, first.executed_at, "the replay gets the stored answer, not a new run");

    // None of the refused messages ran or left a record; the genuine one ran exactly once.
    let results_bucket = app.gateway.state.buckets.results.clone();
    for id in refused_ids {
        assert!(results::read(&results_bucket, &app.cluster_id, id).await.expect("read").is_none());
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let log = executor.log_text();
        let runs = log.lines().filter(|l| l.contains("running the command")).count();
        let replays = log.lines().filter(|l| l.contains("refused a replayed copy")).count();
        let refusals = log.lines().filter(|l| l.contains("refused a command message")).count();
        if (runs, replays, refusals) == (1, 1, 4) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "runs {runs}, replays {replays}, refusals {refusals}:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_gateway_takes_the_stored_result_as_the_reply_and_the_executor_sends_none() {
    let (app, _executor) = TestApp::spawn_with_executor().await;
    let names = Names::with_prefix(&app.prefix).expect("prefix");
    let nats = app.ctx.nats.clone();
    let mut replies = nats.subscribe(names.cluster_replies(&app.cluster_id)).await.expect("subscribe");
    let mut stored = nats.subscribe(names.stored_results()).await.expect("subscribe");
    nats.flush().await.expect("flush");

    let (status, body) = app.execute("version", &[], json!({})).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("success")), "{body}");
    let id = body["command_id"].as_str().expect("id").to_string();

    // The final record, republished by the results bucket: signed, complete, under its key.
    let record = loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), stored.next())
            .await
            .expect("the stored result was republished")
            .expect("open");
        if msg.subject.ends_with(&format!("{}.{id}", app.cluster_id)) && !msg.payload.is_empty() {
            break protocol::decode::<CommandResult>(&msg.payload).expect("a result");
        }
    };
    assert_eq!(record.status, CommandStatus::Success);
    assert!(record.command_signature.is_some(), "{record:?}");
    assert_eq!(Some(record.output.as_str()), body["output"].as_str());
    // No separate reply: the stored record was the answer.
    let reply = tokio::time::timeout(Duration::from_millis(500), replies.next()).await;
    assert!(reply.is_err(), "the executor replied as well: {reply:?}");
}

#[tokio::test]
async fn a_cluster_added_rotated_and_revoked_at_runtime_needs_no_nats_restart() {
    let app = TestApp::spawn().await;
    let stack = app.ctx.stack;
    // Added: credentials signed just now, never seen by the server before.
    let settings = app.executor_settings("first", &ExecutorOptions::default());
    let first = settings.nats.credentials_file.clone().expect("the executor's credentials");
    let executor = tokio::spawn(async move {
        let exec = kubently_executor::Application::build(settings).await.expect("executor builds");
        exec.run_until(std::future::pending()).await
    });
    app.wait_connected(true).await;
    let (status, body) = app.execute("version", &[], json!({})).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("success")), "{body}");

    // Rotated: a newer credential is issued, then every earlier one revoked (the account JWT with
    // their keys in its revocations, pushed over the system account).
    let second = app.executor_creds(&app.cluster_id);
    let system = stack.connect_as(&stack.bus.admin_creds).await;
    let mut trust = stack.trust();
    assert_eq!(trust.revoke_cluster(&app.cluster_id, 1).expect("revoke all but the newest"), 1);
    trust.push_account(&system).await.expect("push the account JWT");
    // The old connection is closed and cannot come back: the cluster drops out, commands time out.
    app.wait_connected(false).await;
    let (_, body) = app.execute("version", &[], json!({"timeout_seconds": 3})).await;
    assert_eq!(body["status"], "timeout", "{body}");
    assert!(
        stack.try_connect(&stack.nats_url, &first).await.is_err(),
        "the revoked credential connects again"
    );
    assert!(stack.try_connect(&stack.nats_url, &second).await.is_ok(), "the newer credential stays valid");

    // Revoked: the cluster is cut off entirely.
    assert_eq!(trust.revoke_cluster(&app.cluster_id, 0).expect("revoke the rest"), 1);
    trust.push_account(&system).await.expect("push the account JWT");
    assert!(stack.try_connect(&stack.nats_url, &second).await.is_err(), "a revoked credential connects");
    assert!(
        std::path::Path::new(&format!("/proc/{}", stack.nats_pid)).exists(),
        "the run's one nats-server was never restarted"
    );
    executor.abort();
}

#[tokio::test]
async fn the_gateway_serves_https_when_given_a_certificate() {
    let ctx = kubently_tests::harness::TestContext::new().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let tls = BusTls::load_or_create(dir.path(), &["127.0.0.1"]).expect("a CA and a certificate");
    let mut settings = kubently_tests::app::gateway_settings(&ctx, &format!("T{}", ctx.id));
    settings.server.tls_cert_file = Some(tls.server_cert.clone());
    settings.server.tls_key_file = Some(tls.server_key.clone());
    let gateway = kubently_tests::app::spawn_gateway(settings).await;
    let https = gateway.url.replace("http://", "https://");
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&tls.ca_cert).expect("CA")).expect("CA pem");
    let client = reqwest::Client::builder().add_root_certificate(ca).build().expect("client");
    let resp = client.get(format!("{https}/healthz")).send().await.expect("HTTPS answers");
    assert_eq!(resp.status(), 200);
    let resp = client
        .get(format!("{https}/debug/clusters"))
        .header("X-API-Key", kubently_tests::app::AGENT_KEY)
        .send()
        .await
        .expect("an authenticated call over HTTPS");
    assert_eq!(resp.status(), 200);
    let plain = reqwest::Client::new().get(format!("{}/healthz", gateway.url)).send().await;
    assert!(plain.is_err() || plain.is_ok_and(|r| r.status() != 200), "plain HTTP is not served");
}
