//! `./dev up|down|status|seed|env`: the local stack as detached processes, tracked by pid in
//! `.dev/state.json` ([`StackState`], defined by the harness, which reads it too). `down` stops
//! exactly those processes (pid + kernel start time).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use kubently_admin::cli::Setup as BusSetup;
use kubently_shared::names::Names;

use kubently_tests::devstack_state::StackState;
use kubently_tests::kube_cluster::{ClusterOptions, KubeCluster, NODE_NAME, client_from};
use kubently_tests::nats_server::NatsServer;
use kubently_tests::paths;
use kubently_tests::process::{Daemon, Lifetime, free_port, http_get, wait_until};
use kubently_tests::scenario;

/// Cluster id the local executor serves.
pub const LOCAL_CLUSTER_ID: &str = "local";
const PREFERRED_GATEWAY_PORT: u16 = 8080;
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(180);

pub struct UpOptions {
    pub seed: bool,
    /// Run against this cluster instead of the bundled one.
    pub kubeconfig: Option<PathBuf>,
}

fn progress(start: Instant) -> impl Fn(&str) + Sync {
    move |msg: &str| println!("[{:>5.1}s] {msg}", start.elapsed().as_secs_f64())
}

pub async fn up(opts: UpOptions) -> anyhow::Result<()> {
    let start = Instant::now();
    let say = progress(start);
    if let Some(state) = StackState::load()? {
        if state.all_alive() {
            say("stack already running");
            if opts.seed && state.kube.is_some() {
                seed_and_wait(&state.kubeconfig, &say).await?;
            }
            print_info(&state);
            return Ok(());
        }
        say("previous stack is partly down: stopping what is left of it");
        state.stop();
    }
    let dir = paths::devstack_dir();
    std::fs::create_dir_all(dir.join("logs"))?;
    let logs = dir.join("logs");

    say("setting up the bus: operator-mode NATS accounts, TLS, command signing key (.dev/bus)");
    let bus = BusSetup::create(&dir.join("bus"), &["127.0.0.1", "localhost"], &Names::new())?;
    say("starting nats-server (JetStream, authentication and TLS)");
    let nats = NatsServer::start(
        &dir.join("nats"),
        &logs.join("nats-server.log"),
        Lifetime::Detached,
        Some(&bus.nats_config),
    )
    .await?
    .keep_running();
    say(&format!("nats-server ready at {}", nats.url));

    let (kube, kubeconfig) = match &opts.kubeconfig {
        Some(path) => {
            let path =
                std::fs::canonicalize(path).with_context(|| format!("kubeconfig {}", path.display()))?;
            let version = client_from(&path)
                .await?
                .apiserver_version()
                .await
                .with_context(|| format!("reaching the cluster of {}", path.display()))?;
            say(&format!("using your cluster from {} (Kubernetes {})", path.display(), version.git_version));
            (None, path)
        }
        None => {
            say("starting etcd, kube-apiserver, controller-manager, scheduler, fake kubelet");
            let cluster = KubeCluster::start(ClusterOptions {
                dir: &dir.join("kube"),
                lifetime: Lifetime::Detached,
                fake_kubelet: paths::sibling_bin("fake-kubelet"),
                progress: &say,
            })
            .await
            .inspect_err(|_| nats.daemon.stop(Duration::from_secs(2)))?;
            let kubeconfig = cluster.kubeconfig.clone();
            (Some(cluster), kubeconfig)
        }
    };

    let api_key = local_api_key(&dir)?;
    let (gateway_url, gateway, executor) =
        match start_kubently(&bus, &nats.url, &kubeconfig, &api_key, &logs, &say).await {
            Ok(v) => v,
            Err(e) => {
                kube.iter().for_each(KubeCluster::stop);
                nats.daemon.stop(Duration::from_secs(2));
                return Err(e);
            }
        };
    let state = StackState {
        started_at: time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)?,
        nats_url: nats.url.clone(),
        nats_monitor_url: format!("http://127.0.0.1:{}", nats.monitor_port),
        nats: nats.daemon.clone(),
        kube,
        kubeconfig,
        gateway_url,
        api_key,
        gateway,
        executor,
        bus_dir: Some(bus.dir.clone()),
    };
    state.save()?;
    say("stack is up");
    if opts.seed && state.kube.is_some() {
        seed_and_wait(&state.kubeconfig, &say).await?;
    }
    print_info(&state);
    Ok(())
}

