//! Provisioning of the command path against the real nats-server: idempotence and replica
//! races, command dedup, work-queue delivery, per-key TTL writes, and prefix isolation.

use std::collections::HashSet;
use std::time::Duration;

use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::RetentionPolicy;
use async_nats::jetstream::{self, ErrorCode, consumer, kv};
use futures::StreamExt;
use kubently_shared::Error;
use kubently_shared::kv_ttl;
use kubently_shared::names::Names;
use kubently_shared::provision::{
    Buckets, ProvisionOptions, ensure_cluster_consumer, ensure_command_path, ensure_stream,
    stream_differences,
};
use kubently_tests::harness::TestContext;

const WAIT: Duration = Duration::from_secs(10);

/// Test options: isolated by `prefix`, KV markers kept 1 s so tests see them age out quickly.
fn options(prefix: &str) -> ProvisionOptions {
    ProvisionOptions { kv_marker_ttl: Duration::from_secs(1), ..ProvisionOptions::with_prefix(prefix) }
}

async fn connect(ctx: &TestContext) -> jetstream::Context {
    jetstream::new(ctx.stack.connect_as(&ctx.stack.root_creds).await)
}

/// Deletes everything `opts` provisioned (best effort; the server is per test run anyway).
async fn cleanup(js: &jetstream::Context, opts: &ProvisionOptions) {
    let names = opts.names().expect("names");
    for stream in [names.commands_stream(), names.events_stream(), names.audit_stream()] {
        let _ = js.delete_stream(stream).await;
    }
    for bucket in [
        names.cluster_active_bucket(),
        names.sessions_bucket(),
        names.executors_bucket(),
        names.results_bucket(),
        names.clusters_bucket(),
    ] {
        let _ = js.delete_key_value(bucket).await;
    }
}

async fn consumer_names(js: &jetstream::Context, stream: &str) -> Vec<String> {
    let stream = js.get_stream(stream).await.expect("commands stream");
    let names: Vec<String> = stream.consumer_names().map(|n| n.expect("consumer name")).collect().await;
    names
}

async fn stream_messages(js: &jetstream::Context, stream: &str) -> u64 {
    let mut stream = js.get_stream(stream).await.expect("stream");
    stream.info().await.expect("stream info").state.messages
}

async fn publish_command(
    js: &jetstream::Context,
    subject: String,
    id: &str,
) -> jetstream::publish::PublishAck {
    js.send_publish(subject, PublishMessage::build().payload(id.to_string().into()).message_id(id))
        .await
        .expect("publish command")
        .await
        .expect("command ack")
}

/// Waits until the watcher reports `op` for `key`; returns every (key, op) seen on the way.
async fn wait_for(
    watch: &mut kv::Watch,
    key: &str,
    op: kv::Operation,
    within: Duration,
) -> Vec<(String, kv::Operation)> {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(within, async {
        while let Some(entry) = watch.next().await {
            let entry = entry.expect("watch entry");
            seen.push((entry.key.clone(), entry.operation));
            if entry.key == key && entry.operation == op {
                return;
            }
        }
    })
    .await;
    assert!(found.is_ok(), "no {op:?} for {key} within {within:?}; watcher saw {seen:?}");
    seen
}

