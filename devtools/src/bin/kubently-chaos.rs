//! `./dev chaos`: the fault-injection suite (see `kubently_devtools::chaos`). Needs the dev
//! stack's seeded cluster (`./dev chaos` brings it up); starts its own 3-node NATS cluster,
//! gateways and executors. Prints the table, writes it to `.dev/chaos/<time>/report.md`, and
//! exits non-zero if a target is missed.

use std::time::Instant;

use anyhow::{Context, bail};
use kubently_devtools::chaos::{self, Options, report};
use kubently_tests::devstack_state::StackState;
use kubently_tests::paths;

const USAGE: &str = "usage: kubently-chaos [--only SCENARIO[,SCENARIO…]]";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kubently_tests::process::restore_default_sigpipe();
    // reqwest is built without a bundled crypto provider (the workspace uses ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut only = Vec::new();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--only" => {
                let list = it.next().with_context(|| format!("--only needs scenario names\n{USAGE}"))?;
                only.extend(list.split(',').map(str::to_string));
            }
            "-h" | "--help" => {
                println!("{USAGE}\nscenarios:");
                for s in &chaos::SCENARIOS {
                    println!("  {:<18} {}", s.key, s.title);
                }
                return Ok(());
            }
            other => bail!("unknown option {other:?}\n{USAGE}"),
        }
    }
    let state = StackState::load()?.context("no dev stack: run `./dev up --seed` first")?;
    anyhow::ensure!(state.all_alive(), "the dev stack is partly down (`./dev status`)");
    anyhow::ensure!(
        state.kube.is_some(),
        "the dev stack runs against your own cluster; the suite needs the bundled, seeded one"
    );
    let started = Instant::now();
    let dir = chaos::run_dir(&paths::devstack_dir().join("chaos"));
    let rows = chaos::run(Options { only, kubeconfig: state.kubeconfig.clone(), dir: dir.clone() }).await?;
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    let table = report::table(&rows);
    let notes = report::notes(&rows);
    println!("\n{table}\n{notes}\nRun time: {minutes:.1} min.");
    let out = dir.join("report.md");
    std::fs::write(&out, format!("{table}\n{notes}\nRun time: {minutes:.1} min.\n"))?;
    println!("Report written to {}", out.display());
    let missed: Vec<&str> = rows.iter().filter(|r| !r.targets_met()).map(|r| r.scenario.as_str()).collect();
    if !missed.is_empty() {
        eprintln!("TARGETS MISSED in: {}", missed.join("; "));
        std::process::exit(1);
    }
    println!("Every target met.");
    Ok(())
}
