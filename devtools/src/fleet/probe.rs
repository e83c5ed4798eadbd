//! What the fleet bench reads: a process's CPU time and resident memory (`/proc`), nats-server's
//! message counters and JetStream totals (its monitoring port), and latency percentiles.

use std::time::Duration;

use kubently_tests::process::http_get;
use serde_json::{Value, json};

/// CPU time (user + system) and resident set of a process.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcSample {
    pub cpu: Duration,
    pub rss_kib: u64,
}

/// Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`; 100 on Linux).
fn clock_ticks() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// `pid`'s CPU time so far and current RSS (zeros if it is gone).
pub fn proc_sample(pid: u32) -> ProcSample {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let field = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of stat; 12 and 13 after the name and state.
    let ticks = field(11) + field(12);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kib = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    ProcSample { cpu: Duration::from_millis(ticks * 1000 / clock_ticks()), rss_kib }
}

/// CPU use between two samples over `elapsed`, in percent of one core.
pub fn cpu_percent(before: ProcSample, after: ProcSample, elapsed: Duration) -> f64 {
    after.cpu.saturating_sub(before.cpu).as_secs_f64() / elapsed.as_secs_f64().max(1e-9) * 100.0
}

/// nats-server's monitoring endpoint `path` as JSON.
pub async fn monitor(port: u16, path: &str) -> anyhow::Result<Value> {
    let (status, body) = http_get(port, path).await?;
    anyhow::ensure!(status == 200, "nats-server {path}: HTTP {status}: {body}");
    Ok(serde_json::from_str(&body)?)
}

/// Messages nats-server received and sent so far (`/varz`).
pub async fn message_counts(port: u16) -> anyhow::Result<(u64, u64)> {
    let varz = monitor(port, "/varz").await?;
    Ok((varz["in_msgs"].as_u64().unwrap_or(0), varz["out_msgs"].as_u64().unwrap_or(0)))
}

/// JetStream totals: (streams, consumers, messages, bytes) from `/jsz`.
pub async fn jetstream_totals(port: u16) -> anyhow::Result<(u64, u64, u64, u64)> {
    let jsz = monitor(port, "/jsz").await?;
    let n = |k: &str| jsz[k].as_u64().unwrap_or(0);
    Ok((n("streams"), n("consumers"), n("messages"), n("bytes")))
}

/// Latency percentiles.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub n: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Stats {
    pub fn of(samples: &mut [Duration]) -> Self {
        samples.sort();
        let pick = |q: f64| {
            samples
                .get(((samples.len() as f64 * q) as usize).min(samples.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        Self {
            n: samples.len(),
            p50: pick(0.50),
            p99: pick(0.99),
            max: samples.last().copied().unwrap_or_default(),
        }
    }

    pub fn json(&self) -> Value {
        json!({"n": self.n, "p50_ms": ms(self.p50), "p99_ms": ms(self.p99), "max_ms": ms(self.max)})
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "p50 {:.2} ms, p99 {:.2} ms (n={})", ms(self.p50), ms(self.p99), self.n)
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_cpu_time_and_memory() {
        let mut spin = 0u64;
        for i in 0..5_000_000u64 {
            spin = spin.wrapping_add(i * i);
        }
        assert!(spin > 0);
        let sample = proc_sample(std::process::id());
        assert!(sample.rss_kib > 0, "{sample:?}");
        let later = ProcSample { cpu: sample.cpu + Duration::from_millis(500), ..sample };
        assert!((cpu_percent(sample, later, Duration::from_secs(1)) - 50.0).abs() < 1e-6);
    }

    #[test]
    fn percentiles() {
        let mut samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let s = Stats::of(&mut samples);
        assert_eq!(
            (s.n, s.p50, s.p99, s.max),
            (100, Duration::from_millis(51), Duration::from_millis(100), Duration::from_millis(100))
        );
    }
}
