//! One scenario's Kubently: two gateways and two executors (one cluster id) as processes on the
//! 3-node NATS cluster, isolated from other scenarios by a NATS name prefix, each with its own
//! JSON log. Executors can be killed, frozen and restarted; a restarted executor is a new
//! incarnation with a new id (as a restarted pod would be), a restarted gateway reuses its port.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use kubently_admin::cli::Setup as BusSetup;
use kubently_shared::names::Names;
use kubently_tests::paths;
use kubently_tests::process::{Daemon, Lifetime, free_port, http_get, wait_until};

/// The cluster id the executors serve.
pub const CLUSTER_ID: &str = "local";
/// The one API key of the load (service `chaos`).
pub const API_KEY: &str = "chaos-key-0123456789abcdef";
/// `nats.ack_wait_seconds`: a command whose executor stops reporting progress is redelivered
/// after this long (the default is 30 s; 10 s keeps the run short).
pub const ACK_WAIT_SECONDS: u64 = 10;
/// Replicas of every stream and bucket on the 3-node cluster.
const REPLICAS: &str = "3";

pub struct Gateway {
    pub port: u16,
    pub daemon: Daemon,
    pub incarnation: u32,
}

impl Gateway {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

pub struct Executor {
    /// `a` or `b`.
    pub slot: char,
    pub incarnation: u32,
    pub daemon: Daemon,
}

impl Executor {
    /// `executor.id` of this incarnation.
    pub fn id(&self) -> String {
        executor_id(self.slot, self.incarnation)
    }
}

fn executor_id(slot: char, incarnation: u32) -> String {
    format!("chaos-{slot}-{incarnation}")
}

pub struct Deployment {
    pub prefix: String,
    bus: BusSetup,
    seeds: String,
    kubeconfig: PathBuf,
    dir: PathBuf,
    pub gateways: Vec<Gateway>,
    pub executors: Vec<Executor>,
    /// Every executor log this deployment wrote (all incarnations).
    pub executor_logs: Vec<PathBuf>,
    http: reqwest::Client,
}

impl Deployment {
    /// Starts both gateways, then both executors, and waits until each gateway sees the
    /// cluster connected. Executor `a`'s first incarnation connects to `first_executor_nats`
    /// when given (a cutting proxy) instead of the seed list.
    pub async fn start(
        bus: &BusSetup,
        seeds: &str,
        kubeconfig: &Path,
        dir: &Path,
        prefix: &str,
        first_executor_nats: Option<&str>,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut d = Self {
            prefix: prefix.to_string(),
            bus: bus.clone(),
            seeds: seeds.to_string(),
            kubeconfig: kubeconfig.to_path_buf(),
            dir: dir.to_path_buf(),
            gateways: Vec::new(),
            executors: Vec::new(),
            executor_logs: Vec::new(),
            http: reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(5)).build()?,
        };
        for i in 0..2 {
            let port = free_port();
            let daemon = d.spawn_gateway(i, port, 1)?;
            d.gateways.push(Gateway { port, daemon, incarnation: 1 });
        }
        for g in &d.gateways {
            wait_gateway(g).await?;
        }
        for slot in ['a', 'b'] {
            let daemon = d.spawn_executor(slot, 1, first_executor_nats.filter(|_| slot == 'a'))?;
            d.executors.push(Executor { slot, incarnation: 1, daemon });
        }
        for e in &d.executors {
            wait_executor(&e.daemon).await?;
        }
        d.wait_connected().await?;
        Ok(d)
    }

    fn spawn_gateway(&self, index: usize, port: u16, incarnation: u32) -> anyhow::Result<Daemon> {
        let mut cmd = Command::new(paths::sibling_bin("kubently-gateway"));
        cmd.env("KUBENTLY__SERVER__HOST", "127.0.0.1")
            .env("KUBENTLY__SERVER__PORT", port.to_string())
            .env("KUBENTLY__AUTH__API_KEYS", format!("chaos:{API_KEY}"))
            .env("KUBENTLY__WEBHOOKS__ALLOW_LOOPBACK", "true")
            .envs(plain(self.bus.gateway_env(&Names::with_prefix(&self.prefix)?)?));
        self.common_env(&mut cmd);
        let log = self.dir.join(format!("gateway-{}-{incarnation}.log", index + 1));
        Daemon::spawn(&format!("kubently-gateway {}", index + 1), cmd, &log, Lifetime::TiedToTestProcess)
    }

    fn spawn_executor(&mut self, slot: char, incarnation: u32, nats: Option<&str>) -> anyhow::Result<Daemon> {
        let id = executor_id(slot, incarnation);
        let mut cmd = Command::new(paths::sibling_bin("kubently-executor"));
        cmd.env("KUBENTLY__EXECUTOR__CLUSTER_ID", CLUSTER_ID)
            .env("KUBENTLY__EXECUTOR__ID", &id)
            .env("KUBENTLY__KUBE__KUBECONFIG", &self.kubeconfig)
            // The dev stack's admin credential: a lab identity the privilege check would refuse.
            .env("KUBENTLY__EXECUTOR__ALLOW_WRITE_IDENTITY", "true")
            // Two executors on one machine: each its own free health port.
            .env("KUBENTLY__EXECUTOR__HEALTH_PORT", "0")
            .envs(plain(self.bus.executor_env(&Names::with_prefix(&self.prefix)?, CLUSTER_ID)?));
        self.common_env(&mut cmd);
        if let Some(url) = nats {
            cmd.env("KUBENTLY__NATS__URL", url);
        }
        let log = self.dir.join(format!("executor-{id}.log"));
        self.executor_logs.push(log.clone());
        Daemon::spawn(&format!("kubently-executor {id}"), cmd, &log, Lifetime::TiedToTestProcess)
    }

