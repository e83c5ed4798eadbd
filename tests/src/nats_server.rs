//! A real nats-server with JetStream on free loopback ports: one node, or the 3-node cluster of
//! `nats/cluster/`. Started from the configs in `nats/`, with ports, names and store overridden
//! on the command line so parallel runs never collide. Stopped on drop.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context;

use crate::paths;
use crate::process::{Daemon, Lifetime, free_port, http_get, wait_until};

pub struct NatsServer {
    /// `nats://127.0.0.1:<port>`
    pub url: String,
    pub client_port: u16,
    /// HTTP monitoring (`/varz`, `/jsz`, `/healthz`).
    pub monitor_port: u16,
    pub daemon: Daemon,
    pub store_dir: PathBuf,
    stop_on_drop: bool,
}

struct NodeOptions<'a> {
    name: &'a str,
    config: PathBuf,
    /// Appended to `config` (the bus's operator-mode auth and TLS: `kubently-admin init`'s
    /// `nats-auth.conf`).
    security: Option<&'a Path>,
    store_dir: &'a Path,
    log: &'a Path,
    lifetime: Lifetime,
    /// (this node's cluster port, every node's cluster port)
    cluster: Option<(u16, &'a [u16])>,
    /// (client, monitoring) ports to reuse (a restarted node); free ones when `None`.
    ports: Option<(u16, u16)>,
    /// Appended last (overrides: a later top-level block replaces an earlier one).
    extra: Option<&'a str>,
}

impl NatsServer {
    /// One node from `nats/dev.conf` plus `security` (auth and TLS), store in `store_dir`.
    pub async fn start(
        store_dir: &Path,
        log: &Path,
        lifetime: Lifetime,
        security: Option<&Path>,
    ) -> anyhow::Result<Self> {
        Self::start_with(store_dir, log, lifetime, security, None).await
    }

    /// [`Self::start`] with `extra` configuration appended (a later top-level block replaces the
    /// file's: `jetstream { … }`, `leafnodes { … }`).
    pub async fn start_with(
        store_dir: &Path,
        log: &Path,
        lifetime: Lifetime,
        security: Option<&Path>,
        extra: Option<&str>,
    ) -> anyhow::Result<Self> {
        let opts = NodeOptions {
            name: "kubently-dev",
            config: paths::nats_config_dir().join("dev.conf"),
            security,
            store_dir,
            log,
            lifetime,
            cluster: None,
            ports: None,
            extra,
        };
        let server = Self::spawn(opts)?;
        server.wait_ready().await?;
        Ok(server)
    }

    fn spawn(opts: NodeOptions<'_>) -> anyhow::Result<Self> {
        let bin = paths::nats_server_bin();
        paths::require(&bin, "nats-server")?;
        let (client_port, monitor_port) = opts.ports.unwrap_or_else(|| (free_port(), free_port()));
        let mut tls = false;
        let config = match (opts.security, opts.extra) {
            (None, None) => opts.config.clone(),
            (None, Some(extra)) => {
                let combined = opts.store_dir.with_extension("conf");
                let text = std::fs::read_to_string(&opts.config).context("reading the nats-server config")?;
                std::fs::create_dir_all(opts.store_dir)?;
                std::fs::write(&combined, format!("{text}\n{extra}\n"))?;
                combined
            }
            (Some(security), extra) => {
                // nats-server has no second -c: one file with both. Each node keeps the account
                // JWTs it resolves in a directory of its own (nodes sharing a host must not share it).
                let combined = opts.store_dir.with_extension("conf");
                let accounts = opts.store_dir.with_extension("accounts");
                let security =
                    std::fs::read_to_string(security).context("reading the bus security config")?;
                tls = security.lines().any(|l| l.starts_with("tls {"));
                let security: Vec<String> = security
                    .lines()
                    .map(|l| match l.trim_start().strip_prefix("dir: ") {
                        Some(_) => format!("  dir: \"{}\"", accounts.display()),
                        None => l.to_string(),
                    })
                    .collect();
                let mut text = format!(
                    "{}\n{}\n",
                    std::fs::read_to_string(&opts.config).context("reading the nats-server config")?,
                    security.join("\n")
                );
                // A cluster node of a TLS bus: routes over mutual TLS too (the bus setup's
                // route file beside its auth file).
                let routes = opts.security.and_then(|s| s.parent()).map(|d| d.join("nats-route-tls.conf"));
                if let Some(routes) = routes.filter(|r| tls && opts.cluster.is_some() && r.exists()) {
                    text.push_str(&std::fs::read_to_string(routes).context("reading the route TLS config")?);
                }
                if let Some(extra) = extra {
                    text.push_str(extra);
                    text.push('\n');
                }
                std::fs::create_dir_all(opts.store_dir)?;
                std::fs::write(&combined, text)?;
                combined
            }
        };
        let scheme = if tls { "tls" } else { "nats" };
        let mut cmd = Command::new(&bin);
        cmd.arg("-c")
            .arg(&config)
            .args(["-a", "127.0.0.1", "-n", opts.name])
            .args(["-p", &client_port.to_string(), "-m", &monitor_port.to_string()])
            .arg("-sd")
            .arg(opts.store_dir);
        if let Some((own, all)) = opts.cluster {
            let routes: Vec<String> =
                all.iter().filter(|p| **p != own).map(|p| format!("nats://127.0.0.1:{p}")).collect();
            cmd.args(["--cluster_name", "kubently", "--cluster", &format!("nats://127.0.0.1:{own}")])
                .args(["--routes", &routes.join(",")]);
        }
        let daemon = Daemon::spawn(&format!("nats-server {}", opts.name), cmd, opts.log, opts.lifetime)?;
        Ok(Self {
            url: format!("{scheme}://127.0.0.1:{client_port}"),
            client_port,
            monitor_port,
            daemon,
            store_dir: opts.store_dir.to_path_buf(),
            stop_on_drop: opts.lifetime == Lifetime::TiedToTestProcess,
        })
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let port = self.monitor_port;
        wait_until(&self.daemon.name, Duration::from_secs(20), Some(&self.daemon), || async move {
            Ok(http_get(port, "/healthz?js-enabled-only=true").await?.0 == 200)
        })
        .await
    }