#[tokio::test]
async fn provisioning_is_idempotent_and_repairs_drift() {
    let ctx = TestContext::new().await;
    let js = ctx.jetstream();
    let opts = options(&ctx.unique("P"));
    let names = opts.names().expect("names");
    let cluster = ctx.unique("c");

    ensure_command_path(&js, &opts).await.expect("first provisioning");
    ensure_cluster_consumer(&js, &cluster, &opts).await.expect("first consumer");
    let buckets = ensure_command_path(&js, &opts).await.expect("second provisioning is a no-op");
    let consumer = ensure_cluster_consumer(&js, &cluster, &opts).await.expect("second consumer is a no-op");
    assert_eq!(consumer_names(&js, &names.commands_stream()).await, vec![names.executor_consumer(&cluster)]);

    let config = &consumer.cached_info().config;
    assert_eq!(config.filter_subject, names.command_subject(&cluster));
    assert_eq!(
        (config.ack_policy, config.ack_wait, config.max_deliver),
        (consumer::AckPolicy::Explicit, Duration::from_secs(30), 5)
    );

    // What the server holds matches what Kubently asks for, field by field (so a restart
    // updates nothing).
    for desired in opts.stream_configs(&names) {
        let stream = js.get_stream(&desired.name).await.expect("provisioned stream");
        let diff = stream_differences(&stream.cached_info().config, &desired);
        assert!(diff.is_empty(), "{} differs from its desired config in {diff:?}", desired.name);
    }

    let mut commands = js.get_stream(names.commands_stream()).await.expect("commands stream");
    let info = commands.info().await.expect("info").config.clone();
    assert_eq!(info.retention, RetentionPolicy::WorkQueue);
    assert_eq!(info.subjects, vec![names.command_subjects()]);
    assert_eq!((info.duplicate_window, info.max_age), (Duration::from_secs(120), Duration::from_secs(600)));
    let events = js.get_stream(names.events_stream()).await.expect("events stream");
    assert_eq!(events.cached_info().config.max_age, Duration::from_secs(7 * 24 * 3600));
    let audit = js.get_stream(names.audit_stream()).await.expect("audit stream");
    assert_eq!(audit.cached_info().config.subjects, vec![names.audit_subjects()]);

    let ttl_buckets = [&buckets.cluster_active, &buckets.sessions, &buckets.executors, &buckets.results];
    for store in ttl_buckets {
        let cfg = &store.stream.cached_info().config;
        assert!(
            cfg.allow_message_ttl && cfg.subject_delete_marker_ttl.is_some(),
            "{} allows per-key TTLs",
            store.name
        );
        assert_eq!(cfg.max_messages_per_subject, 1, "{} keeps history 1", store.name);
    }
    assert_eq!(buckets.results.stream.cached_info().config.max_age, Duration::from_secs(3600));
    let clusters = &buckets.clusters.stream.cached_info().config;
    assert!(
        !clusters.allow_message_ttl && clusters.max_age == Duration::ZERO,
        "the known-clusters bucket never expires"
    );

    // Someone changes a field Kubently owns: the next start puts it back, keeping the data.
    publish_command(&js, names.command_subject(&cluster), "drift-1").await;
    js.update_stream(&jetstream::stream::Config { max_age: Duration::from_secs(300), ..info.clone() })
        .await
        .expect("drift");
    ensure_command_path(&js, &opts).await.expect("provisioning repairs drift");
    let repaired = commands.info().await.expect("info");
    assert_eq!(repaired.config.max_age, Duration::from_secs(600));
    assert_eq!(repaired.state.messages, 1, "an update keeps the queued commands");

    // A consumer whose ack settings drifted is updated in place, not duplicated.
    let drifted = ProvisionOptions { ack_wait: Duration::from_secs(12), ..opts.clone() };
    let updated = ensure_cluster_consumer(&js, &cluster, &drifted).await.expect("update consumer");
    assert_eq!(updated.cached_info().config.ack_wait, Duration::from_secs(12));
    assert_eq!(consumer_names(&js, &names.commands_stream()).await.len(), 1);

    let invalid = ensure_cluster_consumer(&js, "Not.A.Cluster", &opts).await.expect_err("invalid cluster id");
    assert!(matches!(invalid, Error::InvalidName { what: "cluster id", .. }), "{invalid}");
    cleanup(&js, &opts).await;
}

