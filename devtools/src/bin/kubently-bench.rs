//! `./dev bench`: Kubently's command path against the local stack, side by side with the same
//! call made directly with kube-rs. Starts its own (release) gateway and executor on the dev
//! stack's NATS and cluster, isolated by a NATS name prefix, and measures:
//!
//! (a) the call made directly (the executor's engine in-process, i.e. kube-rs + rendering),
//! (b) the same call through the gateway over HTTP, one client, warm,
//! (c) the first command after the cluster went idle (executor in slow mode),
//! (d) throughput at concurrency 1, 8 and 64 (zero errors required),
//! (e) webhooks: latency from a command's completion (its event's timestamp) to receipt at a
//!     local receiver, and events delivered per second to one subscription, beside the same
//!     receiver taking plain POSTs straight from the bench (the floor),
//! (f) the floor: the bare JetStream round trip the path is built on (publish to a work-queue
//!     stream, pull, core reply; the same payload sizes; [`kubently_devtools::floor`]), and the
//!     command path's overhead as a ratio to it,
//! (g) what each stream and bucket holds per command run (bytes and messages; read before (e)),
//!
//! and prints p50/p95/p99, commands/s, the gateway's and executor's RSS, and CPU milliseconds per
//! command of the gateway, the executor, nats-server and the API server during throughput runs.
//!
//! `kubently-bench fleet [--clusters 10,100,1000]` runs the fleet simulation instead
//! (`kubently_devtools::fleet`): it needs no dev stack.

use std::path::Path;
use std::process::Command as Process;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use kubently_admin::cli::Setup as BusSetup;
use kubently_devtools::cpu::CpuMeter;
use kubently_devtools::fleet::probe;
use kubently_devtools::floor::Floor;
use kubently_devtools::link_delay::LinkDelay;
use kubently_executor::engine::{Engine, ExecOptions};
use kubently_shared::names::Names;
use kubently_shared::policy::{self, CommandInput, PolicyConfig};
use kubently_tests::devstack_state::StackState;
use kubently_tests::kube_cluster::client_from;
use kubently_tests::paths;
use kubently_tests::process::{Daemon, Lifetime, free_port, http_get, wait_until};
use serde_json::{Value, json};

const CLUSTER: &str = "bench";
const KEY: &str = "bench-key-0123456789abcdef";
/// The service name of [`KEY`]: a subscription receives `command.*` events of its own key's calls.
const SERVICE: &str = "bench";

struct Case {
    name: &'static str,
    command_type: &'static str,
    args: &'static [&'static str],
    namespace: Option<&'static str>,
}

const CASES: [Case; 2] = [
    Case {
        name: "get pods -n demo-shop",
        command_type: "get",
        args: &["pods"],
        namespace: Some("demo-shop"),
    },
    Case { name: "version", command_type: "version", args: &[], namespace: None },
];

struct Opts {
    duration: Duration,
    samples: usize,
    idle_samples: usize,
    /// `--gateway-setting section.key=value` (repeatable): extra settings for the bench's gateway,
    /// e.g. `commands.reply_from_store=false` to measure the path with executors' own replies.
    gateway_settings: Vec<(String, String)>,
    /// `--executor-link-delay-ms N`: the executor reaches NATS through a link that delays each
    /// direction by N ms (an executor in a remote cluster); 0 = direct.
    executor_link_delay: Duration,
}

fn parse_opts() -> anyhow::Result<Opts> {
    let mut o = Opts {
        duration: Duration::from_secs(30),
        samples: 300,
        idle_samples: 8,
        gateway_settings: Vec::new(),
        executor_link_delay: Duration::ZERO,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it.next().context("every option takes a value")?;
        match a.as_str() {
            "--duration-secs" => o.duration = Duration::from_secs(v.parse()?),
            "--samples" => o.samples = v.parse()?,
            "--idle-samples" => o.idle_samples = v.parse()?,
            "--executor-link-delay-ms" => o.executor_link_delay = Duration::from_millis(v.parse()?),
            "--gateway-setting" => {
                let (key, value) = v.split_once('=').context("--gateway-setting takes section.key=value")?;
                let var = format!("KUBENTLY__{}", key.replace('.', "__").to_uppercase());
                o.gateway_settings.push((var, value.to_string()));
            }
            other => bail!(
                "unknown option {other}; options: --duration-secs N --samples N --idle-samples N \
                 --gateway-setting section.key=value --executor-link-delay-ms N"
            ),
        }
    }
    Ok(o)
}

