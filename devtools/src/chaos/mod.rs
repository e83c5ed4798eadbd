//! `./dev chaos`: the fault-injection suite. On a 3-node JetStream cluster (`nats/cluster/`) and
//! the dev stack's Kubernetes cluster, each scenario starts two gateways and two executors
//! ([`deployment`]), drives bounded mixed load at them ([`load`]), injects one fault and heals
//! it, waits until every command has had its chance to end, and measures what came of every
//! request ([`measure`]): accepted, success, explicit failure/timeout, lost, executed twice,
//! false results, dropped callbacks, 5xx, recovery time. It prints the table ([`report`]) and
//! fails if a target is missed (0 lost, 0 executed twice, 0 false results, 0 dropped callbacks,
//! 0 5xx, in every scenario).
//!
//! Timeline of a scenario: load from 0 s to [`LOAD`], the fault at [`FAULT_AT`], healed as the
//! scenario says; then the drain: until every accepted command has a final result, every
//! callback arrived and every deadline passed (at most [`DRAIN_CAP`] past the last deadline).

pub mod cut_proxy;
pub mod deployment;
pub mod load;
pub mod measure;
pub mod report;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use kubently_admin::cli::Setup as BusSetup;
use kubently_shared::config::NatsSettings;
use kubently_shared::names::Names;
use kubently_shared::protocol::{self, CommandResult, Event};
use kubently_shared::results;
use kubently_tests::nats_server::NatsCluster;
use kubently_tests::process::{http_get, wait_until};
use kubently_tests::webhook_receiver::{self, Receiver};
use time::OffsetDateTime;
use uuid::Uuid;

use cut_proxy::CutProxy;
use deployment::{API_KEY, Deployment};
use load::{Kind, Load, Outcome, Plan, Request};
use measure::{Callback, Evidence, ExecutorLogs, FaultLog, Page, Row, Stored};

/// When the fault is injected.
pub const FAULT_AT: Duration = Duration::from_secs(10);
/// How long the load runs.
pub const LOAD: Duration = Duration::from_secs(45);
/// Commands per second (over both gateways).
pub const RATE: f64 = 4.0;
/// The longest the drain waits past the last deadline: the callbacks consumer's ack wait (50 s:
/// a follow-up held by a killed gateway comes back after it) plus the first callback retry (5 s)
/// plus margin.
pub const DRAIN_CAP: Duration = Duration::from_secs(90);
/// The callbacks work queue's ack wait with the default `webhooks.timeout_seconds` (10 s × 2 +
/// 3 × 10 s): a follow-up job taken by a killed gateway is redelivered after it.
const FOLLOW_UP_ACK_WAIT: f64 = 50.0;
/// `X-Request-Timeout` of the long commands (`logs -f`) in most scenarios.
const LONG_TIMEOUT: u64 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `kill -9` of one executor; restarted (new id) 5 s later.
    ExecutorKill,
    /// SIGSTOP of one executor for [`PAUSE`] (longer than the ack wait and than its presence
    /// TTL), then SIGCONT; long commands have 60 s timeouts.
    ExecutorPause,
    /// `kill -9` of one executor the moment its answer (the final result it stores, which the
    /// gateway takes as the reply) reaches NATS: it did not ack or emit; restarted 5 s later.
    KillAfterReply,
    /// `kill -9` of one gateway with requests in flight; restarted on its port 5 s later.
    GatewayKill,
    /// `kill -9` of the nats-server leading the commands stream; restarted 15 s later.
    LeaderKill,
    /// `kill -9` of both executors; both restarted after [`ALL_DOWN`].
    ExecutorsDown,
}

const PAUSE: Duration = Duration::from_secs(20);
const ALL_DOWN: Duration = Duration::from_secs(20);

pub struct Scenario {
    /// For `--only`.
    pub key: &'static str,
    pub title: &'static str,
    pub fault: Fault,
    pub long_timeout: u64,
}

