//! `./dev bench fleet --clusters 10,100,1000`: how the cost of one hub grows with the number of
//! clusters. For each N it starts a fresh hub ([`hub`]: nats-server in operator mode with TLS, and
//! one release gateway process) and N simulated executors in this process ([`sim`]: each a real
//! NATS client with its own cluster's credentials doing what an executor does on the bus), then
//! measures:
//!
//! * the time until the gateway sees all N connected (from the first connection attempt);
//! * with every cluster idle (slow mode), for `--idle-secs`: messages/s through nats-server, and
//!   CPU of the gateway, nats-server and the simulator process;
//! * JetStream consumers and KV keys;
//! * `version` latency (p50/p99) to the first and the last cluster, interleaved;
//! * fan-out to every cluster: one `POST /debug/execute/fanout` with `"cluster_ids": "*"` (the time
//!   until its answer, and the CPU the gateway and nats-server spent per cluster's command);
//! * gateway and nats-server RSS after all of it.
//!
//! Then the leaf-node hop ([`leaf_hop`]): two clusters on one hub, one connected directly and one
//! through a leaf node, `version` latency of each, interleaved.

pub mod hub;
pub mod probe;
pub mod sim;

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use kubently_tests::leaf::LeafNode;
use kubently_tests::paths;
use serde_json::{Value, json};

use self::hub::{Hub, KEY};
use self::probe::{ProcSample, Stats, cpu_percent, ms, proc_sample};
use self::sim::{SimConfig, SimExecutor, canned_kube};

/// The idle-cost anchor: one slow-mode poll per cluster every this long (the executor's default).
const SLOW_POLL: Duration = Duration::from_secs(15);

#[derive(Debug, Clone)]
pub struct FleetOpts {
    pub clusters: Vec<usize>,
    pub idle: Duration,
    pub samples: usize,
    pub fanout_rounds: usize,
    pub leaf_samples: usize,
    /// Simulated executors connecting at once.
    pub connect_concurrency: usize,
}

impl Default for FleetOpts {
    fn default() -> Self {
        Self {
            clusters: vec![10, 100, 1000],
            idle: Duration::from_secs(30),
            samples: 200,
            fanout_rounds: 3,
            leaf_samples: 300,
            connect_concurrency: 50,
        }
    }
}

const USAGE: &str = "usage: kubently-bench fleet [--clusters 10,100,1000] [--idle-secs 30] [--samples 200] \
                     [--fanout-rounds 3] [--leaf-samples 300] [--connect-concurrency 50]";

impl FleetOpts {
    pub fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut o = Self::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let v = it.next().with_context(|| format!("{a} takes a value\n{USAGE}"))?;
            let number =
                |what: &str| v.parse::<usize>().with_context(|| format!("{what} {v:?}: not a number"));
            match a.as_str() {
                "--clusters" => {
                    o.clusters = v
                        .split(',')
                        .map(|n| n.trim().parse::<usize>().with_context(|| format!("--clusters: {n:?}")))
                        .collect::<anyhow::Result<_>>()?;
                    if o.clusters.contains(&0) {
                        bail!("--clusters: every count must be at least 1");
                    }
                }
                "--idle-secs" => o.idle = Duration::from_secs(number("--idle-secs")? as u64),
                "--samples" => o.samples = number("--samples")?.max(1),
                "--fanout-rounds" => o.fanout_rounds = number("--fanout-rounds")?.max(1),
                "--leaf-samples" => o.leaf_samples = number("--leaf-samples")?,
                "--connect-concurrency" => o.connect_concurrency = number("--connect-concurrency")?.max(1),
                other => bail!("unknown option {other}\n{USAGE}"),
            }
        }
        Ok(o)
    }
}

fn say(msg: &str) {
    println!("[fleet] {msg}");
}

/// One row of the fleet table.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub clusters: usize,
    pub all_connected: Duration,
    pub consumers: u64,
    pub kv_keys: u64,
    pub idle_msgs_per_sec: f64,
    pub idle_cpu_gateway: f64,
    pub idle_cpu_nats: f64,
    pub idle_cpu_sim: f64,
    pub first: Stats,
    pub last: Stats,
    /// Fan-out rounds: time until the answer for all N.
    pub fanout: Vec<Duration>,
    /// Rounds whose answer was not a success from every cluster.
    pub fanout_errors: usize,
    /// CPU ms per command during the fan-out rounds.
    pub fanout_cpu_ms_gateway: f64,
    pub fanout_cpu_ms_nats: f64,
    pub rss_gateway: ProcSample,
    pub rss_nats: ProcSample,
    pub rss_sim: ProcSample,
    /// What the bus holds at the end, per stream, and the commands run.
    pub storage: Vec<crate::storage_report::StreamUse>,
    pub commands: u64,
}

