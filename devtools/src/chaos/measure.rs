//! What a scenario came to, from four independent records: what each client got (the load's
//! record), what is stored (the raw results bucket record and `GET /debug/result`), what the
//! executors did (their JSON logs: `running the command` is logged once per execution, just
//! before the engine runs it), and what the receiver got (callbacks).
//!
//! Definitions (per scenario):
//! * **accepted**: a sync call answered 200, or an async call answered 202.
//! * **success / failure / timeout**: the accepted commands by their stored final status.
//! * **lost**: accepted, but no final result stored once its deadline and the drain passed
//!   (a `pending` record or none); a request whose exchange broke for another reason than its
//!   gateway being killed (worst case: it may have been accepted); a request in flight on a killed
//!   gateway whose command reached an executor or a callback but has no final result.
//! * **executed twice**: a command with more than one `running the command` line over every
//!   executor's log (every incarnation).
//! * **false results**: a sync answer whose status differs from `GET /debug/result` afterwards; a
//!   callback whose status or command differs from it; a stored result saying the command did not
//!   run ("it was not executed", "was not run (it expires there") for a command an executor ran;
//!   a stored success from an executor that did not log running it.
//! * **dropped callbacks**: an accepted async command with a `callback_url` whose callback did not
//!   arrive, arrived more than once, or arrived with a signature that does not verify; or a request
//!   in flight on a killed gateway that got more than one.
//! * **5xx**: HTTP 5xx answers to any request of the load or of the checks.
//! * **terminal events**: each accepted command must have exactly one `command.completed`,
//!   `command.failed` or `command.timeout` event in the events stream, matching its stored
//!   status (a mismatch is a false result).
//! * **recovery**: from the fault until commands succeed again: the completion of the first
//!   successful command submitted after the fault and after the last command that did not
//!   succeed (a sync answer's arrival; an async result's `executed_at`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use kubently_shared::protocol::CommandResult;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::load::{Kind, Outcome, Request};

/// What the executors' logs say.
#[derive(Debug, Default)]
pub struct ExecutorLogs {
    /// Command id → the executors that ran it (one entry per execution).
    pub runs: HashMap<Uuid, Vec<String>>,
    /// Correlation id → command id (any line in the command's span).
    pub by_correlation: HashMap<String, Uuid>,
    /// Commands delivered more than once.
    pub redelivered: HashSet<Uuid>,
}

impl ExecutorLogs {
    pub fn read(paths: &[PathBuf]) -> Self {
        let mut logs = Self::default();
        for path in paths {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            for line in text.lines() {
                let Ok(v) = serde_json::from_str::<Value>(line) else { continue };
                let span = &v["span"];
                let Some(id) = span["command_id"].as_str().and_then(|s| Uuid::parse_str(s).ok()) else {
                    continue;
                };
                if let Some(c) = span["correlation_id"].as_str().filter(|c| !c.is_empty()) {
                    logs.by_correlation.insert(c.to_string(), id);
                }
                if span["delivered"].as_u64().is_some_and(|d| d > 1) {
                    logs.redelivered.insert(id);
                }
                if v["message"] == "running the command" {
                    let who = v["executor_id"].as_str().unwrap_or("?").to_string();
                    logs.runs.entry(id).or_default().push(who);
                }
            }
        }
        logs
    }
}

/// `GET /debug/result/{id}` as the checks read it.
#[derive(Debug, Clone)]
pub enum Page {
    Found {
        status: String,
        error: Option<String>,
    },
    /// Any other HTTP status.
    Http(u16),
    /// No gateway answered.
    Unreadable(String),
}

/// One command's stored result: the raw record (read from the stream leader) and the page.
#[derive(Debug, Clone)]
pub struct Stored {
    pub raw: Option<CommandResult>,
    pub page: Page,
}

impl Stored {
    fn is_final(&self) -> bool {
        self.raw.as_ref().is_some_and(|r| r.status.is_final())
    }

    fn status(&self) -> Option<String> {
        match &self.page {
            Page::Found { status, .. } => Some(status.clone()),
            _ => self.raw.as_ref().map(|r| r.status.as_str().to_string()),
        }
    }

    fn error(&self) -> Option<String> {
        match &self.page {
            Page::Found { error, .. } => error.clone(),
            _ => self.raw.as_ref().and_then(|r| r.error.clone()),
        }
    }
}

/// One request the receiver got on a scenario's callback path.
#[derive(Debug, Clone)]
pub struct Callback {
    pub seq: u64,
    pub command_id: Option<Uuid>,
    pub status: String,
    pub answered: u16,
    /// The request's signature against the secret its 202 gave (`None`: no 202 to take it from).
    pub signature_ok: Option<bool>,
}