pub const SCENARIOS: [Scenario; 6] = [
    Scenario {
        key: "executor-kill",
        title: "executor kill -9",
        fault: Fault::ExecutorKill,
        long_timeout: LONG_TIMEOUT,
    },
    Scenario {
        key: "executor-stop",
        title: "executor SIGSTOP 20 s (ack wait 10 s), 60 s timeouts",
        fault: Fault::ExecutorPause,
        long_timeout: 60,
    },
    Scenario {
        key: "kill-after-reply",
        title: "executor killed right after replying",
        fault: Fault::KillAfterReply,
        long_timeout: LONG_TIMEOUT,
    },
    Scenario {
        key: "gateway-kill",
        title: "gateway kill -9, requests in flight",
        fault: Fault::GatewayKill,
        long_timeout: LONG_TIMEOUT,
    },
    Scenario {
        key: "leader-kill",
        title: "stream-leader NATS node kill -9",
        fault: Fault::LeaderKill,
        long_timeout: LONG_TIMEOUT,
    },
    Scenario {
        key: "executors-down",
        title: "every executor down for 20 s",
        fault: Fault::ExecutorsDown,
        long_timeout: LONG_TIMEOUT,
    },
];

pub struct Options {
    /// Scenario keys to run; all when empty.
    pub only: Vec<String>,
    /// The Kubernetes cluster the executors use (the dev stack's, seeded with the demo scenario).
    pub kubeconfig: PathBuf,
    /// Where logs, stores and the report go.
    pub dir: PathBuf,
}

/// Prints with the time since the run started.
#[derive(Clone, Copy)]
struct Say(Instant);

impl Say {
    fn line(&self, msg: &str) {
        println!("[chaos {:>6.1}s] {msg}", self.0.elapsed().as_secs_f64());
    }
}

struct Ctx {
    say: Say,
    bus: BusSetup,
    nats: NatsCluster,
    js: async_nats::jetstream::Context,
    receiver: Receiver,
    kubeconfig: PathBuf,
    dir: PathBuf,
}

/// Runs the suite; returns the rows (in scenario order).
pub async fn run(opts: Options) -> anyhow::Result<Vec<Row>> {
    let say = Say(Instant::now());
    let selected: Vec<(usize, &Scenario)> = SCENARIOS
        .iter()
        .enumerate()
        .filter(|(_, s)| opts.only.is_empty() || opts.only.iter().any(|k| k == s.key))
        .map(|(i, s)| (i + 1, s))
        .collect();
    anyhow::ensure!(
        !selected.is_empty(),
        "no scenario matches {:?}; scenarios: {}",
        opts.only,
        SCENARIOS.iter().map(|s| s.key).collect::<Vec<_>>().join(", ")
    );
    std::fs::create_dir_all(&opts.dir)?;
    say.line(&format!("logs and report in {}", opts.dir.display()));
    say.line("starting the 3-node JetStream cluster (nats/cluster/node-{1,2,3}.conf)");
    // Authentication and signed commands as everywhere; no TLS: the fault-injection proxies
    // read the NATS protocol to cut connections at exact points.
    let bus = BusSetup::create(&opts.dir.join("bus"), &["127.0.0.1"], &Names::new())?;
    let nats = NatsCluster::start_in(&opts.dir.join("nats"), Some(&bus.nats_config_plain)).await?;
    let monitor = nats.nodes[0].monitor_port;
    wait_until("a JetStream meta leader", Duration::from_secs(60), None, || async move {
        let (_, body) = http_get(monitor, "/jsz").await?;
        let v: serde_json::Value = serde_json::from_str(&body)?;
        Ok(v["meta_cluster"]["leader"].as_str().is_some_and(|l| !l.is_empty()))
    })
    .await?;
    let seeds = nats.seed_list();
    say.line(&format!("NATS cluster up: {seeds}"));
    let client =
        NatsSettings { url: seeds, credentials_file: Some(bus.root_creds()?), ..NatsSettings::default() }
            .connect("kubently-chaos".into())
            .await?;
    let js = async_nats::jetstream::new(client.clone());
    let receiver = Receiver::start().await;
    let mut ctx =
        Ctx { say, bus, nats, js, receiver, kubeconfig: opts.kubeconfig.clone(), dir: opts.dir.clone() };
    let mut rows = Vec::new();
    for (index, scenario) in selected {
        let started = Instant::now();
        say.line(&format!("━━ scenario {index}: {} ━━", scenario.title));
        let row = run_scenario(&mut ctx, index, scenario).await.with_context(|| scenario.title)?;
        say.line(&format!(
            "scenario {index} done in {:.0} s: {}",
            started.elapsed().as_secs_f64(),
            report::summary(&row)
        ));
        rows.push(row);
    }
    Ok(rows)
}