#[tokio::test]
async fn racing_replicas_converge_on_one_of_everything() {
    let ctx = TestContext::new().await;
    let opts = options(&ctx.unique("P"));
    let names = opts.names().expect("names");
    let cluster = ctx.unique("c");

    // Four replicas start at once; two of them run an older configuration (another command
    // max age and ack wait), as in a rolling upgrade. All must start, and converge on one
    // stream and one consumer.
    let older = ProvisionOptions {
        command_max_age: Duration::from_secs(900),
        ack_wait: Duration::from_secs(20),
        ..opts.clone()
    };
    let mut tasks = Vec::new();
    for i in 0..4 {
        let js = connect(&ctx).await;
        let (opts, cluster) = (if i % 2 == 0 { opts.clone() } else { older.clone() }, cluster.clone());
        tasks.push(tokio::spawn(async move {
            let buckets = ensure_command_path(&js, &opts).await?;
            let consumer = ensure_cluster_consumer(&js, &cluster, &opts).await?;
            Ok::<(Buckets, PullConsumer), Error>((buckets, consumer))
        }));
    }
    for task in tasks {
        task.await.expect("task").unwrap_or_else(|e| panic!("a racing replica failed: {e}"));
    }
    let js = ctx.jetstream();
    assert_eq!(consumer_names(&js, &names.commands_stream()).await, vec![names.executor_consumer(&cluster)]);
    let mut stream_names: Vec<String> = js.stream_names().map(|n| n.expect("stream name")).collect().await;
    stream_names.retain(|n| n.contains(names.prefix().expect("prefix")));
    stream_names.sort();
    assert_eq!(stream_names.len(), 9, "3 streams + 6 buckets: {stream_names:?}");
    let max_age =
        js.get_stream(names.commands_stream()).await.expect("commands").cached_info().config.max_age;
    assert!([opts.command_max_age, older.command_max_age].contains(&max_age), "{max_age:?}");
    cleanup(&js, &opts).await;
}

/// Replicas with different configurations (a rolling upgrade) creating one stream at the same
/// instant: the losers of the create race re-read and update; nobody fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_creates_with_different_configs_all_succeed() {
    let ctx = TestContext::new().await;
    for round in 0..3 {
        let name = ctx.unique(&format!("RACE{round}"));
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(6));
        let mut tasks = Vec::new();
        for i in 0..6u64 {
            let js = connect(&ctx).await;
            // Below the 2 min default duplicate window, so an update must also shrink the window.
            let config = jetstream::stream::Config {
                name: name.clone(),
                subjects: vec![format!("{name}.>")],
                max_age: Duration::from_secs(100 + i % 2),
                ..Default::default()
            };
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                ensure_stream(&js, config).await
            }));
        }
        for task in tasks {
            task.await.expect("task").unwrap_or_else(|e| panic!("a racing replica failed: {e}"));
        }
        let _ = ctx.jetstream().delete_stream(&name).await;
    }
}

#[tokio::test]
async fn a_command_published_twice_is_stored_once() {
    let ctx = TestContext::new().await;
    let js = ctx.jetstream();
    let opts = options(&ctx.unique("P"));
    let names = opts.names().expect("names");
    let cluster = ctx.unique("c");
    ensure_command_path(&js, &opts).await.expect("provision");

    let id = uuid::Uuid::now_v7().to_string();
    let first = publish_command(&js, names.command_subject(&cluster), &id).await;
    let second = publish_command(&js, names.command_subject(&cluster), &id).await;
    assert!(!first.duplicate && second.duplicate, "the retry is recognised as a duplicate");
    assert_eq!(first.sequence, second.sequence, "the duplicate acks with the original's sequence");
    assert_eq!(first.stream, names.commands_stream());
    publish_command(&js, names.command_subject(&cluster), &uuid::Uuid::now_v7().to_string()).await;
    assert_eq!(stream_messages(&js, &names.commands_stream()).await, 2);
    cleanup(&js, &opts).await;
}