/// What the fault injection did, in seconds since the scenario started.
#[derive(Debug, Default, Clone)]
pub struct FaultLog {
    pub injected_at: f64,
    pub healed_at: Option<f64>,
    /// Gateway index → when it was killed.
    pub gateway_kills: Vec<(usize, f64)>,
    /// The command whose reply preceded the kill (was it redelivered, and run once?).
    pub watched: Option<Uuid>,
    pub notes: Vec<String>,
}

/// One line of the table, with what explains it.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub scenario: String,
    pub submitted: usize,
    pub accepted: usize,
    pub success: usize,
    pub failure: usize,
    pub timeout: usize,
    pub lost: usize,
    pub executed_twice: usize,
    pub false_results: usize,
    pub dropped_callbacks: usize,
    pub server_errors: usize,
    /// Accepted commands without a terminal event, and with more than one.
    pub events_missing: usize,
    pub events_twice: usize,
    /// Seconds; `None` if nothing succeeded after the fault.
    pub recovery: Option<f64>,
    pub notes: Vec<String>,
}

impl Row {
    pub fn targets_met(&self) -> bool {
        self.lost == 0
            && self.executed_twice == 0
            && self.false_results == 0
            && self.dropped_callbacks == 0
            && self.server_errors == 0
            && self.events_missing == 0
            && self.events_twice == 0
            && self.accepted > 0
    }
}

pub struct Evidence<'a> {
    pub scenario: &'a str,
    pub requests: &'a [Request],
    pub fault: &'a FaultLog,
    pub logs: &'a ExecutorLogs,
    pub stored: &'a HashMap<Uuid, Stored>,
    pub callbacks: &'a [Callback],
    /// Command id → its `command.*` events (`None`: the events stream could not be read).
    pub events: Option<&'a HashMap<Uuid, Vec<String>>>,
    pub started_wall: OffsetDateTime,
    /// 5xx answers of the checks' own reads.
    pub check_5xx: usize,
}

/// Whether a request broke because its gateway was killed while it was in flight.
pub fn in_flight_on_killed(r: &Request, fault: &FaultLog) -> bool {
    matches!(r.outcome, Outcome::Broken { .. })
        && fault.gateway_kills.iter().any(|(g, at)| *g == r.gateway && r.sent <= *at && *at <= r.done + 0.05)
}

/// The command a request that got no answer still created, from the executors' logs or its callback.
pub fn traced_command(r: &Request, logs: &ExecutorLogs, callbacks: &[Callback]) -> Option<Uuid> {
    logs.by_correlation
        .get(&r.correlation_id)
        .copied()
        .or_else(|| callbacks.iter().find(|c| c.seq == r.seq).and_then(|c| c.command_id))
}

