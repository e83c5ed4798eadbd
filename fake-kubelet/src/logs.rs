//! Deterministic container logs, chosen like the kubelet chooses which container instance to read,
//! and the kubelet's query filters (`tailLines`, `sinceSeconds`/`sinceTime`, `timestamps`, `limitBytes`).

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{ContainerStateTerminated, ContainerStatus, Pod};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::status::{CRASH_RUN, MAX_BACK_OFF, REASON_ERR_IMAGE_PULL, REASON_IMAGE_PULL_BACK_OFF};
use super::util::{elapsed, from_k8s_time, hash64, nginx_access_time, nginx_error_time, rfc3339_nano_fixed};
use crate::behaviour::{Behaviour, behaviour_for};
use crate::quantity::parse as parse_quantity;

/// At most this many lines of a long-running container's history.
pub const MAX_HISTORY_LINES: usize = 1000;
/// A healthy container logs one line this often.
const LINE_INTERVAL: Duration = Duration::seconds(10);

/// One log line with the time the container wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub at: OffsetDateTime,
    pub text: String,
}

/// Why logs cannot be served, with the kubelet's HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogError {
    /// 404: pod or container unknown.
    NotFound(String),
    /// 400: the container exists but has no such logs (waiting, no previous instance, bad query).
    BadRequest(String),
}

/// The kubelet's `PodLogOptions`, as query parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    pub tail_lines: Option<u64>,
    pub previous: bool,
    pub follow: bool,
    /// `sinceTime`, or `now - sinceSeconds`.
    pub since: Option<OffsetDateTime>,
    pub timestamps: bool,
    pub limit_bytes: Option<u64>,
}

/// What is logged so far, and whether a follower should keep receiving new lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerLogs {
    pub lines: Vec<LogLine>,
    /// `Some` when the selected container instance is running and keeps logging.
    pub live: Option<LiveKind>,
}

/// The kind of line a running container keeps writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveKind {
    Access,
    NotReady,
}