#[tokio::test]
async fn the_work_queue_hands_each_command_to_exactly_one_executor() {
    let ctx = TestContext::new().await;
    let js = ctx.jetstream();
    let opts = options(&ctx.unique("P"));
    let names = opts.names().expect("names");
    let cluster = ctx.unique("c");
    ensure_command_path(&js, &opts).await.expect("provision");

    // One message, acked by one consumer: gone from the stream.
    let consumer = ensure_cluster_consumer(&js, &cluster, &opts).await.expect("consumer");
    publish_command(&js, names.command_subject(&cluster), "single").await;
    let mut batch =
        consumer.fetch().max_messages(1).expires(Duration::from_secs(2)).messages().await.expect("fetch");
    let msg = batch.next().await.expect("a message").expect("message ok");
    assert_eq!(&msg.payload[..], b"single");
    msg.double_ack().await.expect("ack");
    assert_eq!(
        stream_messages(&js, &names.commands_stream()).await,
        0,
        "an acked command leaves the work queue"
    );

    // A second durable with an overlapping filter is refused by the work-queue stream.
    let other = consumer::pull::Config {
        durable_name: Some("intruder".into()),
        filter_subject: names.command_subject(&cluster),
        ..Default::default()
    };
    let err = js
        .create_consumer_on_stream(other, names.commands_stream())
        .await
        .expect_err("overlapping consumer refused");
    assert!(
        matches!(err.kind(), async_nats::jetstream::stream::ConsumerErrorKind::JetStream(ref e) if e.error_code() == ErrorCode::CONSUMER_WQ_CONSUMER_NOT_UNIQUE),
        "{err}"
    );

    // Two executor replicas bound to the same durable split the commands without overlap.
    const N: usize = 30;
    for i in 0..N {
        publish_command(&js, names.command_subject(&cluster), &format!("cmd-{i}")).await;
    }
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let js = connect(&ctx).await;
        let (opts, cluster) = (opts.clone(), cluster.clone());
        replicas.push(tokio::spawn(async move {
            let consumer = ensure_cluster_consumer(&js, &cluster, &opts).await.expect("bind the durable");
            let mut got = Vec::new();
            let deadline = tokio::time::Instant::now() + WAIT;
            while tokio::time::Instant::now() < deadline {
                let mut batch = consumer
                    .fetch()
                    .max_messages(4)
                    .expires(Duration::from_millis(300))
                    .messages()
                    .await
                    .expect("fetch");
                let mut empty = true;
                while let Some(msg) = batch.next().await {
                    let msg = msg.expect("message");
                    got.push(String::from_utf8(msg.payload.to_vec()).expect("utf-8"));
                    msg.double_ack().await.expect("ack");
                    empty = false;
                }
                if empty && consumer.clone().info().await.expect("consumer info").num_pending == 0 {
                    break;
                }
            }
            got
        }));
    }
    let mut all = Vec::new();
    for replica in replicas {
        all.push(replica.await.expect("replica task"));
    }
    let (a, b): (HashSet<_>, HashSet<_>) =
        (all[0].iter().cloned().collect(), all[1].iter().cloned().collect());
    assert!(
        a.is_disjoint(&b),
        "a command reached both replicas: {:?}",
        a.intersection(&b).collect::<Vec<_>>()
    );
    assert_eq!(all[0].len() + all[1].len(), N, "every command delivered exactly once: {all:?}");
    assert_eq!(a.union(&b).count(), N);
    assert_eq!(stream_messages(&js, &names.commands_stream()).await, 0);
    cleanup(&js, &opts).await;
}

#[tokio::test]
async fn put_with_ttl_expires_and_watchers_see_the_purge() {
    let ctx = TestContext::new().await;
    let js = ctx.jetstream();
    let opts = options(&ctx.unique("P"));
    let buckets = ensure_command_path(&js, &opts).await.expect("provision");
    let store = &buckets.cluster_active;

    let mut watch = store.watch("c.*").await.expect("watch");
    // 300 ms rounds up to NATS's 1 s minimum.
    kv_ttl::put_with_ttl(&js, store, "c.a", "active".into(), Duration::from_millis(300))
        .await
        .expect("put with TTL");
    store.put("c.b", "no ttl".into()).await.expect("plain put");
    let seen = wait_for(&mut watch, "c.a", kv::Operation::Purge, WAIT).await;
    assert_eq!(seen.first(), Some(&("c.a".to_string(), kv::Operation::Put)), "{seen:?}");
    assert!(store.get("c.a").await.expect("get").is_none(), "an expired key reads as absent");
    assert_eq!(store.get("c.b").await.expect("get").as_deref(), Some(&b"no ttl"[..]));

    let zero = kv_ttl::put_with_ttl(&js, store, "c.z", "x".into(), Duration::ZERO)
        .await
        .expect_err("zero TTL refused");
    assert!(matches!(zero, Error::InvalidTtl { .. }), "{zero}");
    let bad_key = kv_ttl::put_with_ttl(&js, store, "c.*", "x".into(), Duration::from_secs(1))
        .await
        .expect_err("wildcard key refused");
    assert!(matches!(bad_key, Error::InvalidName { .. }), "{bad_key}");

    // A bucket without per-key TTLs refuses the header instead of silently keeping the key.
    let no_ttl = kv_ttl::put_with_ttl(&js, &buckets.clusters, "x", "x".into(), Duration::from_secs(1))
        .await
        .expect_err("no TTL bucket");
    assert!(no_ttl.to_string().contains(&buckets.clusters.name), "{no_ttl}");
    cleanup(&js, &opts).await;
}