pub fn measure(e: &Evidence<'_>) -> Row {
    let mut row = Row { scenario: e.scenario.to_string(), submitted: e.requests.len(), ..Row::default() };
    let mut problems: Vec<String> = Vec::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut callbacks_by_seq: HashMap<u64, Vec<&Callback>> = HashMap::new();
    for c in e.callbacks {
        callbacks_by_seq.entry(c.seq).or_default().push(c);
    }
    let mut killed_in_flight = (0usize, 0usize, 0usize); // (requests, traced and final, untraced)
    let (mut rerouted, mut unreachable, mut refused) = (0usize, 0usize, 0usize);

    for r in e.requests {
        rerouted += usize::from(r.rerouted);
        let id = match &r.outcome {
            Outcome::Answered { command_id, .. } | Outcome::Accepted { command_id, .. } => *command_id,
            Outcome::Refused { code, body } => {
                if *code >= 500 {
                    row.server_errors += 1;
                    problems.push(format!("#{} {}: HTTP {code}: {body}", r.seq, r.label));
                } else {
                    refused += 1;
                    problems.push(format!("#{} {}: refused with HTTP {code}: {body}", r.seq, r.label));
                }
                continue;
            }
            Outcome::Unreachable => {
                unreachable += 1;
                continue;
            }
            Outcome::Broken { error } => {
                if in_flight_on_killed(r, e.fault) {
                    killed_in_flight.0 += 1;
                    match traced_command(r, e.logs, e.callbacks) {
                        Some(id) if e.stored.get(&id).is_some_and(Stored::is_final) => {
                            killed_in_flight.1 += 1
                        }
                        Some(id) => {
                            row.lost += 1;
                            problems.push(format!(
                                "#{} {} (in flight on the killed gateway): command {id} has no final result",
                                r.seq, r.label
                            ));
                        }
                        None => killed_in_flight.2 += 1,
                    }
                    if r.kind == Kind::Callback && callbacks_by_seq.get(&r.seq).is_some_and(|c| c.len() > 1) {
                        row.dropped_callbacks += 1;
                        problems.push(format!("#{} {}: callback received more than once", r.seq, r.label));
                    }
                } else {
                    row.lost += 1;
                    problems.push(format!("#{} {}: exchange broke: {error}", r.seq, r.label));
                }
                continue;
            }
        };
        row.accepted += 1;
        let Some(stored) = e.stored.get(&id) else {
            row.lost += 1;
            problems.push(format!("#{} {}: command {id} was not checked", r.seq, r.label));
            continue;
        };
        if !stored.is_final() {
            row.lost += 1;
            problems.push(format!(
                "#{} {} ({:?}): command {id} has no final result: {}",
                r.seq,
                r.label,
                r.kind,
                stored.raw.as_ref().map_or("no record".to_string(), |x| x.status.as_str().to_string())
            ));
        }
        let status = stored.status().unwrap_or_default();
        match status.as_str() {
            "success" => row.success += 1,
            "failure" => row.failure += 1,
            "timeout" => row.timeout += 1,
            _ => {}
        }
        if status != "success" {
            *reasons.entry(reason(stored.error().as_deref().unwrap_or(""))).or_default() += 1;
        }
        let runs = e.logs.runs.get(&id).map(Vec::as_slice).unwrap_or_default();
        let mut falsehoods = Vec::new();
        if let Outcome::Answered { status: answered, .. } = &r.outcome
            && *answered != status
        {
            falsehoods.push(format!("answered {answered}, stored {status}"));
        }
        let error = stored.error().unwrap_or_default();
        if !runs.is_empty()
            && (error.contains("it was not executed") || error.contains("was not run (it expires there"))
        {
            falsehoods.push(format!("stored result says it did not run, but {} ran it", runs.join(", ")));
        }
        if status == "success"
            && let Some(raw) = &stored.raw
            && !runs.contains(&raw.executor_id)
        {
            falsehoods.push(format!("success from {} which did not log running it", raw.executor_id));
        }
        if r.kind == Kind::Callback {
            let got = callbacks_by_seq.get(&r.seq).map(Vec::as_slice).unwrap_or_default();
            let delivered: Vec<&&Callback> =
                got.iter().filter(|c| (200..300).contains(&c.answered)).collect();
            match delivered.len() {
                0 => {
                    row.dropped_callbacks += 1;
                    problems.push(format!("#{} {}: no callback for command {id}", r.seq, r.label));
                }
                1 => {}
                n => {
                    row.dropped_callbacks += 1;
                    problems.push(format!("#{} {}: {n} callbacks for command {id}", r.seq, r.label));
                }
            }
            for c in &delivered {
                if c.signature_ok == Some(false) {
                    row.dropped_callbacks += 1;
                    problems.push(format!("#{} {}: callback signature does not verify", r.seq, r.label));
                }
                if c.command_id != Some(id) || c.status != status {
                    falsehoods
                        .push(format!("callback says {} for {:?}, stored {status}", c.status, c.command_id));
                }
            }
        }
        if let Some(events) = e.events {
            let got = events.get(&id).map(Vec::as_slice).unwrap_or_default();
            let expected = match status.as_str() {
                "success" => "command.completed".to_string(),
                "failure" => "command.failed".to_string(),
                other => format!("command.{other}"),
            };
            match got {
                [] => {
                    row.events_missing += 1;
                    problems.push(format!("#{} {} {id}: no terminal event", r.seq, r.label));
                }
                [one] if *one != expected => falsehoods.push(format!("event {one}, stored {status}")),
                [_] => {}
                many => {
                    row.events_twice += 1;
                    problems.push(format!("#{} {} {id}: events {}", r.seq, r.label, many.join(", ")));
                }
            }
        }
        if !falsehoods.is_empty() {
            row.false_results += 1;
            problems.push(format!("#{} {} {id}: false result: {}", r.seq, r.label, falsehoods.join("; ")));
        }
    }
    for (id, runs) in &e.logs.runs {
        if runs.len() > 1 {
            row.executed_twice += 1;
            problems.push(format!("command {id} executed {} times (by {})", runs.len(), runs.join(", ")));
        }
    }
    row.server_errors += e.check_5xx;
    row.recovery = recovery(e);

    // What explains the numbers.
    row.notes.extend(e.fault.notes.iter().cloned());
    if let Some(id) = e.fault.watched {
        let runs = e.logs.runs.get(&id).map_or(0, Vec::len);
        let redelivered = e.logs.redelivered.contains(&id);
        row.notes.push(format!(
            "command {id} (replied just before the kill): {}, executed {runs} time(s), stored {}",
            if redelivered {
                "not acked, redelivered and answered from the claim's stored result"
            } else {
                "acked before the kill (not redelivered)"
            },
            e.stored.get(&id).and_then(|s| s.status()).unwrap_or_else(|| "nothing".into())
        ));
    }
    if !reasons.is_empty() {
        let list: Vec<String> = reasons.iter().map(|(k, n)| format!("{n} × {k}")).collect();
        row.notes.push(format!("failures/timeouts: {}", list.join("; ")));
    }
    let redelivered = e.logs.redelivered.len();
    if redelivered > 0 {
        row.notes.push(format!("{redelivered} commands redelivered (a later delivery found the claim)"));
    }
    if killed_in_flight.0 > 0 {
        row.notes.push(format!(
            "{} requests in flight on the killed gateway (connection reset, not 5xx): {} reached the queue and ended with a stored final result, {} left no trace (the gateway died before queueing them)",
            killed_in_flight.0, killed_in_flight.1, killed_in_flight.2
        ));
    }
    if rerouted > 0 {
        row.notes.push(format!(
            "{rerouted} requests refused at the connection by a down gateway went to the other one"
        ));
    }
    if unreachable > 0 {
        row.notes.push(format!("{unreachable} requests reached no gateway"));
    }
    if refused > 0 {
        row.notes.push(format!("{refused} requests refused with a 4xx"));
    }
    if let Some(max) = e
        .requests
        .iter()
        .filter(|r| !r.long && matches!(&r.outcome, Outcome::Answered { status, .. } if status == "success"))
        .map(|r| r.done - r.sent)
        .reduce(f64::max)
    {
        row.notes.push(format!("slowest successful sync answer of a short command {max:.2} s"));
    }
    for p in problems.iter().take(12) {
        row.notes.push(format!("PROBLEM: {p}"));
    }
    if problems.len() > 12 {
        row.notes.push(format!("PROBLEM: … and {} more", problems.len() - 12));
    }
    row
}

