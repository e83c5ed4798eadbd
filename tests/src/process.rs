//! Child processes of the stack: spawned with logs to a file, tracked by pid (plus the kernel's
//! start time, so a recycled pid is never killed), stopped gracefully.
//!
//! Two lifetimes: [`Lifetime::Detached`] for `./dev up` (own session, survives the dev tool), and
//! [`Lifetime::TiedToTestProcess`]: spawned from one long-lived thread with `PR_SET_PDEATHSIG`
//! (the kernel kills it if the test process dies, even by SIGKILL) and stopped by an `atexit`
//! hook when the test binary exits normally (also after test panics).
//!
//! This is the crate's only module allowed `unsafe` (see `lib.rs`): the libc calls above, `flock`
//! for [`flock_exclusive`] and the SIGPIPE reset in [`restore_default_sigpipe`].

use std::collections::HashSet;
use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    Detached,
    TiedToTestProcess,
}

/// A process the stack started.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Daemon {
    pub name: String,
    pub pid: i32,
    /// Start time in clock ticks since boot (`/proc/<pid>/stat` field 22).
    pub start_ticks: u64,
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `cmd` with stdout+stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path, lifetime: Lifetime) -> anyhow::Result<Self> {
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        cmd.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out);
        let program = cmd.get_program().to_string_lossy().into_owned();
        let pid = match lifetime {
            Lifetime::Detached => {
                // SAFETY: setsid is async-signal-safe; runs in the child between fork and exec.
                unsafe {
                    cmd.pre_exec(|| {
                        libc::setsid();
                        Ok(())
                    });
                }
                let child = cmd.spawn().with_context(|| format!("starting {name} ({program})"))?;
                child.id() as i32 // not waited for: init adopts it when the dev tool exits
            }
            Lifetime::TiedToTestProcess => {
                let pid = spawn_tied(cmd).with_context(|| format!("starting {name} ({program})"))?;
                register_for_exit_cleanup(pid);
                pid
            }
        };
        let start_ticks = start_ticks(pid).unwrap_or(0);
        Ok(Self { name: name.to_string(), pid, start_ticks, log: log.to_path_buf() })
    }

    /// Alive and still the process we started (not a recycled pid).
    pub fn is_alive(&self) -> bool {
        is_running(self.pid) && start_ticks(self.pid) == Some(self.start_ticks)
    }

    /// SIGTERM, then SIGKILL after `grace`. Does nothing if the pid now belongs to someone else.
    pub fn stop(&self, grace: Duration) {
        if self.is_alive() {
            terminate(self.pid, grace);
        }
    }

    /// SIGKILL (`kill -9`, no chance to clean up), then waits until it is gone. Fault injection.
    pub fn kill(&self) {
        if self.is_alive() {
            // SAFETY: signalling a pid we verified belongs to our child.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
            let deadline = Instant::now() + Duration::from_secs(5);
            while is_running(self.pid) && Instant::now() < deadline {
                reap(self.pid);
                std::thread::sleep(Duration::from_millis(5));
            }
            reap(self.pid);
        }
    }

    /// SIGSTOP: the process freezes (its sockets stay open) until [`Daemon::resume`].
    pub fn pause(&self) {
        if self.is_alive() {
            // SAFETY: as above.
            unsafe { libc::kill(self.pid, libc::SIGSTOP) };
        }
    }

    /// SIGCONT after [`Daemon::pause`].
    pub fn resume(&self) {
        if self.is_alive() {
            // SAFETY: as above.
            unsafe { libc::kill(self.pid, libc::SIGCONT) };
        }
    }

    /// The last `n` lines of its log, for error messages.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Fails with the log tail if the process has exited.
    pub fn ensure_running(&self) -> anyhow::Result<()> {
        if !is_running(self.pid) {
            bail!("{} exited; last log lines ({}):\n{}", self.name, self.log.display(), self.log_tail(30));
        }
        Ok(())
    }
}

impl Daemon {
    /// Sends `signal` (`libc::SIGSTOP`, `SIGCONT`, `SIGKILL`, …) if the process is still the one
    /// we started (fault tests freeze and kill daemons).
    pub fn signal(&self, signal: i32) {
        if self.is_alive() {
            // SAFETY: kill(2) on a pid verified to be our process; no memory is shared.
            unsafe { libc::kill(self.pid, signal) };
        }
    }
}

fn is_running(pid: i32) -> bool {
    // A zombie (exited, not yet reaped by us) counts as gone.
    // SAFETY: kill with signal 0 only checks for existence.
    let exists = unsafe { libc::kill(pid, 0) } == 0;
    exists && proc_stat(pid).is_some_and(|s| !s.starts_with('Z'))
}

/// Fields after the `(comm)` of /proc/<pid>/stat, starting with the state letter.
fn proc_stat(pid: i32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(stat.rsplit_once(") ")?.1.to_string())
}