/// The dev stack's API key: generated once, kept in `.dev/api-key` (git-ignored, mode 600).
fn local_api_key(dir: &Path) -> anyhow::Result<String> {
    let path = dir.join("api-key");
    if let Ok(key) = std::fs::read_to_string(&path)
        && !key.trim().is_empty()
    {
        return Ok(key.trim().to_string());
    }
    let key = format!("dev-{}", uuid::Uuid::new_v4().simple());
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)?
        .write_all(key.as_bytes())?;
    Ok(key)
}

async fn start_kubently(
    bus: &BusSetup,
    nats_url: &str,
    kubeconfig: &Path,
    api_key: &str,
    logs: &Path,
    say: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<(String, Daemon, Daemon)> {
    let port = if std::net::TcpListener::bind(("127.0.0.1", PREFERRED_GATEWAY_PORT)).is_ok() {
        PREFERRED_GATEWAY_PORT
    } else {
        free_port()
    };
    let mut cmd = Command::new(paths::sibling_bin("kubently-gateway"));
    cmd.env("KUBENTLY__SERVER__HOST", "127.0.0.1")
        .env("KUBENTLY__SERVER__PORT", port.to_string())
        .env("KUBENTLY__NATS__URL", nats_url)
        .env("KUBENTLY__AUTH__API_KEYS", format!("dev:{api_key}"))
        .env("KUBENTLY__WEBHOOKS__ALLOW_LOOPBACK", "true")
        .envs(bus.gateway_env(&Names::new())?);
    let gateway =
        Daemon::spawn("kubently-gateway", cmd, &logs.join("kubently-gateway.log"), Lifetime::Detached)?;
    wait_until("kubently-gateway", Duration::from_secs(20), Some(&gateway), || async move {
        Ok(http_get(port, "/readyz").await?.0 == 200)
    })
    .await?;
    let gateway_url = format!("http://127.0.0.1:{port}");
    say(&format!("gateway ready at {gateway_url}"));

    let health_port = free_port();
    let mut cmd = Command::new(paths::sibling_bin("kubently-executor"));
    cmd.env("KUBENTLY__NATS__URL", nats_url)
        .env("KUBENTLY__EXECUTOR__CLUSTER_ID", LOCAL_CLUSTER_ID)
        .env("KUBENTLY__EXECUTOR__HEALTH_PORT", health_port.to_string())
        // A lab stack: the bundled cluster's admin credential (or your own kubeconfig, which is
        // often an admin's). The executor's privilege check would refuse it otherwise; with this
        // it starts and its presence record says it holds a write identity.
        .env("KUBENTLY__EXECUTOR__ALLOW_WRITE_IDENTITY", "true")
        .env("KUBENTLY__KUBE__KUBECONFIG", kubeconfig)
        .envs(bus.executor_env(&Names::new(), LOCAL_CLUSTER_ID)?);
    let executor =
        Daemon::spawn("kubently-executor", cmd, &logs.join("kubently-executor.log"), Lifetime::Detached)?;
    wait_until("kubently-executor", Duration::from_secs(30), Some(&executor), || async move {
        Ok(http_get(health_port, "/readyz").await?.0 == 200)
    })
    .await
    .inspect_err(|_| gateway.stop(Duration::from_secs(2)))?;
    say(&format!(
        "executor connected (cluster id \"{LOCAL_CLUSTER_ID}\", readiness http://127.0.0.1:{health_port}/readyz)"
    ));
    Ok((gateway_url, gateway, executor))
}

async fn seed_and_wait(kubeconfig: &Path, say: &(dyn Fn(&str) + Sync)) -> anyhow::Result<()> {
    let client = client_from(kubeconfig).await?;
    say("seeding the demo scenario (namespaces demo-shop, demo-batch)");
    scenario::seed(&client).await?;
    scenario::wait_converged(&client, SCENARIO_TIMEOUT, say).await?;
    say("demo scenario ready: every broken state is visible");
    Ok(())
}

pub async fn seed() -> anyhow::Result<()> {
    let state = require_running()?;
    if state.kube.is_none() {
        bail!(
            "the stack runs against your own cluster ({}); the demo scenario is only seeded into the bundled one",
            state.kubeconfig.display()
        );
    }
    seed_and_wait(&state.kubeconfig, &progress(Instant::now())).await
}

pub fn down(purge: bool) -> anyhow::Result<()> {
    match StackState::load()? {
        Some(state) => {
            for d in state.daemons().iter().rev() {
                let alive = d.is_alive();
                d.stop(Duration::from_secs(5));
                println!(
                    "{:<24} pid {:<8} {}",
                    d.name,
                    d.pid,
                    if alive { "stopped" } else { "was not running" }
                );
            }
            std::fs::remove_file(StackState::path())?;
        }
        None => println!("no stack is running (no .dev/state.json)"),
    }
    if purge {
        let dir = paths::devstack_dir();
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
            println!("removed {} (cluster data, certificates, logs)", dir.display());
        }
    }
    Ok(())
}

