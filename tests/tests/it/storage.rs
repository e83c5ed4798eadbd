//! Bounded storage against the real nats-server: every stream and bucket gets a size limit and
//! the discard policy that fits what it holds, streams provisioned before the limits existed are
//! updated in place (keeping their data), a full results bucket drops its oldest results, and the
//! gateway warns (log + metric) before the audit stream reaches its limit.

use std::time::Duration;

use async_nats::jetstream::{self, stream::DiscardPolicy};
use kubently_shared::names::Names;
use kubently_shared::provision::{
    ProvisionOptions, StorageLimits, ensure_a2a, ensure_command_path, ensure_webhooks, stream_differences,
};
use kubently_tests::app::{ADMIN_KEY, gateway_settings, spawn_gateway};
use kubently_tests::harness::TestContext;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

async fn delete_all(js: &jetstream::Context, opts: &ProvisionOptions) {
    let names = opts.names().expect("names");
    for config in opts.every_stream_config(&names) {
        let _ = js.delete_stream(&config.name).await;
    }
}

async fn server_config(js: &jetstream::Context, name: &str) -> jetstream::stream::Info {
    js.get_stream(name).await.unwrap_or_else(|e| panic!("stream {name}: {e}")).cached_info().clone()
}

#[tokio::test]
async fn every_stream_and_bucket_has_a_size_limit_and_a_fitting_discard_policy() {
    let ctx = TestContext::new().await;
    let js = ctx.jetstream();
    let opts = ProvisionOptions::with_prefix(ctx.unique("S"));
    let names = opts.names().expect("names");
    ensure_command_path(&js, &opts).await.expect("command path");
    ensure_webhooks(&js, &opts).await.expect("webhooks");
    ensure_a2a(&js, &opts).await.expect("a2a");

    let configs = opts.every_stream_config(&names);
    assert_eq!(configs.len(), 14, "3 streams, the callbacks queue and 10 buckets");
    for desired in &configs {
        let info = server_config(&js, &desired.name).await;
        assert!(info.config.max_bytes > 0, "{} has no size limit", desired.name);
        assert_eq!(info.config.max_bytes, desired.max_bytes, "{}", desired.name);
        assert!(stream_differences(&info.config, desired).is_empty(), "{} drifted", desired.name);
    }
    let limits = StorageLimits::default();
    let expect = |name: String, max_bytes: u64, discard: DiscardPolicy| {
        let js = js.clone();
        async move {
            let info = server_config(&js, &name).await;
            assert_eq!((info.config.max_bytes as u64, info.config.discard), (max_bytes, discard), "{name}");
            info
        }
    };
    // Records: the oldest go first.
    let audit = expect(names.audit_stream(), limits.audit_max_bytes, DiscardPolicy::Old).await;
    assert_eq!(audit.config.max_age, Duration::from_secs(30 * 24 * 3600));
    expect(names.events_stream(), limits.events_max_bytes, DiscardPolicy::Old).await;
    let results =
        expect(format!("KV_{}", names.results_bucket()), limits.results_max_bytes, DiscardPolicy::Old).await;
    assert_eq!(results.config.max_age, Duration::from_secs(3600), "results also go by age");
    // Queues: the oldest queued commands are past their deadline first; a per-cluster depth.
    let commands = expect(names.commands_stream(), limits.commands_max_bytes, DiscardPolicy::Old).await;
    assert_eq!(commands.config.max_messages_per_subject, limits.commands_max_per_cluster);
    // State: writes are refused rather than anything silently lost.
    expect(format!("KV_{}", names.claims_bucket()), limits.claims_max_bytes, DiscardPolicy::New).await;
    for bucket in [names.sessions_bucket(), names.executors_bucket(), names.webhooks_bucket()] {
        expect(format!("KV_{bucket}"), limits.bucket_max_bytes, DiscardPolicy::New).await;
    }
    delete_all(&ctx.jetstream(), &opts).await;
}

#[tokio::test]
async fn streams_made_before_the_limits_are_updated_in_place_keeping_their_data() {
    let ctx = TestContext::new().await;
    let js = ctx.jetstream();
    let opts = ProvisionOptions::with_prefix(ctx.unique("S"));
    let names = opts.names().expect("names");
    // What an earlier release provisioned: no size limits, results refusing writes when full.
    for desired in opts.stream_configs(&names) {
        let is_commands = desired.name == names.commands_stream();
        let is_results = desired.name == format!("KV_{}", names.results_bucket());
        let old = jetstream::stream::Config {
            max_bytes: -1,
            max_messages_per_subject: if is_commands { -1 } else { desired.max_messages_per_subject },
            discard: if is_results { DiscardPolicy::New } else { desired.discard },
            ..desired
        };
        js.create_stream(old).await.expect("the earlier release's stream");
    }
    for i in 0..5 {
        js.publish(names.audit_subject("c1"), format!("{{\"record\":{i}}}").into())
            .await
            .expect("publish")
            .await
            .expect("stored");
    }

    let smaller = ProvisionOptions {
        limits: StorageLimits { audit_max_bytes: 2 * MIB, ..StorageLimits::default() },
        ..opts.clone()
    };
    ensure_command_path(&js, &smaller).await.expect("a start with limits updates the streams");
    let audit = server_config(&js, &names.audit_stream()).await;
    assert_eq!(audit.config.max_bytes as u64, 2 * MIB);
    assert_eq!(audit.state.messages, 5, "the update keeps the records");
    let results = server_config(&js, &format!("KV_{}", names.results_bucket())).await;
    assert_eq!(results.config.discard, DiscardPolicy::Old);
    let commands = server_config(&js, &names.commands_stream()).await;
    assert_eq!(commands.config.max_messages_per_subject, StorageLimits::default().commands_max_per_cluster);
    // Idempotent: nothing differs any more.
    for desired in smaller.stream_configs(&names) {
        let info = server_config(&js, &desired.name).await;
        assert!(stream_differences(&info.config, &desired).is_empty(), "{} still differs", desired.name);
    }
    delete_all(&js, &opts).await;
}

