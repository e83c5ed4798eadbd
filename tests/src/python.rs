//! Python tools from PyPI for the integration tests, each in a venv of its own under the cache
//! dir: the official client SDKs (`mcp`, `a2a-sdk`, from `tests/python/requirements.txt`) as real
//! clients for the agent-protocol tests, and `schemathesis` (`tests/python/fuzz-requirements.txt`)
//! for the REST fuzz run. A venv is created on first use, reused while its requirements file is
//! unchanged, and safe when tests race to create it.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, bail};

use crate::paths;

/// `tests/python/<name>`.
pub fn script(name: &str) -> PathBuf {
    paths::repo_root().join("tests").join("python").join(name)
}

/// A venv under the cache dir, made from a requirements file of `tests/python`.
struct Venv {
    requirements: &'static str,
    dir: &'static str,
    what: &'static str,
}

/// The official SDKs the agent-protocol tests drive.
const CLIENTS: Venv = Venv { requirements: "requirements.txt", dir: "py-clients", what: "mcp, a2a-sdk" };
/// The REST fuzz run's schemathesis, apart from the clients so neither reinstalls the other.
const FUZZ: Venv = Venv { requirements: "fuzz-requirements.txt", dir: "py-fuzz", what: "schemathesis" };

/// The venv's python, creating the venv first if needed (blocking; call from `spawn_blocking`).
pub fn client_python() -> anyhow::Result<PathBuf> {
    static READY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    READY
        .get_or_init(|| prepare(&CLIENTS).map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow::anyhow!(e))
}

/// A console script of the fuzz venv (`schemathesis`), creating the venv first if needed
/// (blocking).
pub fn fuzz_bin(name: &str) -> anyhow::Result<PathBuf> {
    static READY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let python = READY
        .get_or_init(|| prepare(&FUZZ).map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow::anyhow!(e))?;
    let bin = python.parent().context("the venv's bin directory")?.join(name);
    if !bin.exists() {
        bail!("{} is not in the venv (is it in tests/python/{}?)", bin.display(), FUZZ.requirements);
    }
    Ok(bin)
}

fn prepare(venv: &Venv) -> anyhow::Result<PathBuf> {
    let requirements = script(venv.requirements);
    let wanted = std::fs::read_to_string(&requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let dir = paths::cache_dir().join(venv.dir);
    std::fs::create_dir_all(paths::cache_dir())?;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(paths::cache_dir().join(format!("{}.lock", venv.dir)))?;
    lock_exclusive(&lock)?;
    let python = dir.join("bin").join("python");
    let stamp = dir.join("installed-requirements.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) && python.exists() {
        return Ok(python);
    }
    eprintln!("[kubently-tests] creating the Python venv {} ({} from PyPI)", dir.display(), venv.what);
    let started = std::time::Instant::now();
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    run(Command::new(system_python()?).args(["-m", "venv"]).arg(&dir), "creating the venv")?;
    run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&requirements),
        &format!("pip install -r tests/python/{}", venv.requirements),
    )?;
    std::fs::write(&stamp, wanted)?;
    eprintln!("[kubently-tests] Python venv ready ({:.1}s)", started.elapsed().as_secs_f64());
    Ok(python)
}

/// python3.11 or newer (mcp 2.x needs 3.11).
fn system_python() -> anyhow::Result<PathBuf> {
    for candidate in ["/usr/bin/python3", "python3"] {
        let out =
            Command::new(candidate).args(["-c", "import sys; print(sys.version_info >= (3, 11))"]).output();
        if let Ok(out) = out
            && String::from_utf8_lossy(&out.stdout).trim() == "True"
        {
            return Ok(PathBuf::from(candidate));
        }
    }
    bail!("the agent-protocol tests need Python >= 3.11 with the venv module (Debian: python3 python3-venv)")
}

fn run(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| what.to_string())?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn lock_exclusive(file: &std::fs::File) -> anyhow::Result<()> {
    if let Err(e) = crate::process::flock_exclusive(file) {
        bail!("locking the venv: {e}");
    }
    Ok(())
}

/// Runs `tests/python/<script> args…` with the venv's python and parses its stdout as JSON.
pub async fn run_json(script_name: &str, args: Vec<String>) -> serde_json::Value {
    let name = script_name.to_string();
    tokio::task::spawn_blocking(move || -> anyhow::Result<serde_json::Value> {
        let python = client_python()?;
        let out = Command::new(&python)
            .arg(script(&name))
            .args(&args)
            .output()
            .with_context(|| format!("running {name}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!("{name} failed ({}):\n{stdout}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
        }
        serde_json::from_str(stdout.trim()).with_context(|| {
            format!("{name} printed no JSON:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr))
        })
    })
    .await
    .expect("python runner thread")
    .unwrap_or_else(|e| panic!("{e:#}"))
}