fn start_ticks(pid: i32) -> Option<u64> {
    // After "(comm) ", field 3 is the state; starttime is field 22 → index 19 here.
    proc_stat(pid)?.split_whitespace().nth(19)?.parse().ok()
}

fn terminate(pid: i32, grace: Duration) {
    // SAFETY: signalling a pid we verified belongs to our child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        reap(pid);
        if !is_running(pid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    reap(pid);
}

fn reap(pid: i32) {
    // SAFETY: non-blocking wait on a child pid; harmless (ECHILD) if it is not our child.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
}

// ---- processes tied to the test binary ------------------------------------------------------

type SpawnRequest = (Command, mpsc::Sender<std::io::Result<i32>>);

/// PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, so tied children are
/// forked by one thread that lives as long as the process.
fn spawn_tied(cmd: Command) -> std::io::Result<i32> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("kubently-process-keeper".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    // SAFETY: prctl is async-signal-safe; runs in the child between fork and exec.
                    unsafe {
                        cmd.pre_exec(|| {
                            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                            Ok(())
                        });
                    }
                    let _ = reply.send(cmd.spawn().map(|c| c.id() as i32));
                }
            })
            .expect("process keeper thread starts");
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    spawner.lock().expect("spawner lock").send((cmd, reply_tx)).map_err(std::io::Error::other)?;
    reply_rx.recv().map_err(std::io::Error::other)?
}

static EXIT_CLEANUP: Mutex<(Vec<i32>, Vec<PathBuf>)> = Mutex::new((Vec::new(), Vec::new()));

fn install_exit_hook() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        extern "C" fn on_exit() {
            let (pids, dirs) = match EXIT_CLEANUP.lock() {
                Ok(mut g) => (std::mem::take(&mut g.0), std::mem::take(&mut g.1)),
                Err(_) => return,
            };
            // Stop in reverse start order (kubelet before apiserver before etcd).
            for pid in pids.iter().rev() {
                terminate(*pid, Duration::from_secs(3));
            }
            for dir in dirs {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
        // SAFETY: registering a plain extern "C" fn with libc's atexit.
        unsafe { libc::atexit(on_exit) };
    });
}

fn register_for_exit_cleanup(pid: i32) {
    install_exit_hook();
    EXIT_CLEANUP.lock().expect("cleanup lock").0.push(pid);
}

/// A directory removed when the test binary exits (after its processes are stopped).
pub fn remove_at_exit(dir: &Path) {
    install_exit_hook();
    EXIT_CLEANUP.lock().expect("cleanup lock").1.push(dir.to_path_buf());
}

// ---- ports and readiness ----------------------------------------------------------------------

/// A free TCP port on 127.0.0.1 not handed out before by this process.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut given = GIVEN.lock().expect("port lock");
    let given = given.get_or_insert_with(HashSet::new);
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("bind 127.0.0.1:0");
        if given.insert(port) {
            return port;
        }
    }
}

/// Polls `check` until it returns `Ok(true)`, failing after `timeout` with the last error and
/// the daemon's log tail if it died meanwhile.
pub async fn wait_until<F, Fut>(
    what: &str,
    timeout: Duration,
    daemon: Option<&Daemon>,
    mut check: F,
) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let start = Instant::now();
    let mut last_err = String::from("not ready yet");
    loop {
        if let Some(d) = daemon {
            d.ensure_running()?;
        }
        match check().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => last_err = format!("{e:#}"),
        }
        if start.elapsed() > timeout {
            let tail = daemon
                .map(|d| format!("\nlast log lines ({}):\n{}", d.log.display(), d.log_tail(20)))
                .unwrap_or_default();
            bail!("{what} not ready after {timeout:?}: {last_err}{tail}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A plain-HTTP GET on loopback (etcd and nats-server health endpoints): (status, body).
pub async fn http_get(port: u16, path: &str) -> anyhow::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes()).await?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await??;
    let text = String::from_utf8_lossy(&buf);
    let status =
        text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).context("malformed HTTP response")?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Ok((status, body))
}

/// Blocks until this process holds an exclusive `flock` on `file` (released when it is closed).
pub fn flock_exclusive(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a file descriptor we own; released when the file is closed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// CLI tools die quietly when their output pipe closes (`./dev status | head`) instead of
/// panicking in `println!`.
pub fn restore_default_sigpipe() {
    // SAFETY: resetting a signal disposition to its default at program start.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct() {
        let a = free_port();
        let b = free_port();
        assert_ne!(a, b);
    }

    #[test]
    fn our_own_process_has_a_start_time_and_a_recycled_pid_is_not_ours() {
        let me = std::process::id() as i32;
        let ticks = start_ticks(me).expect("own start time readable");
        let daemon = Daemon { name: "self".into(), pid: me, start_ticks: ticks, log: PathBuf::new() };
        assert!(daemon.is_alive());
        let imposter = Daemon { start_ticks: ticks + 1, ..daemon };
        assert!(!imposter.is_alive(), "a different start time means the pid was recycled");
    }
}