async fn run_scenario(ctx: &mut Ctx, index: usize, scenario: &Scenario) -> anyhow::Result<Row> {
    let say = ctx.say;
    let prefix = format!("chaos{index}x{}", &Uuid::new_v4().simple().to_string()[..6]);
    let dir = ctx.dir.join(format!("{index}-{}", scenario.key));
    let mut proxy = match scenario.fault {
        Fault::KillAfterReply => {
            let upstream = format!("127.0.0.1:{}", ctx.nats.nodes[0].client_port).parse()?;
            // The answer is the stored result (the gateway takes it as the bucket republishes it).
            let results = Names::with_prefix(&prefix)?.results_bucket();
            Some(CutProxy::start(upstream, format!("$KV.{results}.")).await?)
        }
        _ => None,
    };
    let mut deployment = Deployment::start(
        &ctx.bus,
        &ctx.nats.seed_list(),
        &ctx.kubeconfig,
        &dir,
        &prefix,
        proxy.as_ref().map(|p| p.url.as_str()),
    )
    .await?;
    say.line(&format!(
        "2 gateways ({}), 2 executors ({}), NATS prefix {prefix}, ack wait {} s",
        deployment.urls().join(", "),
        deployment.executors.iter().map(|e| e.id()).collect::<Vec<_>>().join(", "),
        deployment::ACK_WAIT_SECONDS
    ));
    let start = Instant::now();
    let started_wall = OffsetDateTime::now_utc();
    let load = Load::new(start, deployment.urls())?;
    let plan = Plan {
        duration: LOAD,
        rate_per_second: RATE,
        long_timeout: scenario.long_timeout,
        callback_base: ctx.receiver.url(&format!("/cb/{index}")),
        tag: format!("chaos-{index}"),
    };
    let load_task = tokio::spawn(load.clone().run(plan));
    let progress = tokio::spawn(progress(say, scenario.key, load.clone()));
    let fault = inject(ctx, &mut deployment, scenario.fault, &load, proxy.as_mut()).await;
    let fault = match fault {
        Ok(f) => f,
        Err(e) => {
            progress.abort();
            load_task.abort();
            deployment.stop();
            return Err(e.context("injecting the fault"));
        }
    };
    load_task.await.context("the load task")?;
    let requests = load.snapshot();
    say.line(&format!(
        "{}: load done ({} requests); draining until every command has ended",
        scenario.key,
        requests.len()
    ));
    let stored = drain(ctx, &deployment, &load, &requests, &fault, index).await?;
    progress.abort();

    // The evidence.
    let logs = ExecutorLogs::read(&deployment.executor_logs);
    let callbacks = callbacks_of(&ctx.receiver, index, &requests);
    let mut ids: HashSet<Uuid> = stored.keys().copied().collect();
    for r in &requests {
        if measure::in_flight_on_killed(r, &fault)
            && let Some(id) = measure::traced_command(r, &logs, &callbacks)
        {
            ids.insert(id);
        }
    }
    let (stored, check_5xx) = read_all(ctx, &deployment, &ids).await?;
    let events = match terminal_events(&ctx.js, &deployment.prefix).await {
        Ok(e) => Some(e),
        Err(e) => {
            say.line(&format!("could not read the events stream: {e:#}"));
            None
        }
    };
    let row = measure::measure(&Evidence {
        scenario: scenario.title,
        requests: &requests,
        fault: &fault,
        logs: &logs,
        stored: &stored,
        callbacks: &callbacks,
        events: events.as_ref(),
        started_wall,
        check_5xx,
    });
    deployment.stop();
    match deployment.remove_streams(&ctx.js).await {
        Ok(n) => say.line(&format!("removed the scenario's {n} streams and buckets")),
        Err(e) => say.line(&format!("could not remove the scenario's streams: {e:#}")),
    }
    Ok(row)
}

/// Prints the load's progress every 5 s.
async fn progress(say: Say, key: &'static str, load: Arc<Load>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    tick.tick().await;
    loop {
        tick.tick().await;
        let records = load.snapshot();
        let accepted = records.iter().filter(|r| r.command_id().is_some()).count();
        let ok = records
            .iter()
            .filter(|r| matches!(&r.outcome, Outcome::Answered { status, .. } if status == "success"))
            .count();
        let not_ok = records
            .iter()
            .filter(|r| matches!(&r.outcome, Outcome::Answered { status, .. } if status != "success"))
            .count();
        let errors = records.iter().filter(|r| r.command_id().is_none()).count();
        say.line(&format!(
            "{key}: t={:>4.0}s  sent {}  accepted {accepted}  sync success {ok}  sync failure/timeout {not_ok}  not accepted {errors}  in flight {}",
            load.now(),
            load.submitted.load(Ordering::Relaxed),
            load.in_flight.load(Ordering::Relaxed),
        ));
    }
}

