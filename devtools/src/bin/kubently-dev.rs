//! The Rust half of `./dev`: up, down, status, seed, env. (`./dev setup` is shell: apt, pip, go.)

use std::path::PathBuf;

use anyhow::bail;
use kubently_devtools::devstack::{self, UpOptions};

const USAGE: &str =
    "usage: kubently-dev up [--seed] [--kubeconfig PATH] | down [--purge] | status | seed | env";

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    kubently_tests::process::restore_default_sigpipe();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else { bail!(USAGE) };
    match cmd.as_str() {
        "up" => {
            let mut opts = UpOptions {
                seed: false,
                kubeconfig: std::env::var_os("KUBENTLY_KUBECONFIG").map(PathBuf::from),
            };
            let mut it = rest.iter();
            while let Some(arg) = it.next() {
                match arg.as_str() {
                    "--seed" => opts.seed = true,
                    "--kubeconfig" => match it.next() {
                        Some(path) => opts.kubeconfig = Some(path.into()),
                        None => bail!("--kubeconfig needs a path\n{USAGE}"),
                    },
                    other => bail!("unknown option {other:?} for up\n{USAGE}"),
                }
            }
            devstack::up(opts).await
        }
        "down" => devstack::down(rest.iter().any(|a| a == "--purge")),
        "status" => devstack::status(),
        "seed" => devstack::seed().await,
        "env" => devstack::env(),
        other => bail!("unknown command {other:?}\n{USAGE}"),
    }
}