#[tokio::test]
async fn create_with_ttl_over_an_expired_key_keeps_its_ttl() {
    let ctx = TestContext::new().await;
    let js = ctx.jetstream();
    // Markers stay 60 s (the default), so the re-create really lands on top of one.
    let opts = ProvisionOptions::with_prefix(ctx.unique("P"));
    let buckets = ensure_command_path(&js, &opts).await.expect("provision");
    let store = &buckets.sessions;
    let ttl = Duration::from_secs(1);

    let mut watch = store.watch("s1").await.expect("watch");
    kv_ttl::create_with_ttl(&js, store, "s1", "one".into(), ttl).await.expect("create");
    let exists = kv_ttl::create_with_ttl(&js, store, "s1", "again".into(), ttl).await.expect_err("live key");
    assert!(matches!(exists, Error::KeyExists { .. }), "{exists}");
    wait_for(&mut watch, "s1", kv::Operation::Purge, WAIT).await;
    let marker = store.entry("s1").await.expect("entry").expect("the expiry marker is the last entry");
    assert_eq!(marker.operation, kv::Operation::Purge);

    let revision =
        kv_ttl::create_with_ttl(&js, store, "s1", "two".into(), ttl).await.expect("create over the marker");
    assert!(revision > marker.revision);
    assert_eq!(store.get("s1").await.expect("get").as_deref(), Some(&b"two"[..]));
    wait_for(&mut watch, "s1", kv::Operation::Put, WAIT).await;
    wait_for(&mut watch, "s1", kv::Operation::Purge, WAIT).await;
    assert!(store.get("s1").await.expect("get").is_none(), "the re-created key expired again");

    // After a plain delete, too.
    kv_ttl::create_with_ttl(&js, store, "s2", "x".into(), Duration::from_secs(60)).await.expect("create s2");
    store.delete("s2").await.expect("delete");
    kv_ttl::create_with_ttl(&js, store, "s2", "y".into(), ttl).await.expect("create over a delete marker");
    let mut watch2 = store.watch("s2").await.expect("watch s2");
    wait_for(&mut watch2, "s2", kv::Operation::Purge, WAIT).await;
    cleanup(&js, &opts).await;
}

