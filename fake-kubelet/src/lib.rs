//! A fake kubelet for a real kube-apiserver: registers a Node (status, heartbeats, Lease), drives
//! the status of pods bound to it according to [`behaviour::behaviour_for`], emits the events a
//! kubelet would, finishes pod deletions, and serves deterministic container logs over HTTPS
//! (`/containerLogs/...`) so `kubectl logs` works through the apiserver.
//!
//! A standalone program (binary `fake-kubelet`, see `main.rs`) and the library behind it. It does
//! not link the gateway, the executor or the test harness; the harness (`kubently-tests`) depends
//! on it, for the [`behaviour`] table the demo scenario shares, never the other way round.
//!
//! The apiserver must reach it by the node's InternalIP (`127.0.0.1`): run the apiserver with
//! `--kubelet-preferred-address-types=InternalIP`. The kubelet certificate is self-signed and
//! the apiserver must not verify it (no `--kubelet-certificate-authority`).

pub mod behaviour;
mod events;
pub mod logs;
mod node;
mod pods;
pub mod quantity;
mod server;
mod status;
mod util;

use std::net::{Ipv4Addr, SocketAddr};

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tracing::info;

/// `source.component` / `reportingComponent` of the events we emit.
pub(crate) const KUBELET_COMPONENT: &str = "kubelet";
/// The node's (and every pod's) host IP.
pub(crate) const HOST_IP: &str = "127.0.0.1";
/// The node's pod CIDR; pod IPs are allocated from it.
pub(crate) const NODE_POD_CIDR: &str = "10.244.0.0/24";
pub(crate) const NODE_POD_NET: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 0);

/// What the fake kubelet registers as and where it listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The Node name (also the Lease name and the events' `source.host`).
    pub node_name: String,
    /// HTTPS port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
}

impl Config {
    /// A kubelet for `node_name` on a free port.
    pub fn new(node_name: impl Into<String>) -> Self {
        Self { node_name: node_name.into(), port: 0 }
    }
}

/// A fake kubelet whose HTTPS listener is bound (so its address is known) but not yet running.
pub struct FakeKubelet {
    client: kube::Client,
    config: Config,
    listener: TcpListener,
    acceptor: TlsAcceptor,
    addr: SocketAddr,
}

impl std::fmt::Debug for FakeKubelet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeKubelet")
            .field("config", &self.config)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl FakeKubelet {
    /// Generate the TLS certificate and bind the HTTPS listener on `127.0.0.1:<config.port>`.
    pub async fn bind(client: kube::Client, config: Config) -> anyhow::Result<Self> {
        let acceptor = server::tls_acceptor(&config.node_name)?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
        let addr = listener.local_addr()?;
        Ok(Self { client, config, listener, acceptor, addr })
    }

    /// The bound HTTPS address (`127.0.0.1:<port>`).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The node name.
    pub fn node_name(&self) -> &str {
        &self.config.node_name
    }

    /// Serve, register the node, heartbeat and drive pods, forever. API errors are logged and
    /// retried; this only returns if an internal task stops, which is a bug.
    pub async fn run(self) -> anyhow::Result<()> {
        let Self { client, config, listener, acceptor, addr } = self;
        let node = config.node_name;
        info!(node = %node, %addr, "fake kubelet running");
        let state = server::AppState::new(client.clone(), &node);
        let stopped = tokio::select! {
            () = server::serve(listener, acceptor, server::router(state)) => "https server",
            () = node::node_loop(client.clone(), node.clone(), addr.port()) => "node status loop",
            () = node::lease_loop(client.clone(), node.clone()) => "lease loop",
            () = pods::pod_loop(client, node.clone()) => "pod loop",
        };
        anyhow::bail!("fake kubelet {stopped} stopped unexpectedly")
    }
}

/// Bind and run a fake kubelet forever (see [`FakeKubelet::run`]).
pub async fn run(client: kube::Client, config: Config) -> anyhow::Result<()> {
    FakeKubelet::bind(client, config).await?.run().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// Compile-time check: the whole kubelet can be `tokio::spawn`ed.
    #[allow(dead_code)]
    fn run_is_send(client: kube::Client) {
        let fut = run(client, Config::new("node-1"));
        assert_send(&fut);
    }
}