fn parse_bool(params: &HashMap<String, String>, key: &str) -> Result<bool, String> {
    match params.get(key).map(String::as_str) {
        None => Ok(false),
        Some("" | "1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(true),
        Some("0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(false),
        Some(other) => Err(format!("unable to decode query: {key}: invalid boolean {other:?}")),
    }
}

fn parse_int(params: &HashMap<String, String>, key: &str) -> Result<Option<i64>, String> {
    params
        .get(key)
        .map(|v| {
            v.parse::<i64>().map_err(|_| format!("unable to decode query: {key}: invalid integer {v:?}"))
        })
        .transpose()
}

fn non_negative(value: Option<i64>, key: &str) -> Result<Option<u64>, String> {
    value.map(|v| u64::try_from(v).map_err(|_| format!("{key} must be non-negative, got {v}"))).transpose()
}

/// Parse the kubelet's log query; `now` resolves `sinceSeconds`.
pub fn parse_log_query(params: &HashMap<String, String>, now: OffsetDateTime) -> Result<LogQuery, String> {
    let since_seconds = parse_int(params, "sinceSeconds")?;
    let since_time = params
        .get("sinceTime")
        .map(|v| {
            OffsetDateTime::parse(v, &Rfc3339)
                .map_err(|_| format!("unable to decode query: sinceTime: invalid RFC3339 time {v:?}"))
        })
        .transpose()?;
    let since = match (since_seconds, since_time) {
        (Some(_), Some(_)) => {
            return Err("at most one of sinceTime or sinceSeconds may be specified".to_owned());
        }
        (Some(secs), None) if secs < 1 => {
            return Err("sinceSeconds must be greater than 0".to_owned());
        }
        (Some(secs), None) => Some(now - Duration::seconds(secs)),
        (None, time) => time,
    };
    Ok(LogQuery {
        tail_lines: non_negative(parse_int(params, "tailLines")?, "tailLines")?,
        previous: parse_bool(params, "previous")?,
        follow: parse_bool(params, "follow")?,
        since,
        timestamps: parse_bool(params, "timestamps")?,
        limit_bytes: non_negative(parse_int(params, "limitBytes")?, "limitBytes")?,
    })
}

/// One line as the kubelet writes it: optional `RFC3339Nano ` prefix, then text, then newline.
pub fn format_line(line: &LogLine, timestamps: bool) -> String {
    if timestamps {
        format!("{} {}\n", rfc3339_nano_fixed(line.at), line.text)
    } else {
        format!("{}\n", line.text)
    }
}

/// Apply `tailLines` (first, like the kubelet), then the since filter, then `limitBytes`.
pub fn render(lines: &[LogLine], query: &LogQuery) -> Vec<u8> {
    let skip = query
        .tail_lines
        .map_or(0, |tail| lines.len().saturating_sub(usize::try_from(tail).unwrap_or(usize::MAX)));
    let mut out = Vec::new();
    for line in lines.iter().skip(skip).filter(|l| query.since.is_none_or(|since| l.at >= since)) {
        out.extend_from_slice(format_line(line, query.timestamps).as_bytes());
    }
    if let Some(limit) = query.limit_bytes {
        out.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    out
}

/// One run of a container instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    Running { started: OffsetDateTime },
    Terminated { started: OffsetDateTime, finished: OffsetDateTime },
}

fn terminated_run(t: &ContainerStateTerminated, fallback: OffsetDateTime) -> Run {
    let finished = t.finished_at.as_ref().and_then(from_k8s_time).unwrap_or(fallback);
    let started = t.started_at.as_ref().and_then(from_k8s_time).unwrap_or(finished).min(finished);
    Run::Terminated { started, finished }
}

fn has_container_id(t: &ContainerStateTerminated) -> bool {
    t.container_id.as_deref().is_some_and(|id| !id.is_empty())
}

/// The kubelet's `validateContainerLogStatus`: which container instance a log request reads.
fn select_run(
    status: &ContainerStatus,
    pod: &str,
    previous: bool,
    now: OffsetDateTime,
) -> Result<Run, LogError> {
    let name = &status.name;
    let state = status.state.as_ref();
    let last = status.last_state.as_ref().and_then(|s| s.terminated.as_ref()).filter(|t| has_container_id(t));
    let bad = |msg: String| Err(LogError::BadRequest(msg));
    if previous {
        return match last {
            Some(t) => Ok(terminated_run(t, now)),
            None => bad(format!("previous terminated container {name:?} in pod {pod:?} not found")),
        };
    }
    if let Some(running) = state.and_then(|s| s.running.as_ref()) {
        let started = running.started_at.as_ref().and_then(from_k8s_time).unwrap_or(now);
        return Ok(Run::Running { started });
    }
    if let Some(terminated) = state.and_then(|s| s.terminated.as_ref()) {
        return match (has_container_id(terminated), last) {
            (true, _) => Ok(terminated_run(terminated, now)),
            (false, Some(t)) => Ok(terminated_run(t, now)),
            (false, None) => bad(format!("container {name:?} in pod {pod:?} is terminated")),
        };
    }
    if let Some(t) = last {
        return Ok(terminated_run(t, now));
    }
    match state.and_then(|s| s.waiting.as_ref()).map(|w| w.reason.clone().unwrap_or_default()) {
        Some(reason) if reason == REASON_ERR_IMAGE_PULL => {
            bad(format!("container {name:?} in pod {pod:?} is waiting to start: image can't be pulled"))
        }
        Some(reason) if reason == REASON_IMAGE_PULL_BACK_OFF => bad(format!(
            "container {name:?} in pod {pod:?} is waiting to start: trying and failing to pull image"
        )),
        Some(reason) => bad(format!("container {name:?} in pod {pod:?} is waiting to start: {reason}")),
        None => bad(format!("container {name:?} in pod {pod:?} is waiting to start - no logs yet")),
    }
}

/// The logs of `container` in `pod` as of `now` (the kubelet's view; the pod must be on this node).
pub fn container_logs(
    pod: &Pod,
    container: &str,
    previous: bool,
    now: OffsetDateTime,
) -> Result<ContainerLogs, LogError> {
    let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
    let spec = pod.spec.as_ref();
    let is_main = spec.is_some_and(|s| s.containers.iter().any(|c| c.name == container));
    let is_init = spec
        .and_then(|s| s.init_containers.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.name == container));
    if !is_main && !is_init {
        return Err(LogError::NotFound(format!("container {container:?} not found in pod {pod_name:?}")));
    }
    let status = pod.status.as_ref();
    let statuses = if is_main {
        status.and_then(|s| s.container_statuses.as_ref())
    } else {
        status.and_then(|s| s.init_container_statuses.as_ref())
    };
    let Some(cstatus) = statuses.and_then(|all| all.iter().find(|c| c.name == container)) else {
        return Err(LogError::BadRequest(format!(
            "container {container:?} in pod {pod_name:?} is not available"
        )));
    };
    let run = select_run(cstatus, pod_name, previous, now)?;
    if is_init {
        return Ok(ContainerLogs { lines: init_lines(run, now), live: None });
    }
    Ok(generate(pod, container, behaviour_for(pod), run, previous, now))
}

fn generate(
    pod: &Pod,
    container: &str,
    behaviour: Behaviour,
    run: Run,
    previous: bool,
    now: OffsetDateTime,
) -> ContainerLogs {
    let seed = pod.metadata.name.as_deref().unwrap_or(container);
    let (started, end, running) = match run {
        Run::Running { started } => (started, now, true),
        Run::Terminated { started, finished } => (started, finished, false),
    };
    let (lines, live) = match behaviour {
        Behaviour::Healthy | Behaviour::ImagePullBackOff => {
            (access_history(seed, started, end), Some(LiveKind::Access))
        }
        Behaviour::ReadinessFailing => (not_ready_history(container, started, end), Some(LiveKind::NotReady)),
        Behaviour::CrashLoop { .. } => {
            // `--previous` is the run before the last one: shift it back by one run and one back-off.
            let shift = if previous { elapsed(started, end) + MAX_BACK_OFF } else { Duration::ZERO };
            let (s, f) = (started - shift, end - shift);
            let f = if f - s < Duration::seconds(1) { s + CRASH_RUN } else { f };
            (scripted(s, f, &crash_script(container)), None)
        }
        Behaviour::OomKilled { .. } => (scripted(started, end, &oom_script(pod, container)), None),
        Behaviour::Fail => (scripted(started, end, &migration_script()), None),
    };
    ContainerLogs { lines, live: if running { live } else { None } }
}

fn init_lines(run: Run, now: OffsetDateTime) -> Vec<LogLine> {
    let (started, finished) = match run {
        Run::Running { started } => (started, now),
        Run::Terminated { started, finished } => (started, finished),
    };
    scripted(
        started,
        finished,
        &[(0, "init: preparing shared volume".to_owned()), (900, "init: done".to_owned())],
    )
}

/// Lines at fixed fractions (per mille) of a run, each a few microseconds after the previous.
fn scripted(started: OffsetDateTime, finished: OffsetDateTime, script: &[(i64, String)]) -> Vec<LogLine> {
    let span = elapsed(started, finished);
    script
        .iter()
        .zip(0_i64..)
        .map(|((per_mille, text), i)| LogLine {
            at: started + span * (*per_mille as f64 / 1000.0) + Duration::microseconds(1_000 + i * 137),
            text: text.clone(),
        })
        .collect()
}

const TRACEBACK: &[&str] = &[
    "Traceback (most recent call last):",
    "  File \"/app/orders/main.py\", line 41, in <module>",
    "    app = create_app()",
    "  File \"/app/orders/app.py\", line 27, in create_app",
    "    db.init_pool(settings.database_url)",
    "  File \"/app/orders/db.py\", line 88, in init_pool",
    "    _pool = psycopg2.pool.ThreadedConnectionPool(1, 10, dsn)",
    "  File \"/usr/local/lib/python3.12/site-packages/psycopg2/pool.py\", line 161, in __init__",
    "    AbstractConnectionPool.__init__(",
    "  File \"/usr/local/lib/python3.12/site-packages/psycopg2/pool.py\", line 59, in __init__",
    "    self._connect()",
    "  File \"/usr/local/lib/python3.12/site-packages/psycopg2/pool.py\", line 63, in _connect",
    "    conn = psycopg2.connect(*self._args, **self._kwargs)",
    "  File \"/usr/local/lib/python3.12/site-packages/psycopg2/__init__.py\", line 122, in connect",
    "    conn = _connect(dsn, connection_factory=connection_factory, **kwasync)",
    "psycopg2.OperationalError: connection to server at \"postgres\" (10.96.114.7), port 5432 failed: Connection refused",
    "\tIs the server running on that host and accepting TCP/IP connections?",
];

fn crash_script(container: &str) -> Vec<(i64, String)> {
    let mut script = vec![
        (0, format!("INFO {container} 2.4.1 starting (pid 1)")),
        (10, "INFO loading settings from environment".to_owned()),
        (20, "INFO db: connecting to postgres:5432 (pool size 10)".to_owned()),
        (40, "WARN db: connect postgres:5432: connection refused (attempt 1/3), retrying in 15s".to_owned()),
        (480, "WARN db: connect postgres:5432: connection refused (attempt 2/3), retrying in 15s".to_owned()),
        (960, "ERROR db: connect postgres:5432: connection refused (attempt 3/3)".to_owned()),
    ];
    script.extend(TRACEBACK.iter().map(|line| (980, (*line).to_owned())));
    script
}

fn memory_limit_mib(pod: &Pod, container: &str) -> f64 {
    pod.spec
        .as_ref()
        .and_then(|s| s.containers.iter().find(|c| c.name == container))
        .and_then(|c| c.resources.as_ref()?.limits.as_ref()?.get("memory"))
        .and_then(|q| parse_quantity(&q.0))
        .map_or(512.0, |bytes| bytes / (1024.0 * 1024.0))
}

fn oom_script(pod: &Pod, container: &str) -> Vec<(i64, String)> {
    let limit = memory_limit_mib(pod, container);
    let mut script = vec![
        (0, format!("INFO {container} starting: monthly sales report")),
        (20, "INFO connecting to warehouse (read-only replica)".to_owned()),
        (50, "INFO loading 1.2M rows into memory…".to_owned()),
    ];
    let steps = [(0.31, 210_000), (0.54, 430_000), (0.72, 640_000), (0.86, 820_000), (0.97, 1_010_000)];
    for (i, (share, rows)) in (0_i64..).zip(steps) {
        script.push((
            200 + i * 170,
            format!("INFO heap {:.0} MiB in use (rows loaded: {rows})", limit * share),
        ));
    }
    script
}

fn migration_script() -> Vec<(i64, String)> {
    [
        (0, "INFO migrate: connecting to database"),
        (100, "INFO migrate: 41 migrations already applied"),
        (300, "INFO migrate: applying 0042_add_orders_index"),
        (600, "ERROR migrate: CREATE INDEX orders_created_at_idx ON orders (created_at)"),
        (900, "FATAL: migration 0042_add_orders_index failed: relation \"orders\" does not exist"),
        (990, "exit status 1"),
    ]
    .into_iter()
    .map(|(at, text)| (at, text.to_owned()))
    .collect()
}

/// Ticks `k >= 1` at `started + k * LINE_INTERVAL` up to `end`, keeping at most the last `cap`.
fn ticks(started: OffsetDateTime, end: OffsetDateTime, cap: usize) -> std::ops::RangeInclusive<i64> {
    let count = elapsed(started, end).whole_seconds() / LINE_INTERVAL.whole_seconds();
    let cap = i64::try_from(cap).unwrap_or(i64::MAX);
    (count - cap + 1).max(1)..=count
}

/// A deterministic sub-second offset so lines do not all land on whole seconds.
fn jitter(seed: &str, k: i64) -> Duration {
    let h = hash64(&[seed, &k.to_string()]);
    Duration::microseconds(i64::try_from(h % 900_000).unwrap_or(0) + 1_000)
}

fn with_history_cap(mut lines: Vec<LogLine>) -> Vec<LogLine> {
    let excess = lines.len().saturating_sub(MAX_HISTORY_LINES);
    lines.drain(..excess);
    lines
}

fn nginx_startup(started: OffsetDateTime) -> Vec<LogLine> {
    let stamp = nginx_error_time(started);
    let texts = [
        "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration"
            .to_owned(),
        "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/".to_owned(),
        "/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh".to_owned(),
        "/docker-entrypoint.sh: Configuration complete; ready for start up".to_owned(),
        format!("{stamp} [notice] 1#1: using the \"epoll\" event method"),
        format!("{stamp} [notice] 1#1: nginx/1.25.3"),
        format!("{stamp} [notice] 1#1: start worker processes"),
    ];
    texts
        .into_iter()
        .zip(0_i64..)
        .map(|(text, i)| LogLine { at: started + Duration::milliseconds(20 + i * 3), text })
        .collect()
}

fn access_history(seed: &str, started: OffsetDateTime, end: OffsetDateTime) -> Vec<LogLine> {
    let mut lines = nginx_startup(started);
    for k in ticks(started, end, MAX_HISTORY_LINES) {
        let at = started + Duration::seconds(LINE_INTERVAL.whole_seconds() * k) + jitter(seed, k);
        lines.push(LogLine { at, text: access_line(seed, k, at) });
    }
    with_history_cap(lines)
}

const PAGES: &[(&str, u32)] = &[
    ("/", 3_412),
    ("/products/espresso-machine", 8_231),
    ("/products/grinder-pro", 7_904),
    ("/cart", 2_118),
    ("/static/app.js", 48_210),
];

/// One nginx combined-format access-log line; mostly kubelet probes, some shoppers.
pub(crate) fn access_line(seed: &str, k: i64, at: OffsetDateTime) -> String {
    let h = hash64(&[seed, "access", &k.to_string()]);
    let when = nginx_access_time(at);
    if !h.is_multiple_of(4) {
        return format!("10.244.0.1 - - [{when}] \"GET /healthz HTTP/1.1\" 200 2 \"-\" \"kube-probe/1.20\"");
    }
    let idx = usize::try_from((h >> 8) % PAGES.len() as u64).unwrap_or(0);
    let (path, bytes) = PAGES.get(idx).copied().unwrap_or(("/", 3_412));
    let client = 10 + (h >> 16) % 200;
    format!(
        "10.244.0.{client} - - [{when}] \"GET {path} HTTP/1.1\" 200 {bytes} \"-\" \
         \"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\""
    )
}

pub(crate) const NOT_READY_WARNING: &str = "WARN /ready returning 503: cache warm-up 37% complete";

/// Lines of a running-but-unready app; the warning repeats (warm-up is stuck at 37%).
pub(crate) fn not_ready_line(k: i64) -> String {
    if k % 2 == 0 { "INFO GET /healthz 200 0.4ms".to_owned() } else { NOT_READY_WARNING.to_owned() }
}

fn not_ready_history(container: &str, started: OffsetDateTime, end: OffsetDateTime) -> Vec<LogLine> {
    let head = [
        format!("INFO {container} starting on :8080"),
        "INFO connected to redis at checkout-cache:6379".to_owned(),
        "INFO cache warm-up started (48213 keys)".to_owned(),
        "INFO cache warm-up 37% complete".to_owned(),
    ];
    let mut lines: Vec<LogLine> = head
        .into_iter()
        .zip(0_i64..)
        .map(|(text, i)| LogLine { at: started + Duration::milliseconds(50 + i * 400), text })
        .collect();
    for k in ticks(started, end, MAX_HISTORY_LINES) {
        let at = started + Duration::seconds(LINE_INTERVAL.whole_seconds() * k) + jitter(container, k);
        lines.push(LogLine { at, text: not_ready_line(k) });
    }
    with_history_cap(lines)
}

/// The next line a followed, still-running container writes (the `seq`-th since the follow began).
pub fn live_line(kind: LiveKind, seed: &str, seq: i64, at: OffsetDateTime) -> LogLine {
    let text = match kind {
        LiveKind::Access => access_line(seed, 1_000_000 + seq, at),
        LiveKind::NotReady => not_ready_line(seq),
    };
    LogLine { at, text }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::pod_status;
    use serde_json::json;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-21 17:10:00 UTC);

    fn pod_with(behaviour: &str, b: Behaviour) -> Pod {
        let mut pod: Pod = serde_json::from_value(json!({
            "metadata": {
                "name": "web-1", "namespace": "default", "uid": "0a1b2c3d-0000-0000-0000-000000000000",
                "creationTimestamp": "2026-11-21T17:00:00Z",
                "annotations": { crate::behaviour::BEHAVIOUR_ANNOTATION: behaviour },
            },
            "spec": { "nodeName": "node-1", "containers": [{
                "name": "app", "image": "nginx:1.25",
                "resources": { "limits": { "memory": "256Mi" } },
            }] },
        }))
        .expect("valid pod");
        pod.status = Some(serde_json::from_value(pod_status(&pod, b, None, NOW)).expect("valid status"));
        pod
    }

    fn texts(logs: &[LogLine]) -> Vec<&str> {
        logs.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn healthy_logs_access_lines_every_ten_seconds() {
        let pod = pod_with("healthy", Behaviour::Healthy);
        let logs = container_logs(&pod, "app", false, NOW).expect("logs");
        assert_eq!(logs.live, Some(LiveKind::Access));
        // 7 startup lines + one per 10 s in 599 s.
        assert_eq!(logs.lines.len(), 7 + 59);
        assert!(logs.lines[0].text.starts_with("/docker-entrypoint.sh"));
        assert!(logs.lines.iter().skip(7).all(|l| l.text.contains("\"GET /")));
        assert!(logs.lines.iter().any(|l| l.text.contains("kube-probe/1.20")));
        assert!(logs.lines.windows(2).all(|w| w[0].at <= w[1].at));
        assert_eq!(logs, container_logs(&pod, "app", false, NOW).expect("logs"), "deterministic");
        assert_eq!(logs.lines[0].at.replace_nanosecond(0).ok(), Some(datetime!(2026-11-21 17:00:01 UTC)));
    }

    #[test]
    fn healthy_history_is_capped() {
        let pod = pod_with("healthy", Behaviour::Healthy);
        let logs = container_logs(&pod, "app", false, NOW + Duration::days(2)).expect("logs");
        assert_eq!(logs.lines.len(), MAX_HISTORY_LINES);
    }

    #[test]
    fn crash_loop_logs_end_in_traceback() {
        let pod = pod_with("crashloop", Behaviour::CrashLoop { restarts: 47 });
        let current = container_logs(&pod, "app", false, NOW).expect("logs");
        let previous = container_logs(&pod, "app", true, NOW).expect("previous logs");
        assert_eq!(current.live, None);
        for logs in [&current, &previous] {
            let all = texts(&logs.lines).join("\n");
            assert!(all.contains("ERROR db: connect postgres:5432: connection refused (attempt 3/3)"));
            assert!(all.to_lowercase().contains("connection refused"));
            assert!(all.ends_with("accepting TCP/IP connections?"));
        }
        assert_eq!(texts(&current.lines), texts(&previous.lines));
        assert!(previous.lines.last().map(|l| l.at) < current.lines.first().map(|l| l.at));
        let last = current.lines.last().map(|l| l.at).expect("lines");
        assert!(last <= datetime!(2026-11-21 17:08:00 UTC));
        assert!(last >= datetime!(2026-11-21 17:07:50 UTC));
    }

    #[test]
    fn previous_of_a_never_restarted_container_is_an_error() {
        let pod = pod_with("healthy", Behaviour::Healthy);
        assert_eq!(
            container_logs(&pod, "app", true, NOW),
            Err(LogError::BadRequest(
                "previous terminated container \"app\" in pod \"web-1\" not found".to_owned()
            ))
        );
        assert_eq!(
            container_logs(&pod, "nope", false, NOW),
            Err(LogError::NotFound("container \"nope\" not found in pod \"web-1\"".to_owned()))
        );
    }

    #[test]
    fn image_pull_has_no_logs() {
        let pod = pod_with("image-pull", Behaviour::ImagePullBackOff);
        assert_eq!(
            container_logs(&pod, "app", false, NOW),
            Err(LogError::BadRequest(
                "container \"app\" in pod \"web-1\" is waiting to start: trying and failing to pull image"
                    .to_owned()
            ))
        );
    }

    #[test]
    fn oom_fail_and_unready_content() {
        let pod = pod_with("oom-killed", Behaviour::OomKilled { restarts: 5 });
        let logs = container_logs(&pod, "app", false, NOW).expect("logs");
        let all = texts(&logs.lines).join("\n");
        assert!(all.contains("loading 1.2M rows into memory"));
        assert!(all.contains("heap 248 MiB"), "{all}");
        assert!(!all.contains("ERROR"));
        assert!(container_logs(&pod, "app", true, NOW).is_ok());

        let pod = pod_with("fail", Behaviour::Fail);
        let logs = container_logs(&pod, "app", false, NOW).expect("logs");
        let all = texts(&logs.lines);
        assert_eq!(all.last().copied(), Some("exit status 1"));
        assert!(
            all.contains(
                &"FATAL: migration 0042_add_orders_index failed: relation \"orders\" does not exist"
            )
        );
        assert!(container_logs(&pod, "app", true, NOW).is_err());

        let pod = pod_with("unready", Behaviour::ReadinessFailing);
        let logs = container_logs(&pod, "app", false, NOW).expect("logs");
        assert_eq!(logs.live, Some(LiveKind::NotReady));
        assert!(texts(&logs.lines).iter().filter(|t| **t == NOT_READY_WARNING).count() > 10);
    }

    fn sample() -> Vec<LogLine> {
        (0..5)
            .map(|i| LogLine {
                at: datetime!(2026-11-21 17:00:00.5 UTC) + Duration::seconds(i * 10),
                text: format!("line {i}"),
            })
            .collect()
    }

    fn query(pairs: &[(&str, &str)]) -> LogQuery {
        let params = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        parse_log_query(&params, datetime!(2026-11-21 17:00:45 UTC)).expect("valid query")
    }

    fn rendered(pairs: &[(&str, &str)]) -> String {
        String::from_utf8(render(&sample(), &query(pairs))).expect("utf-8")
    }

    #[test]
    fn renders_all_lines_by_default() {
        assert_eq!(rendered(&[]), "line 0\nline 1\nline 2\nline 3\nline 4\n");
    }

    #[test]
    fn tail_lines_keeps_the_last_n() {
        assert_eq!(rendered(&[("tailLines", "2")]), "line 3\nline 4\n");
        assert_eq!(rendered(&[("tailLines", "0")]), "");
        assert_eq!(rendered(&[("tailLines", "99")]), rendered(&[]));
    }

    #[test]
    fn since_filters_by_timestamp() {
        // now = 17:00:45, so sinceSeconds=20 keeps lines at >= 17:00:25.
        assert_eq!(rendered(&[("sinceSeconds", "20")]), "line 3\nline 4\n");
        assert_eq!(rendered(&[("sinceTime", "2026-11-21T17:00:20Z")]), "line 2\nline 3\nline 4\n");
        // tail is applied before since, like the kubelet.
        assert_eq!(rendered(&[("tailLines", "1"), ("sinceTime", "2026-11-21T17:00:00Z")]), "line 4\n");
    }

    #[test]
    fn timestamps_prefix_rfc3339_nano() {
        assert_eq!(
            rendered(&[("timestamps", "true"), ("tailLines", "1")]),
            "2026-11-21T17:00:40.500000000Z line 4\n"
        );
    }

    #[test]
    fn limit_bytes_truncates() {
        assert_eq!(rendered(&[("limitBytes", "10")]), "line 0\nlin");
    }

    #[test]
    fn bad_queries_are_rejected() {
        let now = datetime!(2026-11-21 17:00:45 UTC);
        let bad = |pairs: &[(&str, &str)]| {
            let params: HashMap<String, String> =
                pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
            parse_log_query(&params, now).is_err()
        };
        assert!(bad(&[("tailLines", "x")]));
        assert!(bad(&[("tailLines", "-1")]));
        assert!(bad(&[("follow", "maybe")]));
        assert!(bad(&[("sinceTime", "yesterday")]));
        assert!(bad(&[("sinceSeconds", "5"), ("sinceTime", "2026-11-21T17:00:20Z")]));
        let q = query(&[("follow", "true"), ("previous", "1"), ("timestamps", "false")]);
        assert!(q.follow && q.previous && !q.timestamps);
    }
}