#[tokio::test]
async fn a_retried_write_whose_first_attempt_landed_recognizes_it_as_its_own() {
    // A write's ack can be lost in a leader election although the write landed; the retry must
    // not mistake it for someone else's.
    use kubently_shared::claims::{self, Claim, Claimed};
    use kubently_shared::policy::{self, CommandInput, PolicyConfig};
    use kubently_shared::protocol::{Caller, Command, CommandResult, CommandStatus};
    use kubently_shared::results::{self, Stored};
    use time::OffsetDateTime;

    let ctx = TestContext::new().await;
    let js = ctx.jetstream();
    let opts = ProvisionOptions::with_prefix(ctx.unique("P"));
    let buckets = ensure_command_path(&js, &opts).await.expect("provision");
    let request = policy::parse(
        &CommandInput { command_type: "version", args: &[], extra_args: &[], namespace: None },
        &PolicyConfig::default(),
    )
    .expect("version parses");
    let now = OffsetDateTime::now_utc();
    let command = Command::new("c1", request, Caller::service("s"), "r", now, Duration::from_secs(10));

    // A claim: the same claim again is this executor's; a later claim by the same id is not.
    let ttl = Duration::from_secs(60);
    let mine = Claim::new("e1");
    assert_eq!(
        claims::claim(&js, &buckets.claims, &command, &mine, ttl).await.expect("claim"),
        Claimed::Mine
    );
    assert_eq!(
        claims::claim(&js, &buckets.claims, &command, &mine, ttl).await.expect("retry"),
        Claimed::Mine
    );
    let later = Claim::new("e1");
    assert_eq!(
        claims::claim(&js, &buckets.claims, &command, &later, ttl).await.expect("another claim"),
        Claimed::Taken(Some(mine.clone()))
    );

    // A final result: storing the same one again is "written"; another one finds it stored.
    let result = CommandResult::new(&command, CommandStatus::Success, "e1", now);
    let store = |r: CommandResult| {
        let (js, results) = (js.clone(), buckets.results.clone());
        async move { results::store_final(&js, &results, &r).await.expect("store") }
    };
    assert!(matches!(store(result.clone()).await, Stored::Written));
    assert!(matches!(store(result.clone()).await, Stored::Written), "its own earlier write");
    let other = CommandResult::new(&command, CommandStatus::Timeout, "", OffsetDateTime::now_utc());
    assert!(matches!(store(other).await, Stored::AlreadyFinal(r) if r.status == CommandStatus::Success));

    // A plain create (an async command's pending record).
    kv_ttl::create(&js, &buckets.results, "p1", "pending".into()).await.expect("create");
    kv_ttl::create(&js, &buckets.results, "p1", "pending".into()).await.expect("the same value again");
    let exists = kv_ttl::create(&js, &buckets.results, "p1", "other".into()).await.expect_err("taken");
    assert!(matches!(exists, Error::KeyExists { .. }), "{exists}");
    cleanup(&js, &opts).await;
}

/// Canary: async-nats 0.51's own `create_with_ttl` drops the TTL when it creates over a marker
/// (why `kv_ttl::create_with_ttl` exists). If this starts failing, async-nats fixed it.
#[tokio::test]
async fn upstream_create_with_ttl_over_a_marker_drops_the_ttl() {
    let ctx = TestContext::new().await;
    let js = ctx.jetstream();
    let opts = ProvisionOptions::with_prefix(ctx.unique("P"));
    let buckets = ensure_command_path(&js, &opts).await.expect("provision");
    let store = &buckets.sessions;
    let mut watch = store.watch("k").await.expect("watch");
    store.create_with_ttl("k", "one".into(), Duration::from_secs(1)).await.expect("create");
    wait_for(&mut watch, "k", kv::Operation::Purge, WAIT).await;
    store.create_with_ttl("k", "two".into(), Duration::from_secs(1)).await.expect("create over the marker");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        store.get("k").await.expect("get").as_deref(),
        Some(&b"two"[..]),
        "async-nats now keeps the TTL over a marker"
    );
    cleanup(&js, &opts).await;
}

