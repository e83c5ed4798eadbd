//! A NATS leaf node for an edge cluster (`nats/leaf.conf` plus `kubently-admin leaf`'s
//! `leaf-auth.conf`) on free loopback ports, bridged to a hub. It can be killed and started again
//! on the same ports, as a leaf that crashed and came back.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context;

use crate::paths;
use crate::process::{Daemon, Lifetime, free_port, http_get, wait_until};

pub struct LeafNode {
    /// `tls://127.0.0.1:<port>`: where the edge cluster's executors connect.
    pub url: String,
    pub client_port: u16,
    /// HTTP monitoring (`/leafz`, `/connz`, `/varz`).
    pub monitor_port: u16,
    pub daemon: Daemon,
    config: PathBuf,
    log: PathBuf,
}

impl LeafNode {
    /// Writes `dir/leaf.conf` (`nats/leaf.conf` with `auth_config` appended) and starts the leaf;
    /// returns once it serves clients and its link to the hub is up.
    pub async fn start(dir: &Path, auth_config: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let config = dir.join("leaf.conf");
        let base =
            std::fs::read_to_string(paths::nats_config_dir().join("leaf.conf")).context("nats/leaf.conf")?;
        let auth = std::fs::read_to_string(auth_config).context("the leaf's auth config")?;
        std::fs::write(&config, format!("{base}\n{auth}\n"))?;
        let (client_port, monitor_port) = (free_port(), free_port());
        let log = dir.join("leaf.log");
        let daemon = Self::spawn(&config, &log, client_port, monitor_port)?;
        let leaf = Self {
            url: format!("tls://127.0.0.1:{client_port}"),
            client_port,
            monitor_port,
            daemon,
            config,
            log,
        };
        leaf.wait_linked().await?;
        Ok(leaf)
    }

    fn spawn(config: &Path, log: &Path, client_port: u16, monitor_port: u16) -> anyhow::Result<Daemon> {
        let bin = paths::nats_server_bin();
        paths::require(&bin, "nats-server")?;
        let mut cmd = Command::new(&bin);
        cmd.arg("-c").arg(config).args([
            "-a",
            "127.0.0.1",
            "-p",
            &client_port.to_string(),
            "-m",
            &monitor_port.to_string(),
        ]);
        Daemon::spawn("nats-server leaf", cmd, log, Lifetime::TiedToTestProcess)
    }

    /// Waits until the leaf serves clients and has its link to the hub.
    pub async fn wait_linked(&self) -> anyhow::Result<()> {
        let port = self.monitor_port;
        wait_until(
            "the leaf node's link to the hub",
            Duration::from_secs(20),
            Some(&self.daemon),
            || async move {
                let (status, body) = http_get(port, "/leafz").await?;
                Ok(status == 200
                    && serde_json::from_str::<serde_json::Value>(&body)
                        .is_ok_and(|v| v["leafnodes"].as_u64().unwrap_or(0) >= 1))
            },
        )
        .await
    }

    /// `kill -9`: every executor connection and the link drop at once.
    pub fn kill(&self) {
        self.daemon.kill();
    }

    /// Starts the leaf again on the same ports and waits for its link.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.daemon.kill();
        self.daemon = Self::spawn(&self.config, &self.log, self.client_port, self.monitor_port)?;
        self.wait_linked().await
    }
}
