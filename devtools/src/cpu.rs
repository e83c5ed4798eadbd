//! CPU time per process, from `/proc/<pid>/stat` (user + system), to report what a command costs
//! each process (gateway, executor, nats-server, API server) during a throughput phase.

/// Linux reports CPU time in USER_HZ ticks, 100 per second on every mainstream architecture.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU time (user + system) `pid` has used so far, in milliseconds; 0 when it cannot be read.
pub fn cpu_ms(pid: i32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name (field 2) is in parentheses and may hold spaces: count after the last `)`.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) * 1000.0 / TICKS_PER_SECOND
}

/// CPU time of named processes from a starting point.
pub struct CpuMeter {
    start: Vec<(String, i32, f64)>,
}

impl CpuMeter {
    pub fn start(processes: &[(&str, i32)]) -> Self {
        Self { start: processes.iter().map(|(name, pid)| (name.to_string(), *pid, cpu_ms(*pid))).collect() }
    }

    /// Milliseconds of CPU per command since [`Self::start`], per process.
    pub fn per_command(&self, commands: usize) -> Vec<(String, f64)> {
        self.start
            .iter()
            .map(|(name, pid, at)| (name.clone(), (cpu_ms(*pid) - at) / commands.max(1) as f64))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_its_own_cpu_time() {
        let before = super::cpu_ms(std::process::id() as i32);
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        assert!(x > 0);
        assert!(super::cpu_ms(std::process::id() as i32) >= before);
    }
}