impl Row {
    fn fanout_median(&self) -> Duration {
        let mut f = self.fanout.clone();
        f.sort();
        f.get(f.len() / 2).copied().unwrap_or_default()
    }

    fn json(&self) -> Value {
        json!({
            "clusters": self.clusters,
            "all_connected_s": self.all_connected.as_secs_f64(),
            "jetstream_consumers": self.consumers,
            "kv_keys": self.kv_keys,
            "idle": {"messages_per_second": self.idle_msgs_per_sec, "slow_poll_anchor_per_second": self.clusters as f64 / SLOW_POLL.as_secs_f64(),
                "cpu_percent": {"gateway": self.idle_cpu_gateway, "nats_server": self.idle_cpu_nats, "simulator": self.idle_cpu_sim}},
            "latency_first_cluster": self.first.json(),
            "latency_last_cluster": self.last.json(),
            "fanout": {"rounds_ms": self.fanout.iter().map(|d| ms(*d)).collect::<Vec<_>>(), "median_ms": ms(self.fanout_median()),
                "errors": self.fanout_errors,
                "cpu_ms_per_command": {"gateway": self.fanout_cpu_ms_gateway, "nats_server": self.fanout_cpu_ms_nats}},
            "rss_mib": {"gateway": self.rss_gateway.rss_kib / 1024, "nats_server": self.rss_nats.rss_kib / 1024, "simulator": self.rss_sim.rss_kib / 1024},
            "storage": crate::storage_report::json(&self.storage, self.commands),
        })
    }
}

/// The fleet table (markdown, as the README shows it).
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| clusters | all connected | gateway RSS / idle CPU | nats-server RSS / idle CPU | JS consumers | KV keys | idle msgs/s (anchor N/15 s) | `version` first cluster p50 / p99 | last cluster p50 / p99 | `\"*\"` fan-out, median of rounds | CPU ms per cluster in fan-out (gateway + nats) |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {:.1} s | {} MiB / {:.1} % | {} MiB / {:.1} % | {} | {} | {:.0} ({:.1}) | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {:.0} ms{} | {:.2} + {:.2} |\n",
            r.clusters,
            r.all_connected.as_secs_f64(),
            r.rss_gateway.rss_kib / 1024,
            r.idle_cpu_gateway,
            r.rss_nats.rss_kib / 1024,
            r.idle_cpu_nats,
            r.consumers,
            r.kv_keys,
            r.idle_msgs_per_sec,
            r.clusters as f64 / SLOW_POLL.as_secs_f64(),
            ms(r.first.p50),
            ms(r.first.p99),
            ms(r.last.p50),
            ms(r.last.p99),
            ms(r.fanout_median()),
            if r.fanout_errors > 0 { format!(", {} errors", r.fanout_errors) } else { String::new() },
            r.fanout_cpu_ms_gateway,
            r.fanout_cpu_ms_nats,
        ));
    }
    out
}