/// The error text of a failure or timeout, reduced to its kind.
fn reason(error: &str) -> String {
    let kinds = [
        ("is gone (no heartbeat)", "claimant executor gone: failure, not run again"),
        ("stopped answering before its deadline", "claimant executor silent: timeout, not run again"),
        (
            "took the command (at",
            "taken by an executor that did not answer by the deadline: timeout, not run again",
        ),
        ("executor did not answer within", "no answer by the deadline (executor connected)"),
        ("no executor connected", "no answer by the deadline (no executor connected)"),
        ("expired before it could run", "expired in the queue, not run"),
        ("no executor finished it", "max deliveries exhausted"),
        ("did not finish within its", "the command outran its deadline"),
    ];
    kinds
        .iter()
        .find(|(needle, _)| error.contains(needle))
        .map_or_else(|| error.chars().take(80).collect(), |(_, kind)| kind.to_string())
}

fn recovery(e: &Evidence<'_>) -> Option<f64> {
    let fault = e.fault.injected_at;
    let completed = |r: &Request| -> Option<(bool, f64)> {
        match &r.outcome {
            Outcome::Answered { status, .. } => Some((status == "success", r.done)),
            Outcome::Accepted { command_id, .. } => {
                let raw = e.stored.get(command_id)?.raw.as_ref()?;
                let at = (raw.executed_at - e.started_wall).as_seconds_f64();
                Some((raw.status.as_str() == "success", at))
            }
            Outcome::Unreachable => None,
            _ => Some((false, r.done)),
        }
    };
    let after: Vec<(f64, bool, f64)> = e
        .requests
        .iter()
        .filter(|r| r.sent >= fault)
        .filter_map(|r| completed(r).map(|(ok, at)| (r.sent, ok, at)))
        .collect();
    let last_bad = after.iter().filter(|(_, ok, _)| !ok).map(|(sent, ..)| *sent).reduce(f64::max);
    after
        .iter()
        .filter(|(sent, ok, _)| *ok && last_bad.is_none_or(|b| *sent > b))
        .map(|(_, _, at)| *at - fault)
        .reduce(f64::min)
}
