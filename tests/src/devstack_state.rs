//! The running dev stack's state, `.dev/state.json`: written by `kubently-dev up` (crate
//! `kubently-devtools`), read by it, by `kubently-bench`, and by the test harness, which reuses the
//! bundled cluster of a running stack instead of starting its own ([`running_cluster`]).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use crate::kube_cluster::KubeCluster;
use crate::paths;
use crate::process::Daemon;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StackState {
    pub started_at: String,
    pub nats_url: String,
    pub nats_monitor_url: String,
    pub nats: Daemon,
    /// The bundled cluster; `None` when the stack runs against the user's cluster.
    pub kube: Option<KubeCluster>,
    /// The kubeconfig the executor uses (the bundled cluster's, or the user's).
    pub kubeconfig: PathBuf,
    pub gateway_url: String,
    /// The local API key (`dev:<key>`), also in `.dev/api-key`.
    #[serde(default)]
    pub api_key: String,
    pub gateway: Daemon,
    pub executor: Daemon,
    /// The bus setup (`kubently-admin init`): trust, TLS, signing key.
    #[serde(default)]
    pub bus_dir: Option<PathBuf>,
}

impl StackState {
    /// `.dev/state.json`.
    pub fn path() -> PathBuf {
        paths::devstack_dir().join("state.json")
    }

    pub fn load() -> anyhow::Result<Option<Self>> {
        match std::fs::read_to_string(Self::path()) {
            Ok(text) => Ok(Some(serde_json::from_str(&text).context("parsing .dev/state.json")?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub fn save(&self) -> anyhow::Result<()> {
        std::fs::write(Self::path(), serde_json::to_string_pretty(self)?)?;
        Ok(())
    }

    /// Every process, in start order.
    pub fn daemons(&self) -> Vec<&Daemon> {
        let mut all = vec![&self.nats];
        if let Some(k) = &self.kube {
            all.extend(k.processes.iter());
        }
        all.extend([&self.gateway, &self.executor]);
        all
    }

    pub fn all_alive(&self) -> bool {
        self.daemons().iter().all(|d| d.is_alive())
    }

    /// Stops every process, in reverse start order.
    pub fn stop(&self) {
        for d in self.daemons().iter().rev() {
            d.stop(Duration::from_secs(5));
        }
    }
}

/// The dev stack's bundled cluster, if one is running (tests reuse it instead of starting their own).
pub fn running_cluster() -> Option<KubeCluster> {
    let state = StackState::load().ok()??;
    let kube = state.kube?;
    kube.is_running().then_some(kube)
}