#[tokio::test]
async fn a_full_results_bucket_drops_its_oldest_results() {
    let ctx = TestContext::new().await;
    let js = ctx.jetstream();
    let opts = ProvisionOptions {
        limits: StorageLimits { results_max_bytes: 64 * KIB, ..StorageLimits::default() },
        ..ProvisionOptions::with_prefix(ctx.unique("S"))
    };
    let buckets = ensure_command_path(&js, &opts).await.expect("command path");
    let value = bytes::Bytes::from(vec![b'x'; 4 * KIB as usize]);
    for i in 0..40 {
        buckets
            .results
            .put(format!("c1.cmd-{i:02}"), value.clone())
            .await
            .expect("a result is always stored");
    }
    let info = server_config(&js, &format!("KV_{}", opts.names().expect("names").results_bucket())).await;
    assert!(info.state.bytes <= 64 * KIB, "the bucket stays within its limit: {} bytes", info.state.bytes);
    assert!(info.state.messages < 40, "older results were dropped: {} kept", info.state.messages);
    assert!(buckets.results.get("c1.cmd-00").await.expect("read").is_none(), "the oldest result is gone");
    assert_eq!(buckets.results.get("c1.cmd-39").await.expect("read"), Some(value), "the newest is kept");
    delete_all(&js, &opts).await;
}

/// The value of the sample `name{stream="<stream>"}` in a Prometheus exposition.
fn sample(metrics: &str, name: &str, stream: &str) -> Option<f64> {
    let prefix = format!("{name}{{stream=\"{stream}\"}} ");
    metrics.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn the_gateway_warns_before_the_audit_stream_reaches_its_limit_then_the_oldest_records_go() {
    let ctx = TestContext::new().await;
    let prefix = format!("T{}", ctx.id);
    let mut settings = gateway_settings(&ctx, &prefix);
    settings.storage = serde_json::from_value(serde_json::json!({
        "warn_at_percent": 80, "check_interval_seconds": 1, "audit": {"max_bytes": "1MiB"},
    }))
    .expect("storage settings");
    let gateway = spawn_gateway(settings).await;
    let names = Names::with_prefix(&prefix).expect("names");
    let audit = names.audit_stream();
    let http = reqwest::Client::new();
    let metrics = || async {
        let request = http.get(format!("{}/metrics", gateway.url)).header("X-API-Key", ADMIN_KEY);
        request.send().await.expect("metrics").text().await.expect("text")
    };
    // The gateway reads the streams' sizes once a second, the first time right after it starts.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let first = loop {
        let text = metrics().await;
        if sample(&text, "kubently_stream_limit_bytes", &audit).is_some() {
            break text;
        }
        assert!(tokio::time::Instant::now() < deadline, "no size read for {audit}: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(sample(&first, "kubently_stream_limit_bytes", &audit), Some(MIB as f64), "{first}");
    assert_eq!(sample(&first, "kubently_stream_limit_warnings_total", &audit), None);

    // 85 % of the limit in 1 KiB records (what the audit log writes is smaller; the size is what counts).
    let js = ctx.jetstream();
    let record = |i: usize| format!("{{\"record\":{i},\"pad\":\"{}\"}}", "p".repeat(1000));
    let mut written = 0;
    while (written as u64) * 1100 < MIB * 85 / 100 {
        js.publish(names.audit_subject("c1"), record(written).into()).await.expect("publish");
        written += 1;
    }
    js.publish(names.audit_subject("c1"), record(written).into())
        .await
        .expect("publish")
        .await
        .expect("stored");
    written += 1;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let warned = loop {
        let text = metrics().await;
        if sample(&text, "kubently_stream_limit_warnings_total", &audit) == Some(1.0) {
            break text;
        }
        assert!(tokio::time::Instant::now() < deadline, "no warning for {audit}: {text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let ratio = sample(&warned, "kubently_stream_fill_ratio", &audit).expect("fill ratio");
    assert!((0.8..1.0).contains(&ratio), "warned at {ratio}");
    assert!(sample(&warned, "kubently_stream_bytes", &audit).expect("bytes") > 0.8 * MIB as f64);
    // Warned once per crossing, not at every check.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(sample(&metrics().await, "kubently_stream_limit_warnings_total", &audit), Some(1.0));

    // Past the limit: the oldest records go, the stream stays within it.
    for i in 0..300 {
        js.publish(names.audit_subject("c1"), record(written + i).into()).await.expect("publish");
    }
    js.publish(names.audit_subject("c1"), record(0).into()).await.expect("publish").await.expect("stored");
    let info = server_config(&js, &audit).await;
    assert!(info.state.bytes <= MIB, "{} bytes held", info.state.bytes);
    assert!(info.state.first_sequence > 1, "the oldest records were dropped");
    assert!(info.state.last_sequence > written as u64 + 300);
    drop(gateway);
}