/// Runs the fleet bench with `args` (after `fleet`).
pub async fn run(args: &[String]) -> anyhow::Result<()> {
    let opts = FleetOpts::parse(args)?;
    // The simulated executors log like executors when asked (RUST_LOG=info, to stderr); the
    // gateway's log level is KUBENTLY_FLEET_GATEWAY_LOG (warn).
    if std::env::var_os("RUST_LOG").is_some() {
        kubently_shared::telemetry::init(&kubently_shared::config::LogSettings::default())?;
    }
    paths::require(&paths::nats_server_bin(), "nats-server")?;
    paths::require(&paths::sibling_bin("kubently-gateway"), "kubently-gateway (cargo build --release)")?;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    say(&format!("load average before: {}", load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")));
    let base = tempfile::Builder::new().prefix("kubently-fleet-").tempdir()?;
    let http =
        reqwest::Client::builder().pool_max_idle_per_host(2048).timeout(Duration::from_secs(60)).build()?;
    let mut rows = Vec::new();
    for &n in &opts.clusters {
        let row = fleet(n, &opts, &base.path().join(format!("n{n}")), &http).await?;
        say(&format!("N={n}: {}", row.json()));
        rows.push(row);
    }
    let leaf = if opts.leaf_samples > 0 {
        Some(leaf_hop(&opts, &base.path().join("leaf"), &http).await?)
    } else {
        None
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("\n{}", table(&rows));
    if let Some(last) = rows.last() {
        println!(
            "what the bus holds per `version` command (N={}):\n{}",
            last.clusters,
            crate::storage_report::table(&last.storage, last.commands)
        );
    }
    if let Some((direct, via_leaf)) = &leaf {
        println!(
            "leaf-node hop: `version` direct {direct}; through a leaf node {via_leaf}; the hop adds {:.2} ms at p50, {:.2} ms at p99\n",
            ms(via_leaf.p50) - ms(direct.p50),
            ms(via_leaf.p99) - ms(direct.p99)
        );
    }
    say(&format!("load average after: {}", load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")));
    let report = json!({
        "fleet": rows.iter().map(Row::json).collect::<Vec<_>>(),
        "leaf_hop": leaf.map(|(d, l)| json!({"direct": d.json(), "via_leaf": l.json(),
            "added_p50_ms": ms(l.p50) - ms(d.p50), "added_p99_ms": ms(l.p99) - ms(d.p99)})),
    });
    let out = paths::cache_dir().join("fleet-report.json");
    std::fs::create_dir_all(paths::cache_dir())?;
    std::fs::write(&out, serde_json::to_string_pretty(&report)?)?;
    say(&format!("report written to {}", out.display()));
    Ok(())
}

fn sim_config(hub: &Hub, nats_url: &str) -> anyhow::Result<SimConfig> {
    Ok(SimConfig {
        nats_url: nats_url.to_string(),
        tls_ca: hub.bus.tls.ca_cert.clone(),
        trusted_key: hub.bus.public_key()?,
        heartbeat: Duration::from_secs(5),
        slow_fetch: SLOW_POLL,
        fast_fetch: Duration::from_secs(1),
        concurrency: 4,
        kube: canned_kube(),
    })
}

/// `version` on `cluster` through the gateway; its latency, or why it failed.
async fn version(http: &reqwest::Client, url: &str, cluster: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let resp = http
        .post(format!("{url}/debug/execute"))
        .header("X-API-Key", KEY)
        .json(&json!({"cluster_id": cluster, "command_type": "version", "args": [], "timeout_seconds": 30}))
        .send()
        .await?;
    let status = resp.status();
    let body: Value = resp.json().await?;
    if !status.is_success() || body["status"] != "success" {
        bail!("{cluster}: HTTP {status}: {body}");
    }
    anyhow::ensure!(
        body["output"].as_str().unwrap_or_default().contains(sim::CANNED_VERSION),
        "{cluster}: not the simulated executor's answer: {body}"
    );
    Ok(started.elapsed())
}

/// `version` on every cluster (`"*"`) in one fan-out request, which must find all `n` connected and
/// succeed on each with the same answer.
async fn fanout_all(http: &reqwest::Client, url: &str, n: usize) -> anyhow::Result<()> {
    let resp = http
        .post(format!("{url}/debug/execute/fanout"))
        .header("X-API-Key", KEY)
        .json(&json!({"cluster_ids": "*", "command_type": "version", "args": [], "timeout_seconds": 30}))
        .send()
        .await?;
    let status = resp.status();
    let body: Value = resp.json().await?;
    anyhow::ensure!(status.is_success(), "HTTP {status}: {body}");
    let succeeded = body["counts"]["success"].as_u64().unwrap_or(0);
    anyhow::ensure!(
        succeeded == n as u64 && body["groups"].as_array().map_or(0, Vec::len) == 1,
        "{succeeded} of {n} clusters succeeded: counts {}, skipped {}",
        body["counts"],
        body["skipped"]
    );
    Ok(())
}

/// The gateway's `kubently_connected_executors`.
async fn connected(http: &reqwest::Client, url: &str) -> anyhow::Result<usize> {
    let text = http.get(format!("{url}/metrics")).header("X-API-Key", KEY).send().await?.text().await?;
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix("kubently_connected_executors "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0))
}

async fn wait_connected(http: &reqwest::Client, url: &str, n: usize, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    loop {
        let seen = connected(http, url).await?;
        if seen >= n {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {seen} of {n} executors connected within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Keys in every KV bucket (`KV_*` streams, history 1: one message per key).
async fn kv_keys(hub: &Hub) -> anyhow::Result<u64> {
    let js = async_nats::jetstream::new(hub.bus.connect_root(&hub.nats.url).await?);
    let names: Vec<String> = js.stream_names().try_collect().await?;
    let mut keys = 0;
    for name in names.iter().filter(|n| n.starts_with("KV_")) {
        keys += js.get_stream(name).await?.cached_info().state.messages;
    }
    Ok(keys)
}

async fn fleet(
    n: usize,
    opts: &FleetOpts,
    dir: &std::path::Path,
    http: &reqwest::Client,
) -> anyhow::Result<Row> {
    say(&format!("N={n}: starting a hub (nats-server + gateway) in {}", dir.display()));
    let hub = Hub::start(dir).await?;
    let config = sim_config(&hub, &hub.nats.url)?;
    let clusters: Vec<String> = (0..n).map(|i| format!("fleet-{i:04}")).collect();
    let creds = clusters.iter().map(|c| hub.executor_creds(c)).collect::<anyhow::Result<Vec<_>>>()?;
    let me = std::process::id();

    let t0 = Instant::now();
    let sims: Vec<SimExecutor> = futures::stream::iter(clusters.iter().zip(creds))
        .map(|(cluster, creds)| {
            let config = config.clone();
            async move {
                SimExecutor::start(&config, cluster, creds)
                    .await
                    .with_context(|| format!("executor of {cluster}"))
            }
        })
        .buffer_unordered(opts.connect_concurrency)
        .try_collect()
        .await?;
    let bound = t0.elapsed();
    wait_connected(http, &hub.gateway_url, n, Duration::from_secs(600)).await?;
    let all_connected = t0.elapsed();
    say(&format!(
        "N={n}: every executor bound its consumer after {bound:.1?}; all connected after {all_connected:.1?}"
    ));

    // Idle: every cluster in slow mode (nobody ran a command yet).
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (g0, n0, s0) = (proc_sample(hub.gateway_pid()), proc_sample(hub.nats_pid()), proc_sample(me));
    let (in0, out0) = probe::message_counts(hub.nats.monitor_port).await?;
    let started = Instant::now();
    tokio::time::sleep(opts.idle).await;
    let (in1, out1) = probe::message_counts(hub.nats.monitor_port).await?;
    let elapsed = started.elapsed();
    let (g1, n1, s1) = (proc_sample(hub.gateway_pid()), proc_sample(hub.nats_pid()), proc_sample(me));
    let (_, consumers, _, _) = probe::jetstream_totals(hub.nats.monitor_port).await?;
    let mut row = Row {
        clusters: n,
        all_connected,
        consumers,
        kv_keys: kv_keys(&hub).await?,
        idle_msgs_per_sec: ((in1 - in0) + (out1 - out0)) as f64 / elapsed.as_secs_f64(),
        idle_cpu_gateway: cpu_percent(g0, g1, elapsed),
        idle_cpu_nats: cpu_percent(n0, n1, elapsed),
        idle_cpu_sim: cpu_percent(s0, s1, elapsed),
        ..Row::default()
    };
    say(&format!(
        "N={n}: idle {:.0} msgs/s through nats-server (anchor: {:.1} slow polls/s); CPU gateway {:.1} %, nats-server {:.1} %, simulator {:.1} %",
        row.idle_msgs_per_sec,
        n as f64 / SLOW_POLL.as_secs_f64(),
        row.idle_cpu_gateway,
        row.idle_cpu_nats,
        row.idle_cpu_sim
    ));

    // Latency to the first and the last cluster, interleaved (a few warm-ups each first).
    let (first, last) = (&clusters[0], &clusters[n - 1]);
    for _ in 0..5 {
        version(http, &hub.gateway_url, first).await?;
        version(http, &hub.gateway_url, last).await?;
    }
    let (mut a, mut b) = (Vec::with_capacity(opts.samples), Vec::with_capacity(opts.samples));
    for _ in 0..opts.samples {
        a.push(version(http, &hub.gateway_url, first).await?);
        b.push(version(http, &hub.gateway_url, last).await?);
    }
    row.first = Stats::of(&mut a);
    row.last = Stats::of(&mut b);
    say(&format!("N={n}: first cluster {}; last cluster {}", row.first, row.last));

    // Fan-out: one request naming every cluster ("*"); the gateway's default fan-out settings
    // (at most 64 commands in flight).
    let (g0, n0) = (proc_sample(hub.gateway_pid()), proc_sample(hub.nats_pid()));
    for round in 0..opts.fanout_rounds {
        let started = Instant::now();
        let answer = fanout_all(http, &hub.gateway_url, n).await;
        let wall = started.elapsed();
        if let Err(e) = answer {
            if row.fanout_errors == 0 {
                say(&format!("N={n}: fan-out error (first shown): {e:#}"));
            }
            row.fanout_errors += 1;
        }
        say(&format!("N={n}: fan-out round {}: \"*\" over {n} clusters answered in {wall:.1?}", round + 1));
        row.fanout.push(wall);
    }
    let (g1, n1) = (proc_sample(hub.gateway_pid()), proc_sample(hub.nats_pid()));
    let commands = (n * opts.fanout_rounds) as f64;
    row.fanout_cpu_ms_gateway = ms(g1.cpu.saturating_sub(g0.cpu)) / commands;
    row.fanout_cpu_ms_nats = ms(n1.cpu.saturating_sub(n0.cpu)) / commands;
    row.rss_gateway = proc_sample(hub.gateway_pid());
    row.rss_nats = proc_sample(hub.nats_pid());
    row.rss_sim = proc_sample(me);
    let js = async_nats::jetstream::new(hub.bus.connect_root(&hub.nats.url).await?);
    row.storage = crate::storage_report::read(&js, &hub.names).await?;
    row.commands = crate::storage_report::commands(&row.storage, &hub.names);
    drop(sims);
    hub.stop();
    Ok(row)
}

/// The leaf-node hop: `version` to a cluster connected directly and to one connected through a
/// leaf node, on one hub, interleaved. Returns (direct, via the leaf).
async fn leaf_hop(
    opts: &FleetOpts,
    dir: &std::path::Path,
    http: &reqwest::Client,
) -> anyhow::Result<(Stats, Stats)> {
    say("leaf hop: a hub, one cluster connected directly, one through a leaf node");
    let hub = Hub::start(dir).await?;
    let files = hub.bus.leaf_files(
        &dir.join("leaf-files"),
        &hub.names,
        "edge-leaf",
        std::slice::from_ref(&hub.leafnode_url),
    )?;
    let leaf = LeafNode::start(&dir.join("leaf"), &files.auth_config).await?;
    let direct = SimExecutor::start(
        &sim_config(&hub, &hub.nats.url)?,
        "edge-direct",
        hub.executor_creds("edge-direct")?,
    )
    .await?;
    let via_leaf =
        SimExecutor::start(&sim_config(&hub, &leaf.url)?, "edge-leaf", hub.executor_creds("edge-leaf")?)
            .await?;
    wait_connected(http, &hub.gateway_url, 2, Duration::from_secs(60)).await?;
    for _ in 0..20 {
        version(http, &hub.gateway_url, "edge-direct").await?;
        version(http, &hub.gateway_url, "edge-leaf").await?;
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..opts.leaf_samples {
        a.push(version(http, &hub.gateway_url, "edge-direct").await?);
        b.push(version(http, &hub.gateway_url, "edge-leaf").await?);
    }
    let (a, b) = (Stats::of(&mut a), Stats::of(&mut b));
    say(&format!("leaf hop: direct {a}; through the leaf {b}"));
    drop((direct, via_leaf));
    drop(leaf);
    hub.stop();
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_and_refuse_nonsense() {
        let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let o = FleetOpts::parse(&args("--clusters 10,100 --idle-secs 20 --samples 50")).expect("valid");
        assert_eq!((o.clusters, o.idle, o.samples), (vec![10, 100], Duration::from_secs(20), 50));
        assert!(FleetOpts::parse(&args("--clusters 0")).is_err());
        assert!(FleetOpts::parse(&args("--clusters ten")).is_err());
        assert!(FleetOpts::parse(&args("--clusters")).is_err());
        assert!(FleetOpts::parse(&args("--bogus 1")).is_err());
    }

    #[test]
    fn the_table_has_a_row_per_fleet_size() {
        let row = Row { clusters: 10, fanout: vec![Duration::from_millis(30)], ..Row::default() };
        let t = table(&[row]);
        assert_eq!(t.lines().count(), 3, "{t}");
        assert!(t.lines().nth(2).expect("row").starts_with("| 10 | "), "{t}");
    }
}
