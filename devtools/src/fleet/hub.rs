//! The hub the fleet bench measures: its own nats-server (operator mode and TLS from a fresh
//! `kubently-admin init`, a leafnode listener for edge clusters, a throw-away store) and one
//! release gateway process, as the real stack runs them.

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::Duration;

use anyhow::Context;
use kubently_admin::cli::Setup as BusSetup;
use kubently_admin::trust::Trust;
use kubently_shared::names::Names;
use kubently_tests::nats_server::NatsServer;
use kubently_tests::paths;
use kubently_tests::process::{Daemon, Lifetime, free_port, http_get, wait_until};

/// The bench's API key (its service name: `fleet`).
pub const KEY: &str = "fleet-key-0123456789abcdef";

pub struct Hub {
    pub dir: PathBuf,
    pub bus: BusSetup,
    pub names: Names,
    pub nats: NatsServer,
    /// Where edge leaf nodes connect (`tls://127.0.0.1:<port>`).
    pub leafnode_url: String,
    pub gateway: Daemon,
    /// `http://127.0.0.1:<port>`
    pub gateway_url: String,
    trust: Trust,
}

impl Hub {
    /// Starts nats-server and the gateway in `dir` (kept: logs are there).
    pub async fn start(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let names = Names::new();
        let bus = BusSetup::create(&dir.join("bus"), &["127.0.0.1"], &names)?;
        let leafnode_port = free_port();
        let nats = NatsServer::start_with(
            &dir.join("nats"),
            &dir.join("nats-server.log"),
            Lifetime::TiedToTestProcess,
            Some(&bus.nats_config),
            Some(&bus.leafnode_hub_config(&format!("127.0.0.1:{leafnode_port}"))?),
        )
        .await
        .context("starting the hub's nats-server")?;
        let port = free_port();
        let mut cmd = Process::new(paths::sibling_bin("kubently-gateway"));
        cmd.env("KUBENTLY__SERVER__PORT", port.to_string())
            .env("KUBENTLY__NATS__URL", &nats.url)
            .env("KUBENTLY__AUTH__API_KEYS", format!("fleet:{KEY}"))
            .envs(bus.gateway_env(&names)?)
            .env("RUST_LOG", std::env::var("KUBENTLY_FLEET_GATEWAY_LOG").unwrap_or_else(|_| "warn".into()));
        let gateway = Daemon::spawn(
            "kubently-gateway (fleet)",
            cmd,
            &dir.join("gateway.log"),
            Lifetime::TiedToTestProcess,
        )?;
        wait_until("the fleet gateway", Duration::from_secs(30), Some(&gateway), || async move {
            Ok(http_get(port, "/readyz").await?.0 == 200)
        })
        .await?;
        let trust = bus.trust()?;
        Ok(Self {
            dir: dir.to_path_buf(),
            bus,
            names,
            nats,
            leafnode_url: format!("tls://127.0.0.1:{leafnode_port}"),
            gateway,
            gateway_url: format!("http://127.0.0.1:{port}"),
            trust,
        })
    }

    /// Fresh executor credentials of `cluster_id` (what `kubently-admin add-cluster` issues).
    pub fn executor_creds(&self, cluster_id: &str) -> anyhow::Result<PathBuf> {
        let path = self.dir.join("creds").join(format!("{cluster_id}.creds"));
        self.trust.issue_executor(&self.names, cluster_id)?.write(&path)?;
        Ok(path)
    }

    pub fn nats_pid(&self) -> u32 {
        u32::try_from(self.nats.daemon.pid).unwrap_or_default()
    }

    pub fn gateway_pid(&self) -> u32 {
        u32::try_from(self.gateway.pid).unwrap_or_default()
    }

    /// Stops the gateway, then nats-server.
    pub fn stop(self) {
        self.gateway.stop(Duration::from_secs(5));
        self.nats.daemon.stop(Duration::from_secs(5));
    }
}