    fn common_env(&self, cmd: &mut Command) {
        cmd.env("KUBENTLY__NATS__URL", &self.seeds)
            .env("KUBENTLY__NATS__REPLICAS", REPLICAS)
            .env("KUBENTLY__NATS__PREFIX", &self.prefix)
            .env("KUBENTLY__NATS__ACK_WAIT_SECONDS", ACK_WAIT_SECONDS.to_string())
            .env("KUBENTLY__LOG__FORMAT", "json")
            .env("KUBENTLY__LOG__LEVEL", "info")
            .env_remove("RUST_LOG");
    }

    /// Until every gateway reports the cluster connected (an executor heartbeats).
    pub async fn wait_connected(&self) -> anyhow::Result<()> {
        for g in &self.gateways {
            let (http, url) = (self.http.clone(), g.url());
            wait_until(
                "the cluster connected at the gateway",
                Duration::from_secs(60),
                Some(&g.daemon),
                || {
                    let (http, url) = (http.clone(), url.clone());
                    async move {
                        let v: serde_json::Value = http
                            .get(format!("{url}/debug/clusters/{CLUSTER_ID}"))
                            .header("X-API-Key", API_KEY)
                            .send()
                            .await?
                            .json()
                            .await?;
                        Ok(v["connected"] == true)
                    }
                },
            )
            .await?;
        }
        Ok(())
    }

    /// `kill -9` of executor `i`.
    pub fn kill_executor(&self, i: usize) {
        self.executors[i].daemon.kill();
    }

    /// Starts executor `i` again as a new incarnation (new id) and waits until it runs.
    pub async fn restart_executor(&mut self, i: usize) -> anyhow::Result<String> {
        self.executors[i].daemon.kill();
        let (slot, incarnation) = (self.executors[i].slot, self.executors[i].incarnation + 1);
        let daemon = self.spawn_executor(slot, incarnation, None)?;
        wait_executor(&daemon).await?;
        self.executors[i] = Executor { slot, incarnation, daemon };
        Ok(self.executors[i].id())
    }

    /// `kill -9` of gateway `i`.
    pub fn kill_gateway(&self, i: usize) {
        self.gateways[i].daemon.kill();
    }

    /// Starts gateway `i` again on its port and waits until it is ready.
    pub async fn restart_gateway(&mut self, i: usize) -> anyhow::Result<()> {
        self.gateways[i].daemon.kill();
        let (port, incarnation) = (self.gateways[i].port, self.gateways[i].incarnation + 1);
        let daemon = self.spawn_gateway(i, port, incarnation)?;
        self.gateways[i] = Gateway { port, daemon, incarnation };
        wait_gateway(&self.gateways[i]).await
    }

    pub fn urls(&self) -> Vec<String> {
        self.gateways.iter().map(Gateway::url).collect()
    }

    /// Stops every process (SIGTERM, SIGKILL after 5 s; a frozen one is resumed first).
    pub fn stop(&self) {
        for e in &self.executors {
            e.daemon.resume();
        }
        for d in self.executors.iter().map(|e| &e.daemon).chain(self.gateways.iter().map(|g| &g.daemon)) {
            d.stop(Duration::from_secs(5));
        }
    }

    /// Deletes every stream and bucket of this deployment's prefix.
    pub async fn remove_streams(&self, js: &async_nats::jetstream::Context) -> anyhow::Result<usize> {
        let own = |name: &str| {
            let name = name.strip_prefix("KV_").unwrap_or(name);
            name.starts_with(&format!("{}_", self.prefix))
        };
        let mut names = js.stream_names();
        let mut doomed = Vec::new();
        while let Some(name) = names.next().await {
            let name = name?;
            if own(&name) {
                doomed.push(name);
            }
        }
        for name in &doomed {
            js.delete_stream(name).await.with_context(|| format!("deleting stream {name}"))?;
        }
        Ok(doomed.len())
    }
}

async fn wait_gateway(g: &Gateway) -> anyhow::Result<()> {
    let port = g.port;
    wait_until(&g.daemon.name, Duration::from_secs(60), Some(&g.daemon), || async move {
        Ok(http_get(port, "/readyz").await?.0 == 200)
    })
    .await
}

async fn wait_executor(daemon: &Daemon) -> anyhow::Result<()> {
    let log = daemon.log.clone();
    wait_until(&daemon.name, Duration::from_secs(60), Some(daemon), || {
        let log = log.clone();
        async move { Ok(std::fs::read_to_string(&log)?.contains("executor started")) }
    })
    .await
}

/// Bus settings without TLS (the chaos NATS has none: its proxies read the protocol).
fn plain(env: Vec<(&'static str, String)>) -> impl Iterator<Item = (&'static str, String)> {
    env.into_iter().filter(|(k, _)| *k != "KUBENTLY__NATS__TLS_CA_FILE")
}