    /// Leaves the process running when this handle drops (the shared per-run server, `./dev up`).
    pub fn keep_running(mut self) -> Self {
        self.stop_on_drop = false;
        self
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if self.stop_on_drop {
            self.daemon.stop(Duration::from_secs(2));
        }
    }
}

/// The 3-node JetStream cluster of `nats/cluster/node-{1,2,3}.conf`, in a temporary directory
/// (or a given one). A node can be killed and restarted in place (same ports, same store), as a
/// crashed server that comes back.
pub struct NatsCluster {
    pub nodes: Vec<NatsServer>,
    cluster_ports: Vec<u16>,
    dir: PathBuf,
    security: Option<PathBuf>,
    _temp: Option<tempfile::TempDir>,
}

impl NatsCluster {
    pub async fn start(security: Option<&Path>) -> anyhow::Result<Self> {
        let temp = tempfile::Builder::new().prefix("kubently-nats-cluster-").tempdir()?;
        let mut cluster = Self::start_in(temp.path(), security).await?;
        cluster._temp = Some(temp);
        Ok(cluster)
    }

    /// The cluster with its stores and logs (`kubently-<n>.log`) in `dir`, which is kept.
    pub async fn start_in(dir: &Path, security: Option<&Path>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let cluster_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let mut cluster = Self {
            nodes: Vec::new(),
            cluster_ports,
            dir: dir.to_path_buf(),
            security: security.map(Path::to_path_buf),
            _temp: None,
        };
        for i in 0..3 {
            let node = cluster.spawn_node(i, None)?;
            cluster.nodes.push(node);
        }
        for node in &cluster.nodes {
            node.wait_ready().await.context("cluster node")?;
        }
        Ok(cluster)
    }

    /// Server name of node `i` (0-based): `kubently-<i + 1>`, as stream info's `cluster.leader`
    /// names it.
    pub fn node_name(i: usize) -> String {
        format!("kubently-{}", i + 1)
    }

    fn spawn_node(&self, i: usize, ports: Option<(u16, u16)>) -> anyhow::Result<NatsServer> {
        let name = Self::node_name(i);
        NatsServer::spawn(NodeOptions {
            name: &name,
            config: paths::nats_config_dir().join(format!("cluster/node-{}.conf", i + 1)),
            security: self.security.as_deref(),
            store_dir: &self.dir.join(&name),
            log: &self.dir.join(format!("{name}.log")),
            lifetime: Lifetime::TiedToTestProcess,
            cluster: Some((self.cluster_ports[i], &self.cluster_ports)),
            ports,
            extra: None,
        })
    }

    /// `kill -9` of node `i`.
    pub fn kill_node(&self, i: usize) {
        self.nodes[i].daemon.kill();
    }

    /// Starts node `i` again on its ports with its store, and waits until it serves JetStream.
    pub async fn restart_node(&mut self, i: usize) -> anyhow::Result<()> {
        let old = &self.nodes[i];
        old.daemon.kill();
        let node = self.spawn_node(i, Some((old.client_port, old.monitor_port)))?;
        self.nodes[i] = node;
        self.nodes[i].wait_ready().await.context("restarted cluster node")
    }

    /// Client URLs of every node.
    pub fn urls(&self) -> Vec<async_nats::ServerAddr> {
        self.nodes.iter().map(|n| n.url.parse().expect("nats-server URL we built is valid")).collect()
    }

    /// The seed list for `nats.url`: every node's URL, comma-separated.
    pub fn seed_list(&self) -> String {
        self.nodes.iter().map(|n| n.url.as_str()).collect::<Vec<_>>().join(",")
    }
}
