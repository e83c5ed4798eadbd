//! `fake-kubelet --kubeconfig PATH --node-name NAME --port PORT`
//!
//! Registers a fake Node with the apiserver and serves container logs over HTTPS on 127.0.0.1.
//! Prints `fake-kubelet listening on 127.0.0.1:<port>` on stdout once the listener is bound.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kubently_fake_kubelet::{Config, FakeKubelet};
use tracing_subscriber::EnvFilter;

const USAGE: &str = "usage: fake-kubelet --kubeconfig PATH --node-name NAME [--port PORT]";

struct Args {
    kubeconfig: PathBuf,
    node_name: String,
    port: u16,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<Args> {
    let (mut kubeconfig, mut node_name, mut port) = (None, None, 0_u16);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        if !matches!(flag.as_str(), "--kubeconfig" | "--node-name" | "--port") {
            bail!("unknown argument {flag:?}\n{USAGE}");
        }
        let value = match inline.or_else(|| args.next()) {
            Some(value) => value,
            None => bail!("{flag} needs a value\n{USAGE}"),
        };
        match flag.as_str() {
            "--kubeconfig" => kubeconfig = Some(PathBuf::from(value)),
            "--node-name" => node_name = Some(value),
            _ => port = value.parse().with_context(|| format!("invalid --port {value:?}"))?,
        }
    }
    Ok(Args {
        kubeconfig: kubeconfig.with_context(|| format!("--kubeconfig is required\n{USAGE}"))?,
        node_name: node_name.with_context(|| format!("--node-name is required\n{USAGE}"))?,
        port,
    })
}

async fn client_from(path: &PathBuf) -> anyhow::Result<kube::Client> {
    let kubeconfig =
        Kubeconfig::read_from(path).with_context(|| format!("reading kubeconfig {}", path.display()))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    Ok(kube::Client::try_from(config)?)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("fake-kubelet: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    // kube's TLS client uses the process-default provider; only *ring* is compiled in.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let args = parse_args(std::env::args().skip(1))?;
    let client = client_from(&args.kubeconfig).await?;
    let kubelet = FakeKubelet::bind(client, Config { node_name: args.node_name, port: args.port }).await?;
    println!("fake-kubelet listening on {}", kubelet.local_addr());
    kubelet.run().await
}