/// Prints each process's state; fails if the stack is not fully up.
pub fn status() -> anyhow::Result<()> {
    let state = StackState::load()?.context("no stack is running — start it with `./dev up`")?;
    for d in state.daemons() {
        println!("{:<24} pid {:<8} {}", d.name, d.pid, if d.is_alive() { "running" } else { "NOT RUNNING" });
    }
    if !state.all_alive() {
        bail!(
            "some processes are down — `./dev up` restarts the stack (logs in .dev/logs and .dev/kube/logs)"
        );
    }
    print_info(&state);
    Ok(())
}

/// `eval "$(./dev env)"`
pub fn env() -> anyhow::Result<()> {
    let state = require_running()?;
    println!("export KUBECONFIG={}", state.kubeconfig.display());
    println!("export NATS_URL={}", state.nats_url);
    if let Some(bus) = &state.bus_dir {
        // The `nats` CLI's variables: unrestricted developer credentials and the bus CA.
        println!("export NATS_CREDS={}", BusSetup::load(bus)?.root_creds()?.display());
        println!("export NATS_CA={}", bus.join("tls/ca.crt").display());
    }
    println!("export KUBENTLY_URL={}", state.gateway_url);
    println!("export KUBENTLY_API_KEY={}", state.api_key);
    Ok(())
}

fn require_running() -> anyhow::Result<StackState> {
    let state = StackState::load()?.context("no stack is running — start it with `./dev up`")?;
    if !state.all_alive() {
        bail!("the stack is partly down — see `./dev status`");
    }
    Ok(state)
}

fn print_info(s: &StackState) {
    let rel = |p: &Path| {
        p.strip_prefix(paths::repo_root())
            .map(|r| r.display().to_string())
            .unwrap_or_else(|_| p.display().to_string())
    };
    println!();
    println!("Kubently local stack (state in .dev/state.json, logs in .dev/logs/ and .dev/kube/logs/)");
    println!("  NATS (JetStream)   {}   monitoring {}", s.nats_url, s.nats_monitor_url);
    match &s.kube {
        Some(k) => {
            println!("  Kubernetes API     {}   (kube-apiserver v1.20.2, node {NODE_NAME})", k.server);
            println!("  fake kubelet       https://127.0.0.1:{}", k.kubelet_port);
        }
        None => println!("  Kubernetes         your cluster"),
    }
    println!("  kubeconfig         {}", rel(&s.kubeconfig));
    println!(
        "  gateway            {}   (X-API-Key: {}, service \"dev\"; also in .dev/api-key)",
        s.gateway_url, s.api_key
    );
    println!("  executor           cluster id \"{LOCAL_CLUSTER_ID}\"");
    println!("  MCP                {}/mcp   (streamable HTTP; send the X-API-Key header)", s.gateway_url);
    println!(
        "  A2A                {}/a2a   (agent card {}/.well-known/agent-card.json)",
        s.gateway_url, s.gateway_url
    );
    println!("  webhooks           {}/webhooks/subscriptions   (loopback receivers allowed)", s.gateway_url);
    println!();
    println!("Try it:");
    println!(
        "  curl -s -H 'X-API-Key: {}' -H 'Content-Type: application/json' {}/debug/execute \\",
        s.api_key, s.gateway_url
    );
    println!(
        "       -d '{{\"cluster_id\":\"{LOCAL_CLUSTER_ID}\",\"command_type\":\"get\",\"args\":[\"pods\"],\"namespace\":\"{}\"}}'",
        scenario::SHOP_NS
    );
    println!("  export KUBECONFIG={}", s.kubeconfig.display());
    if s.kube.is_some() {
        println!("  kubectl get pods -A");
        println!("  kubectl -n {} logs deploy/{} --previous", scenario::SHOP_NS, scenario::ORDERS_API);
        println!("  kubectl get events -A --field-selector type=Warning");
    }
    println!("Stop it: ./dev down   (./dev down --purge also deletes the cluster's data)");
}