#[tokio::test]
async fn refresh_extends_life_past_the_original_ttl() {
    let ctx = TestContext::new().await;
    let js = ctx.jetstream();
    let opts = options(&ctx.unique("P"));
    let buckets = ensure_command_path(&js, &opts).await.expect("provision");
    let store = &buckets.executors;

    let mut watch = store.watch("c.e1").await.expect("watch");
    kv_ttl::put_with_ttl(&js, store, "c.e1", "alive".into(), Duration::from_secs(2)).await.expect("put");
    tokio::time::sleep(Duration::from_secs(1)).await;
    kv_ttl::refresh_ttl(&js, store, "c.e1", "alive".into(), Duration::from_secs(3)).await.expect("refresh");
    tokio::time::sleep(Duration::from_millis(1800)).await;
    assert_eq!(
        store.get("c.e1").await.expect("get").as_deref(),
        Some(&b"alive"[..]),
        "alive 0.8 s past the first TTL"
    );
    let refreshed = kv_ttl::refresh_existing_ttl(&js, store, "c.e1", Duration::from_secs(1))
        .await
        .expect("refresh existing");
    assert!(refreshed.is_some());
    wait_for(&mut watch, "c.e1", kv::Operation::Purge, WAIT).await;

    // A refresh of an expired or unknown key never brings it back.
    assert_eq!(
        kv_ttl::refresh_existing_ttl(&js, store, "c.e1", Duration::from_secs(5))
            .await
            .expect("refresh expired"),
        None
    );
    assert_eq!(
        kv_ttl::refresh_existing_ttl(&js, store, "c.nobody", Duration::from_secs(5))
            .await
            .expect("refresh unknown"),
        None
    );
    assert!(store.get("c.e1").await.expect("get").is_none());

    // Compare-and-set update: the expected revision must still be the latest.
    let r1 =
        kv_ttl::put_with_ttl(&js, store, "c.e2", "1".into(), Duration::from_secs(30)).await.expect("put");
    let r2 = kv_ttl::update_with_ttl(&js, store, "c.e2", "2".into(), r1, Duration::from_secs(30))
        .await
        .expect("update");
    let stale = kv_ttl::update_with_ttl(&js, store, "c.e2", "3".into(), r1, Duration::from_secs(30))
        .await
        .expect_err("stale");
    assert!(matches!(stale, Error::WrongRevision { expected, .. } if expected == r1), "{stale}");
    assert!(r2 > r1);
    cleanup(&js, &opts).await;
}

#[tokio::test]
async fn different_prefixes_never_see_each_others_messages() {
    let ctx = TestContext::new().await;
    let js = ctx.jetstream();
    let (opts_a, opts_b) = (options(&ctx.unique("A")), options(&ctx.unique("B")));
    let (names_a, names_b): (Names, Names) = (opts_a.names().expect("names"), opts_b.names().expect("names"));
    let cluster = "local";
    ensure_command_path(&js, &opts_a).await.expect("provision A");
    ensure_command_path(&js, &opts_b).await.expect("provision B");
    let consumer_a = ensure_cluster_consumer(&js, cluster, &opts_a).await.expect("consumer A");
    let consumer_b = ensure_cluster_consumer(&js, cluster, &opts_b).await.expect("consumer B");

    let ack = publish_command(&js, names_a.command_subject(cluster), "for-a").await;
    assert_eq!(ack.stream, names_a.commands_stream());
    let mut from_b = consumer_b
        .fetch()
        .max_messages(1)
        .expires(Duration::from_millis(500))
        .messages()
        .await
        .expect("fetch B");
    assert!(from_b.next().await.is_none(), "B must not see A's command");
    let mut from_a =
        consumer_a.fetch().max_messages(1).expires(Duration::from_secs(2)).messages().await.expect("fetch A");
    let msg = from_a.next().await.expect("A's command").expect("ok");
    assert_eq!(&msg.payload[..], b"for-a");
    msg.double_ack().await.expect("ack");

    // Replies (core NATS) are prefixed too.
    let mut replies_b = ctx.nats.subscribe(names_b.reply_wildcard("gw")).await.expect("subscribe B");
    let mut replies_a = ctx.nats.subscribe(names_a.reply_wildcard("gw")).await.expect("subscribe A");
    ctx.nats.publish(names_a.reply_subject("c", "gw", "id-1"), "reply".into()).await.expect("publish reply");
    ctx.nats.flush().await.expect("flush");
    assert!(tokio::time::timeout(WAIT, replies_a.next()).await.expect("A's reply arrives").is_some());
    assert!(
        tokio::time::timeout(Duration::from_millis(300), replies_b.next()).await.is_err(),
        "B must not see A's reply"
    );

    // KV buckets are separate: a key in A is absent in B.
    let buckets_a = ensure_command_path(&js, &opts_a).await.expect("buckets A");
    let buckets_b = ensure_command_path(&js, &opts_b).await.expect("buckets B");
    buckets_a.clusters.put(cluster, "seen".into()).await.expect("put A");
    assert!(buckets_b.clusters.get(cluster).await.expect("get B").is_none());

    cleanup(&js, &opts_a).await;
    cleanup(&js, &opts_b).await;
}