fn say(msg: &str) {
    println!("[bench] {msg}");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kubently_tests::process::restore_default_sigpipe();
    // reqwest is built without a bundled crypto provider (the workspace uses ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("fleet") {
        return kubently_devtools::fleet::run(&args[1..]).await;
    }
    let opts = parse_opts()?;
    let state = StackState::load()?.context("no dev stack: run `./dev up --seed` first")?;
    anyhow::ensure!(state.all_alive(), "the dev stack is partly down (`./dev status`)");
    remove_bench_streams(&state.nats_url).await?;
    let dir = tempfile::Builder::new().prefix("kubently-bench-").tempdir()?;
    let prefix = format!("B{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let (gateway, url) = start_gateway(&state, &prefix, dir.path(), &opts.gateway_settings).await?;
    if !opts.gateway_settings.is_empty() {
        say(&format!("gateway settings: {:?}", opts.gateway_settings));
    }
    // An executor far away: its NATS connection through a delaying link.
    let link = if opts.executor_link_delay > Duration::ZERO {
        let (scheme, upstream) = state.nats_url.split_once("://").context("the dev stack's NATS URL")?;
        let link = LinkDelay::start(upstream.parse()?, opts.executor_link_delay).await?;
        say(&format!(
            "the executor reaches NATS through a link delaying each direction by {:?} (round trip + {:?})",
            opts.executor_link_delay,
            2 * opts.executor_link_delay
        ));
        Some((format!("{scheme}://{}", link.addr), link))
    } else {
        None
    };
    let executor_nats = link.as_ref().map_or(state.nats_url.as_str(), |(url, _)| url.as_str());
    let executor = start_executor(&state, executor_nats, &prefix, dir.path())?;
    let http =
        reqwest::Client::builder().pool_max_idle_per_host(128).timeout(Duration::from_secs(30)).build()?;
    wait_until("bench executor", Duration::from_secs(30), Some(&executor), || {
        let (http, url) = (http.clone(), url.clone());
        async move { Ok(cluster_detail(&http, &url).await?["connected"] == true) }
    })
    .await?;
    say(&format!(
        "release gateway pid {} at {url}, executor pid {}, NATS prefix {prefix}",
        gateway.pid, executor.pid
    ));

    let engine = Engine::new(client_from(&state.kubeconfig).await?);
    let monitor_port: u16 = state
        .nats_monitor_url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .context("the dev stack's NATS monitoring URL has no port")?;
    let mut processes =
        vec![("gateway", gateway.pid), ("executor", executor.pid), ("nats-server", state.nats.pid)];
    if let Some(api) =
        state.kube.as_ref().and_then(|k| k.processes.iter().find(|p| p.name == "kube-apiserver"))
    {
        processes.push(("kube-apiserver", api.pid));
    }
    let mut report = Vec::new();
    for case in &CASES {
        let request = policy::parse(
            &CommandInput {
                command_type: case.command_type,
                args: &case.args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                extra_args: &[],
                namespace: case.namespace,
            },
            &PolicyConfig::default(),
        )?;
        // (a) direct
        let exec_opts = ExecOptions::default();
        for _ in 0..20 {
            engine.execute(&request, &exec_opts).await?;
        }
        let mut direct = Vec::with_capacity(opts.samples);
        for _ in 0..opts.samples {
            let t = Instant::now();
            engine.execute(&request, &exec_opts).await?;
            direct.push(t.elapsed());
        }
        // (f) the floor, with this command's payload sizes
        let output = engine.execute(&request, &exec_opts).await?;
        let floor = Arc::new(
            Floor::start(
                connect(&state.nats_url).await?,
                connect(&state.nats_url).await?,
                &format!("{prefix}F"),
                command_bytes(&request, &prefix)?,
                output.text.len() + RESULT_ENVELOPE_BYTES,
            )
            .await?,
        );
        let mut floor_rt = floor.sequential(opts.samples).await?;
        // (b) through the gateway, one client, warm
        let body = execute_body(case);
        for _ in 0..20 {
            call(&http, &url, &body).await?;
        }
        let mut via = Vec::with_capacity(opts.samples);
        for _ in 0..opts.samples {
            let t = Instant::now();
            call(&http, &url, &body).await?;
            via.push(t.elapsed());
        }
        // (c) first command after the cluster went idle
        let mut idle = Vec::with_capacity(opts.idle_samples);
        for _ in 0..opts.idle_samples {
            wait_for_mode(&http, &url, "slow").await?;
            let t = Instant::now();
            call(&http, &url, &body).await?;
            idle.push(t.elapsed());
        }
        let a = Stats::of(&mut direct);
        let b = Stats::of(&mut via);
        let c = Stats::of(&mut idle);
        let f = Stats::of(&mut floor_rt);
        let ratio = |ours: Duration, direct: Duration, floor: Duration| (ms(ours) - ms(direct)) / ms(floor);
        say(&format!("{}: direct {a}", case.name));
        say(&format!("{}: JetStream floor {f}", case.name));
        say(&format!(
            "{}: gateway {b}  → overhead p50 {:.3} ms, p99 {:.3} ms",
            case.name,
            ms(b.p50) - ms(a.p50),
            ms(b.p99) - ms(a.p99)
        ));
        say(&format!(
            "{}: overhead / floor: p50 {:.2}×, p99 {:.2}×",
            case.name,
            ratio(b.p50, a.p50, f.p50),
            ratio(b.p99, a.p99, f.p99)
        ));
        say(&format!(
            "{}: first after idle {c}  → cold overhead p50 {:.3} ms",
            case.name,
            ms(c.p50) - ms(a.p50)
        ));
        report.push(json!({"command": case.name, "direct": a.json(), "gateway": b.json(), "idle": c.json(), "floor": f.json(),
            "overhead_p50_ms": ms(b.p50) - ms(a.p50), "overhead_p99_ms": ms(b.p99) - ms(a.p99), "cold_overhead_p50_ms": ms(c.p50) - ms(a.p50),
            "overhead_to_floor_p50": ratio(b.p50, a.p50, f.p50), "overhead_to_floor_p99": ratio(b.p99, a.p99, f.p99)}));
        // (d) throughput
        for concurrency in [1usize, 8, 64] {
            let meter = CpuMeter::start(&processes);
            let msgs_before = probe::message_counts(monitor_port).await?;
            let (mut lat, errors, rate) = throughput(&http, &url, &body, concurrency, opts.duration).await;
            let cpu = meter.per_command(lat.len());
            let msgs_after = probe::message_counts(monitor_port).await?;
            // Everything the server received and sent, per command (the dev stack's few heartbeats included).
            let per = |before: u64, after: u64| after.saturating_sub(before) as f64 / lat.len().max(1) as f64;
            let (msgs_in, msgs_out) = (per(msgs_before.0, msgs_after.0), per(msgs_before.1, msgs_after.1));
            say(&format!(
                "{}: concurrency {concurrency}: CPU per command: {}; nats-server messages per command: {msgs_in:.1} in, {msgs_out:.1} out",
                case.name,
                cpu_line(&cpu)
            ));
            let s = Stats::of(&mut lat);
            let (g, e) = (rss_kib(gateway.pid), rss_kib(executor.pid));
            say(&format!(
                "{}: concurrency {concurrency}: {rate:.0} commands/s, {errors} errors, {s}; RSS gateway {} MiB (peak {}), executor {} MiB (peak {})",
                case.name,
                g.0 / 1024,
                g.1 / 1024,
                e.0 / 1024,
                e.1 / 1024
            ));
            report.push(json!({"command": case.name, "concurrency": concurrency, "commands_per_second": rate, "errors": errors, "latency": s.json(),
                "cpu_ms_per_command": cpu.iter().map(|(p, v)| (p.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
                "nats_messages_per_command": {"in": msgs_in, "out": msgs_out},
                "gateway_rss_mib": g.0 / 1024, "gateway_peak_rss_mib": g.1 / 1024, "executor_rss_mib": e.0 / 1024, "executor_peak_rss_mib": e.1 / 1024}));
            if errors > 0 {
                say("ERRORS during the throughput run: the run does not count");
            }
        }
        // The floor at the highest concurrency, with nats-server's CPU per round trip.
        let meter = CpuMeter::start(&processes[2..3]);
        let (mut lat, rate) = floor.throughput(64, opts.duration).await;
        let cpu = meter.per_command(lat.len());
        let s = Stats::of(&mut lat);
        say(&format!(
            "{}: JetStream floor at concurrency 64: {rate:.0} round trips/s, {s}; CPU per round trip: {}",
            case.name,
            cpu_line(&cpu)
        ));
        report.push(json!({"command": case.name, "floor_concurrency": 64, "round_trips_per_second": rate, "latency": s.json(),
            "cpu_ms_per_round_trip": cpu.iter().map(|(p, v)| (p.clone(), json!(v))).collect::<serde_json::Map<_, _>>()}));
        floor.remove().await;
    }
    // What the bus keeps per command (before the webhook burst adds events of no command).
    report.push(storage_per_command(&state.nats_url, &prefix).await?);
    report.push(webhooks(&http, &url, &state.nats_url, &prefix, opts.samples).await?);
    let out = paths::cache_dir().join("bench-report.json");
    std::fs::write(&out, serde_json::to_string_pretty(&report)?)?;
    say(&format!("report written to {}", out.display()));
    gateway.stop(Duration::from_secs(5));
    executor.stop(Duration::from_secs(5));
    remove_bench_streams(&state.nats_url).await?;
    Ok(())
}

/// Bytes and messages each stream and bucket of the bench's installation holds per command run.
async fn storage_per_command(nats_url: &str, prefix: &str) -> anyhow::Result<Value> {
    use kubently_devtools::storage_report;
    let js = async_nats::jetstream::new(connect(nats_url).await?);
    let names = Names::with_prefix(prefix)?;
    let uses = storage_report::read(&js, &names).await?;
    let commands = storage_report::commands(&uses, &names);
    say(&format!("storage per command:\n{}", storage_report::table(&uses, commands)));
    Ok(json!({"storage": storage_report::json(&uses, commands)}))
}

/// A result's JSON around its output (status, ids, timings, meta), for the floor's answer size.
const RESULT_ENVELOPE_BYTES: usize = 400;

/// The size of the command message the gateway publishes for `request`.
fn command_bytes(request: &kubently_shared::policy::KubectlRequest, prefix: &str) -> anyhow::Result<usize> {
    let command = kubently_shared::protocol::Command::new(
        CLUSTER,
        request.clone(),
        kubently_shared::protocol::Caller::service(SERVICE),
        format!("{prefix}.reply.{CLUSTER}.0123456789ab.{}", uuid::Uuid::now_v7()),
        time::OffsetDateTime::now_utc(),
        Duration::from_secs(10),
    );
    Ok(kubently_shared::protocol::encode(&command)?.len())
}

/// `gateway 0.41 ms, executor 0.37 ms, …, total 1.02 ms`.
fn cpu_line(cpu: &[(String, f64)]) -> String {
    let total: f64 = cpu.iter().map(|(_, v)| v).sum();
    let parts: Vec<String> = cpu.iter().map(|(p, v)| format!("{p} {v:.3} ms")).collect();
    format!("{}, total {total:.3} ms", parts.join(", "))
}

/// Events a throughput run pushes through one subscription.
const WEBHOOK_BURST: usize = 5000;

/// (e): completion → receipt latency over `samples` commands, then a burst of events published
/// straight to the events stream, against plain POSTs to the same receiver.
async fn webhooks(
    http: &reqwest::Client,
    url: &str,
    nats_url: &str,
    prefix: &str,
    samples: usize,
) -> anyhow::Result<Value> {
    use kubently_shared::protocol::{Event, EventType};
    use kubently_tests::webhook_receiver::Receiver;

    let receiver = Receiver::start().await;
    let resp = http
        .post(format!("{url}/webhooks/subscriptions"))
        .header("X-API-Key", KEY)
        .json(&json!({"url": receiver.url("/bench"), "events": ["command.completed"], "clusters": [CLUSTER]}))
        .send()
        .await?;
    anyhow::ensure!(
        resp.status() == 201,
        "subscribing failed: HTTP {}: {}",
        resp.status(),
        resp.text().await?
    );

    // Latency: one command at a time, each waited for at the receiver.
    let body = execute_body(&CASES[1]);
    let mut latency = Vec::with_capacity(samples);
    for i in 0..samples {
        call(http, url, &body).await?;
        let got = receiver.wait_for(Duration::from_secs(10), "the command's webhook", |r| r.len() > i).await;
        let r = &got[i];
        let sent = time::OffsetDateTime::parse(
            r.json()["timestamp"].as_str().unwrap_or_default(),
            &time::format_description::well_known::Rfc3339,
        )?;
        latency.push(Duration::try_from(r.wall - sent).unwrap_or_default());
    }
    let lat = Stats::of(&mut latency);
    say(&format!("webhooks: command completion → receipt {lat}"));

    // Throughput: a burst published straight to the events stream.
    let js = async_nats::jetstream::new(connect(nats_url).await?);
    let names = kubently_shared::names::Names::with_prefix(prefix)?;
    let before = receiver.received().len();
    let started = Instant::now();
    let mut acks = Vec::with_capacity(WEBHOOK_BURST);
    for i in 0..WEBHOOK_BURST {
        let event = Event::new(
            EventType::CommandCompleted,
            CLUSTER,
            json!({"command_id": format!("burst-{i}"), "status": "success"}),
            time::OffsetDateTime::now_utc(),
        )
        .by(SERVICE);
        acks.push(
            js.publish(
                names.event_subject(event.event_type.as_str(), CLUSTER),
                kubently_shared::protocol::encode(&event)?,
            )
            .await?,
        );
    }
    for ack in acks {
        ack.await?;
    }
    receiver.wait_for(Duration::from_secs(300), "the burst", |r| r.len() >= before + WEBHOOK_BURST).await;
    let rate = WEBHOOK_BURST as f64 / started.elapsed().as_secs_f64();
    say(&format!("webhooks: {WEBHOOK_BURST} events delivered to one subscription at {rate:.0} events/s"));

    // Floor: the same receiver taking the same number of POSTs directly (8 at a time, like a subscription).
    let payload = receiver.received()[before].body.clone();
    let started = Instant::now();
    let target = receiver.url("/floor");
    let mut floor = futures::stream::iter(0..WEBHOOK_BURST)
        .map(|_| {
            let (http, target, payload) = (http.clone(), target.clone(), payload.clone());
            async move {
                let t = Instant::now();
                http.post(target)
                    .header("content-type", "application/json")
                    .body(payload)
                    .send()
                    .await
                    .map(|_| t.elapsed())
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let floor_rate = WEBHOOK_BURST as f64 / started.elapsed().as_secs_f64();
    let f = Stats::of(&mut floor);
    say(&format!(
        "webhooks: floor (plain POSTs from the bench, 8 at a time) {floor_rate:.0} requests/s, {f}"
    ));
    Ok(
        json!({"webhooks": {"completion_to_receipt": lat.json(), "events_per_second": rate, "burst": WEBHOOK_BURST,
        "floor_requests_per_second": floor_rate, "floor_post": f.json()}}),
    )
}

/// Deletes every stream and bucket of bench runs (this one and any interrupted earlier one), so
/// runs do not pile hundreds of thousands of audit records and results into the dev NATS store.
async fn remove_bench_streams(nats_url: &str) -> anyhow::Result<()> {
    let js = async_nats::jetstream::new(connect(nats_url).await?);
    let is_bench = |name: &str| {
        let name = name.strip_prefix("KV_").unwrap_or(name);
        name.len() > 10
            && name.starts_with('B')
            && name.as_bytes()[9] == b'_'
            && name[1..9].bytes().all(|b| b.is_ascii_hexdigit())
    };
    let mut names = js.stream_names();
    let mut doomed = Vec::new();
    while let Some(name) = futures::StreamExt::next(&mut names).await {
        let name = name?;
        if is_bench(&name) {
            doomed.push(name);
        }
    }
    for name in &doomed {
        js.delete_stream(name).await?;
    }
    say(&format!("removed {} bench streams and buckets from the dev NATS", doomed.len()));
    Ok(())
}

fn execute_body(case: &Case) -> Value {
    json!({"cluster_id": CLUSTER, "command_type": case.command_type, "args": case.args, "namespace": case.namespace})
}

/// One command through the gateway; anything but HTTP 200 + `success` is an error.
async fn call(http: &reqwest::Client, url: &str, body: &Value) -> anyhow::Result<()> {
    let resp = http.post(format!("{url}/debug/execute")).header("X-API-Key", KEY).json(body).send().await?;
    let status = resp.status();
    let v: Value = resp.json().await?;
    if !status.is_success() || v["status"] != "success" {
        bail!("HTTP {status}: {v}");
    }
    Ok(())
}

async fn cluster_detail(http: &reqwest::Client, url: &str) -> anyhow::Result<Value> {
    Ok(http
        .get(format!("{url}/debug/clusters/{CLUSTER}"))
        .header("X-API-Key", KEY)
        .send()
        .await?
        .json()
        .await?)
}

/// Waits until the executor reports `mode` (the bench gateway marks clusters active for 2 s).
async fn wait_for_mode(http: &reqwest::Client, url: &str, mode: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while cluster_detail(http, url).await?["mode"] != mode {
        anyhow::ensure!(Instant::now() < deadline, "executor never reported {mode} mode");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let the executor settle into its slow long-poll.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(())
}

async fn throughput(
    http: &reqwest::Client,
    url: &str,
    body: &Value,
    concurrency: usize,
    duration: Duration,
) -> (Vec<Duration>, usize, f64) {
    let until = Instant::now() + duration;
    let started = Instant::now();
    let body = Arc::new(body.clone());
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, url, body) = (http.clone(), url.to_string(), body.clone());
            tokio::spawn(async move {
                let (mut lat, mut errors) = (Vec::new(), 0usize);
                while Instant::now() < until {
                    let t = Instant::now();
                    match call(&http, &url, &body).await {
                        Ok(()) => lat.push(t.elapsed()),
                        Err(_) => errors += 1,
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        if let Ok((lat, e)) = t.await {
            all.extend(lat);
            errors += e;
        }
    }
    let rate = all.len() as f64 / started.elapsed().as_secs_f64();
    (all, errors, rate)
}

#[derive(Clone, Copy)]
struct Stats {
    n: usize,
    p50: Duration,
    p95: Duration,
    p99: Duration,
}

impl Stats {
    fn of(samples: &mut [Duration]) -> Self {
        samples.sort();
        let pick = |q: f64| {
            samples
                .get(((samples.len() as f64 * q) as usize).min(samples.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        Self { n: samples.len(), p50: pick(0.50), p95: pick(0.95), p99: pick(0.99) }
    }

    fn json(&self) -> Value {
        json!({"n": self.n, "p50_ms": ms(self.p50), "p95_ms": ms(self.p95), "p99_ms": ms(self.p99)})
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:.3} ms, p95 {:.3} ms, p99 {:.3} ms (n={})",
            ms(self.p50),
            ms(self.p95),
            ms(self.p99),
            self.n
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A connection to the dev stack's NATS with the developer credentials and the bus CA.
async fn connect(nats_url: &str) -> anyhow::Result<async_nats::Client> {
    match StackState::load()?.and_then(|s| s.bus_dir) {
        Some(dir) => BusSetup::load(&dir)?.connect_root(nats_url).await,
        None => Ok(async_nats::connect(nats_url).await?),
    }
}

/// The bus settings of the bench's gateway or executor (none on a stack without a bus setup).
fn bus_env(
    state: &StackState,
    settings: impl FnOnce(&BusSetup) -> anyhow::Result<Vec<(&'static str, String)>>,
) -> anyhow::Result<Vec<(&'static str, String)>> {
    match &state.bus_dir {
        Some(dir) => settings(&BusSetup::load(dir)?),
        None => Ok(Vec::new()),
    }
}

/// (current, peak) resident set size in KiB.
fn rss_kib(pid: i32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn start_gateway(
    state: &StackState,
    prefix: &str,
    dir: &Path,
    settings: &[(String, String)],
) -> anyhow::Result<(Daemon, String)> {
    let port = free_port();
    let mut cmd = Process::new(paths::sibling_bin("kubently-gateway"));
    cmd.env("KUBENTLY__SERVER__PORT", port.to_string())
        .env("KUBENTLY__NATS__URL", &state.nats_url)
        .env("KUBENTLY__NATS__PREFIX", prefix)
        .env("KUBENTLY__AUTH__API_KEYS", format!("{SERVICE}:{KEY}"))
        .env("KUBENTLY__COMMANDS__CLUSTER_ACTIVE_TTL_SECONDS", "2")
        .env("KUBENTLY__WEBHOOKS__ALLOW_LOOPBACK", "true")
        .envs(bus_env(state, |b| b.gateway_env(&Names::with_prefix(prefix)?))?)
        .envs(settings.iter().cloned())
        .env("RUST_LOG", "warn");
    let gateway = Daemon::spawn(
        "kubently-gateway (bench)",
        cmd,
        &dir.join("gateway.log"),
        Lifetime::TiedToTestProcess,
    )?;
    wait_until("bench gateway", Duration::from_secs(20), Some(&gateway), || async move {
        Ok(http_get(port, "/readyz").await?.0 == 200)
    })
    .await?;
    Ok((gateway, format!("http://127.0.0.1:{port}")))
}

fn start_executor(state: &StackState, nats_url: &str, prefix: &str, dir: &Path) -> anyhow::Result<Daemon> {
    let mut cmd = Process::new(paths::sibling_bin("kubently-executor"));
    cmd.env("KUBENTLY__NATS__URL", nats_url)
        .env("KUBENTLY__NATS__PREFIX", prefix)
        .env("KUBENTLY__EXECUTOR__CLUSTER_ID", CLUSTER)
        .env("KUBENTLY__EXECUTOR__CONCURRENCY", "64")
        .env("KUBENTLY__EXECUTOR__HEARTBEAT_SECONDS", "1")
        .env("KUBENTLY__EXECUTOR__HEALTH_PORT", "0")
        // The dev stack's admin credential: a lab identity the privilege check would refuse.
        .env("KUBENTLY__EXECUTOR__ALLOW_WRITE_IDENTITY", "true")
        .env("KUBENTLY__KUBE__KUBECONFIG", &state.kubeconfig)
        .envs(bus_env(state, |b| b.executor_env(&Names::with_prefix(prefix)?, CLUSTER))?)
        .env("RUST_LOG", "warn");
    Daemon::spawn("kubently-executor (bench)", cmd, &dir.join("executor.log"), Lifetime::TiedToTestProcess)
}