async fn sleep_until(start: Instant, at: Duration) {
    tokio::time::sleep_until((start + at).into()).await;
}

/// Injects the scenario's fault at [`FAULT_AT`] and heals it.
async fn inject(
    ctx: &mut Ctx,
    d: &mut Deployment,
    fault: Fault,
    load: &Arc<Load>,
    proxy: Option<&mut CutProxy>,
) -> anyhow::Result<FaultLog> {
    let say = ctx.say;
    let start = Instant::now() - Duration::from_secs_f64(load.now());
    let mut log = FaultLog::default();
    sleep_until(start, FAULT_AT).await;
    match fault {
        Fault::ExecutorKill => {
            let id = d.executors[0].id();
            d.kill_executor(0);
            log.injected_at = load.now();
            log.note(say, format!("kill -9 of executor {id} at {:.1} s", log.injected_at));
            sleep_until(start, FAULT_AT + Duration::from_secs(5)).await;
            let new = d.restart_executor(0).await?;
            log.healed_at = Some(load.now());
            log.note(say, format!("restarted as {new} at {:.1} s", load.now()));
        }
        Fault::ExecutorPause => {
            let id = d.executors[0].id();
            d.executors[0].daemon.pause();
            log.injected_at = load.now();
            log.note(say, format!("SIGSTOP of executor {id} at {:.1} s", log.injected_at));
            sleep_until(start, FAULT_AT + PAUSE).await;
            d.executors[0].daemon.resume();
            log.healed_at = Some(load.now());
            log.note(say, format!("SIGCONT of {id} at {:.1} s", load.now()));
        }
        Fault::KillAfterReply => {
            let target = d.executors[0].id();
            let proxy =
                proxy.context("the kill-after-reply scenario runs executor a through the cutting proxy")?;
            proxy.arm();
            let subject = tokio::time::timeout(Duration::from_secs(30), proxy.cut())
                .await
                .context("the target executor sent no reply within 30 s")??;
            d.kill_executor(0);
            log.injected_at = load.now();
            let command = subject.rsplit('.').next().and_then(|id| Uuid::parse_str(id).ok());
            log.watched = command;
            log.note(
                say,
                format!(
                    "kill -9 of executor {target} at {:.1} s, right after its reply for command {} reached NATS; nothing it sent after the reply (its ack, its event) did",
                    log.injected_at,
                    command.map_or_else(|| subject.clone(), |c| c.to_string())
                ),
            );
            sleep_until(start, Duration::from_secs_f64(log.injected_at) + Duration::from_secs(5)).await;
            let new = d.restart_executor(0).await?;
            log.healed_at = Some(load.now());
            log.note(say, format!("restarted as {new} at {:.1} s", load.now()));
        }
        Fault::GatewayKill => {
            // With requests waiting on it (long sync commands), for up to 8 s.
            let until = Instant::now() + Duration::from_secs(8);
            while load.in_flight_at[0].load(Ordering::Relaxed) < 2 && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let in_flight = load.in_flight_at[0].load(Ordering::Relaxed);
            d.kill_gateway(0);
            log.injected_at = load.now();
            log.gateway_kills.push((0, log.injected_at));
            log.note(
                say,
                format!(
                    "kill -9 of gateway 1 ({}) at {:.1} s with {in_flight} requests waiting on it",
                    d.gateways[0].url(),
                    log.injected_at
                ),
            );
            sleep_until(start, Duration::from_secs_f64(log.injected_at) + Duration::from_secs(5)).await;
            d.restart_gateway(0).await?;
            log.healed_at = Some(load.now());
            log.note(say, format!("gateway 1 restarted on its port at {:.1} s", load.now()));
        }
        Fault::LeaderKill => {
            let names = Names::with_prefix(&d.prefix)?;
            let info = ctx.js.get_stream(names.commands_stream()).await?.info().await?.clone();
            let leader = info.cluster.and_then(|c| c.leader).context("the commands stream has no leader")?;
            let node = (0..3)
                .find(|i| NatsCluster::node_name(*i) == leader)
                .with_context(|| format!("unknown leader {leader}"))?;
            let led = streams_led_by(&ctx.js, &d.prefix, &leader).await;
            ctx.nats.kill_node(node);
            log.injected_at = load.now();
            log.note(
                say,
                format!(
                    "kill -9 of nats-server {leader} at {:.1} s: leader of the commands stream and of {led} of the deployment's streams and buckets",
                    log.injected_at
                ),
            );
            sleep_until(start, FAULT_AT + Duration::from_secs(15)).await;
            ctx.nats.restart_node(node).await?;
            log.healed_at = Some(load.now());
            log.note(say, format!("{leader} restarted at {:.1} s", load.now()));
        }
        Fault::ExecutorsDown => {
            let ids: Vec<String> = d.executors.iter().map(|e| e.id()).collect();
            d.kill_executor(0);
            d.kill_executor(1);
            log.injected_at = load.now();
            log.note(say, format!("kill -9 of executors {} at {:.1} s", ids.join(" and "), log.injected_at));
            sleep_until(start, FAULT_AT + ALL_DOWN).await;
            let a = d.restart_executor(0).await?;
            let b = d.restart_executor(1).await?;
            log.healed_at = Some(load.now());
            log.note(say, format!("restarted as {a} and {b} at {:.1} s", load.now()));
        }
    }
    Ok(log)
}

/// How many of the prefix's streams `server` leads.
async fn streams_led_by(js: &async_nats::jetstream::Context, prefix: &str, server: &str) -> usize {
    let mut names = js.stream_names();
    let mut led = 0;
    while let Some(Ok(name)) = names.next().await {
        if !name.strip_prefix("KV_").unwrap_or(&name).starts_with(&format!("{prefix}_")) {
            continue;
        }
        if let Ok(mut stream) = js.get_stream(&name).await
            && let Ok(info) = stream.info().await
            && info.cluster.as_ref().and_then(|c| c.leader.as_deref()) == Some(server)
        {
            led += 1;
        }
    }
    led
}

/// Waits until every accepted command has a final result and every callback came, and every
/// deadline passed (plus a follow-up ack wait after a gateway kill, so a repeated callback would
/// be seen); at most [`DRAIN_CAP`] past the last deadline. Returns the raw records read.
async fn drain(
    ctx: &Ctx,
    d: &Deployment,
    load: &Load,
    requests: &[Request],
    fault: &FaultLog,
    index: usize,
) -> anyhow::Result<HashMap<Uuid, Stored>> {
    let names = Names::with_prefix(&d.prefix)?;
    let store = ctx.js.get_key_value(names.results_bucket()).await?;
    let last_deadline = requests.iter().map(|r| r.sent + r.timeout as f64).fold(0.0, f64::max);
    let mut not_before = last_deadline + 3.0;
    if let Some((_, at)) = fault.gateway_kills.last() {
        not_before = not_before.max(at + FOLLOW_UP_ACK_WAIT + 10.0);
    }
    let cap = last_deadline + DRAIN_CAP.as_secs_f64();
    let accepted: Vec<Uuid> = requests.iter().filter_map(Request::command_id).collect();
    let wants_callback: Vec<u64> = requests
        .iter()
        .filter(|r| r.kind == Kind::Callback && r.command_id().is_some())
        .map(|r| r.seq)
        .collect();
    let mut raw: HashMap<Uuid, Option<CommandResult>> = HashMap::new();
    let mut last_say = Instant::now();
    loop {
        for id in &accepted {
            if raw.get(id).and_then(Option::as_ref).is_some_and(|r| r.status.is_final()) {
                continue;
            }
            match results::find(&store, *id).await {
                Ok(r) => {
                    raw.insert(*id, r);
                }
                Err(e) => tracing::debug!(error = %e, "result not readable yet"),
            }
        }
        let open = accepted
            .iter()
            .filter(|id| !raw.get(id).and_then(Option::as_ref).is_some_and(|r| r.status.is_final()))
            .count();
        let callbacks: HashSet<u64> = callbacks_of(&ctx.receiver, index, &[]).iter().map(|c| c.seq).collect();
        let missing = wants_callback.iter().filter(|s| !callbacks.contains(s)).count();
        let now = load.now();
        if (open == 0 && missing == 0 && now >= not_before) || now >= cap {
            if now >= cap {
                ctx.say.line(&format!(
                    "drain gave up at {now:.0} s: {open} commands without a final result, {missing} callbacks missing"
                ));
            }
            break;
        }
        if last_say.elapsed() >= Duration::from_secs(10) {
            ctx.say.line(&format!(
                "draining: t={now:.0}s, {open} commands without a final result, {missing} callbacks missing (last deadline at {last_deadline:.0} s)"
            ));
            last_say = Instant::now();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(raw
        .into_iter()
        .map(|(id, raw)| (id, Stored { raw, page: Page::Unreadable("not read".into()) }))
        .collect())
}

/// The sequence number in a callback path `/cb/<scenario>/<seq>` of `scenario`.
fn seq_of(path: &str, scenario: usize) -> Option<u64> {
    path.strip_prefix(&format!("/cb/{scenario}/"))?.parse().ok()
}

/// The receiver's callbacks of scenario `index`, with their signatures checked against the
/// secrets the 202s gave.
fn callbacks_of(receiver: &Receiver, index: usize, requests: &[Request]) -> Vec<Callback> {
    let secrets: HashMap<u64, &str> = requests
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Accepted { callback_secret: Some(s), .. } => Some((r.seq, s.as_str())),
            _ => None,
        })
        .collect();
    receiver
        .received()
        .iter()
        .filter_map(|r| {
            let seq = seq_of(&r.path, index)?;
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
            let data = &body["data"];
            Some(Callback {
                seq,
                command_id: data["command_id"].as_str().and_then(|s| Uuid::parse_str(s).ok()),
                status: data["status"].as_str().unwrap_or_default().to_string(),
                answered: r.answered,
                signature_ok: secrets.get(&seq).map(|s| webhook_receiver::verify(s, r).is_ok()),
            })
        })
        .collect()
}

/// Every `command.*` event of the prefix's events stream: command id → event types, in order.
async fn terminal_events(
    js: &async_nats::jetstream::Context,
    prefix: &str,
) -> anyhow::Result<HashMap<Uuid, Vec<String>>> {
    let names = Names::with_prefix(prefix)?;
    let mut stream = js.get_stream(names.events_stream()).await?;
    let state = stream.info().await?.state.clone();
    let mut out: HashMap<Uuid, Vec<String>> = HashMap::new();
    for seq in state.first_sequence..=state.last_sequence {
        let Ok(msg) = stream.get_raw_message(seq).await else { continue };
        let Ok(event) = protocol::decode::<Event>(&msg.payload) else { continue };
        let kind = event.event_type.as_str();
        if let Some(id) = kind
            .starts_with("command.")
            .then(|| event.data["command_id"].as_str().and_then(|s| Uuid::parse_str(s).ok()))
            .flatten()
        {
            out.entry(id).or_default().push(kind.to_string());
        }
    }
    Ok(out)
}

/// Reads every command's raw record and its `GET /debug/result` page; counts 5xx answers.
async fn read_all(
    ctx: &Ctx,
    d: &Deployment,
    ids: &HashSet<Uuid>,
) -> anyhow::Result<(HashMap<Uuid, Stored>, usize)> {
    let names = Names::with_prefix(&d.prefix)?;
    let store = ctx.js.get_key_value(names.results_bucket()).await?;
    let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build()?;
    let mut out = HashMap::new();
    let mut five = 0;
    for id in ids {
        let raw = results::find(&store, *id).await.ok().flatten();
        let mut page = Page::Unreadable("no gateway answered".into());
        for url in d.urls() {
            match http.get(format!("{url}/debug/result/{id}")).header("X-API-Key", API_KEY).send().await {
                Ok(resp) if resp.status().is_success() => {
                    let v: serde_json::Value = resp.json().await.unwrap_or_default();
                    page = Page::Found {
                        status: v["status"].as_str().unwrap_or_default().to_string(),
                        error: v["error"].as_str().map(str::to_string),
                    };
                    break;
                }
                Ok(resp) => {
                    let code = resp.status().as_u16();
                    if code >= 500 {
                        five += 1;
                    }
                    page = Page::Http(code);
                }
                Err(e) => page = Page::Unreadable(e.to_string()),
            }
        }
        out.insert(*id, Stored { raw, page });
    }
    Ok((out, five))
}

/// `.dev/chaos/<UTC time>` of this checkout.
pub fn run_dir(root: &Path) -> PathBuf {
    let now = OffsetDateTime::now_utc();
    root.join(format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    ))
}

impl FaultLog {
    /// Records and prints what the fault injection did.
    fn note(&mut self, say: Say, msg: String) {
        say.line(&format!("FAULT {msg}"));
        self.notes.push(msg);
    }
}
