//! The wire protocol: every message that crosses NATS, as versioned JSON.
//!
//! Each message carries `v`, the protocol's *major* version ([`PROTOCOL_VERSION`]). Additive
//! changes (a new optional field) keep `v`: decoders ignore fields they do not know, and new
//! fields are `#[serde(default)]`. A change old peers would misread bumps `v`, and [`decode`]
//! refuses a major version it does not speak with [`Error::UnsupportedVersion`] instead of
//! guessing. Timestamps are RFC 3339 strings; ids are UUIDs (v7 for commands and events, so
//! they sort by time).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::names::Names;
use crate::policy::KubectlRequest;
use crate::{Error, Result};

/// The protocol major version this build speaks and writes.
pub const PROTOCOL_VERSION: u16 = 1;

/// A message that travels over NATS.
pub trait WireMessage: Serialize + DeserializeOwned {
    /// What the message is called in errors and logs.
    const KIND: &'static str;

    /// The message's `v`.
    fn version(&self) -> u16;

    /// [`encode`]
    fn to_bytes(&self) -> Result<Bytes> {
        encode(self)
    }

    /// [`decode`]
    fn from_bytes(payload: &[u8]) -> Result<Self> {
        decode(payload)
    }
}

/// Serialises a message to JSON.
pub fn encode<T: WireMessage>(message: &T) -> Result<Bytes> {
    serde_json::to_vec(message).map(Bytes::from).map_err(|source| Error::Encode {
        kind: T::KIND,
        version: message.version(),
        source,
    })
}

/// Parses a message, first checking its `v`: a message without `v` or from another major
/// version is refused with a clear error before its shape is looked at.
pub fn decode<T: WireMessage>(payload: &[u8]) -> Result<T> {
    #[derive(Deserialize)]
    struct VersionProbe {
        v: Option<u16>,
    }
    let probe: VersionProbe =
        serde_json::from_slice(payload).map_err(|source| Error::Decode { kind: T::KIND, source })?;
    match probe.v {
        Some(PROTOCOL_VERSION) => {
            serde_json::from_slice(payload).map_err(|source| Error::Decode { kind: T::KIND, source })
        }
        Some(found) => Err(Error::UnsupportedVersion { kind: T::KIND, found, supported: PROTOCOL_VERSION }),
        None => Err(Error::Decode { kind: T::KIND, source: serde::de::Error::missing_field("v") }),
    }
}

fn protocol_version() -> u16 {
    PROTOCOL_VERSION
}

/// Who asked. Inside the signed command, so an executor can trust it: it names the caller in the
/// cluster (impersonation) and in every record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// The owner name: an API key's service name, or `<issuer name>:<subject>` for a bearer token
    /// (service names hold no `:`, so the two never meet).
    pub service: String,
    /// Set when the caller presented a bearer token: which issuer vouched for which subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenIdentity>,
    /// Who the caller is in Kubernetes, when the gateway maps it to someone. A cluster that runs
    /// commands as the caller (impersonation) refuses a command without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesIdentity>,
}

impl Caller {
    /// A caller known only by its owner name (an API key without a Kubernetes identity).
    pub fn service(service: impl Into<String>) -> Self {
        Self { service: service.into(), token: None, kubernetes: None }
    }
}

/// The issuer and subject of a validated bearer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenIdentity {
    pub issuer: String,
    pub subject: String,
}

/// A Kubernetes user and its groups, before the cluster's impersonation prefix is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubernetesIdentity {
    pub user: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// One read-only command for one cluster. Published on the cluster's command subject with
/// `Nats-Msg-Id` = `id`; the executor answers on `reply_to` with a [`CommandResult`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    #[serde(default = "protocol_version")]
    pub v: u16,
    /// UUID v7.
    pub id: Uuid,
    pub cluster_id: String,
    pub request: KubectlRequest,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// After this instant the executor answers [`CommandStatus::Timeout`] instead of running it.
    #[serde(with = "time::serde::rfc3339")]
    pub deadline: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    pub caller: Caller,
    /// Core-NATS subject the result goes to (`kubently.reply.<gateway>.<id>`).
    pub reply_to: String,
    /// Largest output the caller wants inline; the executor cuts larger output and says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_budget_bytes: Option<u64>,
    /// The gateway takes the final result the executor stores, as the results bucket republishes
    /// it ([`crate::names::STORED_SUBJECT_PREFIX`]), for its reply: the executor sends no reply
    /// of its own after storing one. Absent (an older gateway): the executor replies to `reply_to`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reply_from_store: bool,
}

impl WireMessage for Command {
    const KIND: &'static str = "command";
    fn version(&self) -> u16 {
        self.v
    }
}

impl Command {
    /// A new command with a fresh v7 id, issued `now`, due `timeout` later.
    pub fn new(
        cluster_id: impl Into<String>,
        request: KubectlRequest,
        caller: Caller,
        reply_to: impl Into<String>,
        now: OffsetDateTime,
        timeout: Duration,
    ) -> Self {
        Self {
            v: PROTOCOL_VERSION,
            id: Uuid::now_v7(),
            cluster_id: cluster_id.into(),
            request,
            issued_at: now,
            deadline: now.saturating_add(time::Duration::try_from(timeout).unwrap_or(time::Duration::MAX)),
            correlation_id: None,
            session_id: None,
            caller,
            reply_to: reply_to.into(),
            output_budget_bytes: None,
            reply_from_store: false,
        }
    }

    /// True once `now` has reached the deadline.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.deadline
    }

    /// Time left until the deadline; `None` once it has passed.
    pub fn remaining(&self, now: OffsetDateTime) -> Option<Duration> {
        let left = self.deadline - now;
        if left.is_positive() { Duration::try_from(left).ok() } else { None }
    }
}

/// Where a command stands, on the wire and in every API response, result page, event and
/// callback: `pending`, `success`, `failure` or `timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CommandStatus {
    /// Accepted (async execute); no executor has answered yet. Only ever stored in the results
    /// bucket, never sent by an executor.
    Pending,
    Success,
    Failure,
    /// No result by the deadline. An executor that picks a command up after its deadline answers
    /// this instead of running it (older executors wrote `expired`).
    #[serde(alias = "expired")]
    Timeout,
}

impl CommandStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Timeout => "timeout",
        }
    }

    /// Pending is the only status that can still change.
    pub fn is_final(self) -> bool {
        self != Self::Pending
    }
}

impl fmt::Display for CommandStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the output is, so agents know what they got and whether it was cut.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OutputMeta {
    /// `table`, `json`, `yaml`, `logs`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Size of the full output (before any cut).
    pub bytes: u64,
    /// True when `output` is shorter than the full output (kept in the results bucket).
    pub truncated: bool,
    /// Lines of the full output.
    #[serde(default)]
    pub lines: u64,
    /// Bytes of `output` as sent (≤ the budget plus the footer).
    #[serde(default)]
    pub returned_bytes: u64,
    /// Rough token count of `output` as sent (bytes / 4): what it costs an agent's context.
    #[serde(default)]
    pub tokens_estimate: u64,
    /// What kubectl writes to stderr besides the output (`Found 3 pods, using pod/x`), kept out
    /// of `output`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
}

/// The executor's answer to a [`Command`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandResult {
    #[serde(default = "protocol_version")]
    pub v: u16,
    pub command_id: Uuid,
    pub cluster_id: String,
    pub status: CommandStatus,
    pub output: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub execution_time_ms: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub executed_at: OffsetDateTime,
    pub executor_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<OutputMeta>,
    /// The caller that issued the command: only it (or an admin) may read the stored result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    /// The kubectl verb (`get`, `rollout status`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verb: Option<String>,
    /// The command's deadline; set on pending records, so a reader can tell "still running" from
    /// "nobody answered in time".
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub deadline: Option<OffsetDateTime>,
    /// On replies and on the final results executors store: the signature of the command
    /// message this answers (see [`crate::signing`]), so a gateway takes it only for the very
    /// message it signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_signature: Option<String>,
}

impl WireMessage for CommandResult {
    const KIND: &'static str = "command result";
    fn version(&self) -> u16 {
        self.v
    }
}

impl CommandResult {
    /// A result for `command` with empty output, no error and no timing yet.
    pub fn new(
        command: &Command,
        status: CommandStatus,
        executor_id: impl Into<String>,
        executed_at: OffsetDateTime,
    ) -> Self {
        Self {
            v: PROTOCOL_VERSION,
            command_id: command.id,
            cluster_id: command.cluster_id.clone(),
            status,
            output: String::new(),
            error: None,
            execution_time_ms: 0,
            executed_at,
            executor_id: executor_id.into(),
            meta: None,
            caller: Some(command.caller.service.clone()),
            verb: Some(command.request.verb().to_string()),
            deadline: None,
            command_signature: None,
        }
    }

    /// What the gateway stores when it accepts an async command.
    pub fn pending(command: &Command, accepted_at: OffsetDateTime) -> Self {
        Self {
            deadline: Some(command.deadline),
            executor_id: String::new(),
            ..Self::new(command, CommandStatus::Pending, "", accepted_at)
        }
    }

    /// The answer to a command whose deadline passed before it could run.
    pub fn expired(command: &Command, executor_id: impl Into<String>, now: OffsetDateTime) -> Self {
        let deadline = command
            .deadline
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| command.deadline.to_string());
        Self {
            error: Some(format!(
                "command expired before it could run (deadline {deadline}); it was not executed"
            )),
            ..Self::new(command, CommandStatus::Timeout, executor_id, now)
        }
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "session.created")]
    SessionCreated,
    #[serde(rename = "session.closed")]
    SessionClosed,
    #[serde(rename = "command.completed")]
    CommandCompleted,
    #[serde(rename = "command.failed")]
    CommandFailed,
    #[serde(rename = "command.timeout")]
    CommandTimeout,
    #[serde(rename = "cluster.connected")]
    ClusterConnected,
    #[serde(rename = "cluster.disconnected")]
    ClusterDisconnected,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        Self::SessionCreated,
        Self::SessionClosed,
        Self::CommandCompleted,
        Self::CommandFailed,
        Self::CommandTimeout,
        Self::ClusterConnected,
        Self::ClusterDisconnected,
    ];

    /// The dotted name, as on the wire and in subjects (`command.completed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SessionCreated => "session.created",
            Self::SessionClosed => "session.closed",
            Self::CommandCompleted => "command.completed",
            Self::CommandFailed => "command.failed",
            Self::CommandTimeout => "command.timeout",
            Self::ClusterConnected => "cluster.connected",
            Self::ClusterDisconnected => "cluster.disconnected",
        }
    }
}

impl EventType {
    /// The event a final status emits (`command.completed`, `.failed`, `.timeout`); none while pending.
    pub fn for_status(status: CommandStatus) -> Option<Self> {
        match status {
            CommandStatus::Pending => None,
            CommandStatus::Success => Some(Self::CommandCompleted),
            CommandStatus::Failure => Some(Self::CommandFailed),
            CommandStatus::Timeout => Some(Self::CommandTimeout),
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| format!("unknown event type `{s}`"))
    }
}

/// A state change, published on `kubently.events.<type>.<cluster>` and fanned out to webhooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(default = "protocol_version")]
    pub v: u16,
    /// UUID v7; also the event message's `Nats-Msg-Id`.
    pub id: Uuid,
    pub event_type: EventType,
    pub cluster_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    #[serde(default)]
    pub data: serde_json::Value,
    /// The caller whose session or command this event is about (`session.*`, `command.*`); only
    /// that caller's (and admins') webhook subscriptions receive it. `None` for cluster events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
}

impl WireMessage for Event {
    const KIND: &'static str = "event";
    fn version(&self) -> u16 {
        self.v
    }
}

impl Event {
    /// The caller this event is about (see [`Event::caller`]).
    pub fn by(mut self, caller: impl Into<String>) -> Self {
        self.caller = Some(caller.into());
        self
    }

    /// A new event with a fresh v7 id, stamped `now`.
    pub fn new(
        event_type: EventType,
        cluster_id: impl Into<String>,
        data: serde_json::Value,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            v: PROTOCOL_VERSION,
            id: Uuid::now_v7(),
            event_type,
            cluster_id: cluster_id.into(),
            timestamp: now,
            data,
            caller: None,
        }
    }

    /// `kubently.events.<type>.<cluster>` in the production names.
    pub fn subject(&self) -> String {
        self.subject_in(&Names::default())
    }

    /// The event's subject in `names` (honours an isolation prefix).
    pub fn subject_in(&self, names: &Names) -> String {
        names.event_subject(self.event_type.as_str(), &self.cluster_id)
    }
}

/// How often the executor re-polls for commands (see the cluster-active bucket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FetchMode {
    Fast,
    Slow,
}

/// An executor's presence record: value in the executors bucket under `<cluster>.<executor_id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutorInfo {
    #[serde(default = "protocol_version")]
    pub v: u16,
    pub cluster_id: String,
    pub executor_id: String,
    /// The executor's own version.
    pub version: String,
    pub hostname: String,
    /// `<namespace>/<pod>` when running in Kubernetes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    pub mode: FetchMode,
    pub in_flight: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen: OffsetDateTime,
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// What the executor's Kubernetes identity may do, from its privilege self-check at start.
    /// Absent from executors older than the check, and when the check could not run (only
    /// possible with `executor.allow_write_identity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessReport>,
}

/// The executor identity's effective access, as the API server reported it at the executor's start
/// (SelfSubjectAccessReview / SelfSubjectRulesReview). Namespace lists hold `"*"` alone when the
/// access covers every namespace, and are empty when there is none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccessReport {
    /// Namespaces whose pods (and the rest of the read-only vocabulary) it may list.
    pub namespaces: Vec<String>,
    /// Namespaces where it may read Secrets (`describe secret` shows keys and sizes; values are
    /// redacted whatever the identity may read).
    pub secrets: Vec<String>,
    /// Namespaces where it may read container logs (`pods/log`).
    pub logs: Vec<String>,
    /// Namespaces where it may read pod metrics (`metrics.k8s.io`; `top pods`).
    pub metrics: Vec<String>,
    /// True when the identity can change the cluster and the executor runs anyway because
    /// `executor.allow_write_identity` is set (lab use only).
    pub write_identity: bool,
    /// The dangerous permissions the identity holds (writes, exec/attach/port-forward,
    /// impersonate, escalate, bind, approve), one readable line each. Empty unless
    /// `write_identity`: otherwise the executor refuses to start.
    pub dangerous_permissions: Vec<String>,
    /// False when some namespace's rules review was incomplete (an authorizer besides RBAC that
    /// cannot list its rules); then only the probed permissions are certain.
    pub complete: bool,
}

impl AccessReport {
    /// True when `list` names every namespace (`["*"]`).
    pub fn everywhere(list: &[String]) -> bool {
        list.iter().any(|n| n == "*")
    }
}

impl WireMessage for ExecutorInfo {
    const KIND: &'static str = "executor info";
    fn version(&self) -> u16 {
        self.v
    }
}

/// A debug session: value in the sessions bucket under its id, with per-key TTL = `ttl_seconds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    #[serde(default = "protocol_version")]
    pub v: u16,
    pub session_id: String,
    pub cluster_id: String,
    /// The caller (API key service name) that created it; only it may use or end the session.
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_identity: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub ttl_seconds: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub last_activity: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub command_count: u64,
    /// Set by `DELETE /debug/session/{id}`; the record stays readable (status `ended`) for the
    /// gateway's retention period.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
}

impl WireMessage for SessionRecord {
    const KIND: &'static str = "session record";
    fn version(&self) -> u16 {
        self.v
    }
}

impl SessionRecord {
    /// The session's TTL as a duration (the KV per-key TTL to write it with).
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(u64::from(self.ttl_seconds))
    }

    /// True once `now` has reached `expires_at`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }

    /// Keep-alive: activity at `now` moves `expires_at` to `now + ttl`.
    pub fn touch(&mut self, now: OffsetDateTime) {
        self.last_activity = now;
        self.expires_at = now + time::Duration::seconds(i64::from(self.ttl_seconds));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;

    fn command() -> Command {
        Command {
            v: PROTOCOL_VERSION,
            id: Uuid::parse_str("01890a5d-ac96-774b-bcce-b302099a8057").expect("uuid"),
            cluster_id: "local".into(),
            request: KubectlRequest::Version,
            issued_at: datetime!(2025-01-02 03:04:05.5 UTC),
            deadline: datetime!(2025-01-02 03:04:35.5 UTC),
            correlation_id: Some("corr-1".into()),
            session_id: None,
            caller: Caller::service("agent"),
            reply_to: "kubently.reply.gw-1.01890a5d-ac96-774b-bcce-b302099a8057".into(),
            output_budget_bytes: Some(65536),
            reply_from_store: false,
        }
    }

    fn result() -> CommandResult {
        CommandResult {
            output: "NAME READY".into(),
            execution_time_ms: 42,
            meta: Some(OutputMeta {
                kind: Some("table".into()),
                rows: Some(3),
                bytes: 10,
                lines: 1,
                returned_bytes: 10,
                tokens_estimate: 3,
                truncated: false,
                notices: vec![],
            }),
            ..CommandResult::new(
                &command(),
                CommandStatus::Success,
                "exec-1",
                datetime!(2025-01-02 03:04:06 UTC),
            )
        }
    }

    fn executor_info() -> ExecutorInfo {
        ExecutorInfo {
            v: PROTOCOL_VERSION,
            cluster_id: "local".into(),
            executor_id: "exec-1".into(),
            version: "0.1.0".into(),
            hostname: "node-a".into(),
            pod: Some("kubently/executor-0".into()),
            kubernetes_version: Some("v1.20.2".into()),
            mode: FetchMode::Fast,
            in_flight: 2,
            started_at: datetime!(2025-01-02 03:00:00 UTC),
            last_seen: datetime!(2025-01-02 03:04:00 UTC),
            capabilities: vec!["logs".into(), "top".into()],
            access: Some(AccessReport {
                namespaces: vec!["*".into()],
                secrets: vec![],
                logs: vec!["*".into()],
                metrics: vec!["*".into()],
                write_identity: false,
                dangerous_permissions: vec![],
                complete: true,
            }),
        }
    }

    fn session() -> SessionRecord {
        SessionRecord {
            v: PROTOCOL_VERSION,
            session_id: "6f1c".into(),
            cluster_id: "local".into(),
            owner: "agent".into(),
            user_id: Some("alice".into()),
            correlation_id: None,
            service_identity: Some("sre-bot".into()),
            created_at: datetime!(2025-01-02 03:00:00 UTC),
            ttl_seconds: 300,
            last_activity: datetime!(2025-01-02 03:00:00 UTC),
            expires_at: datetime!(2025-01-02 03:05:00 UTC),
            command_count: 0,
            ended_at: None,
        }
    }

    fn round_trip<T: WireMessage + PartialEq + fmt::Debug>(message: &T) {
        let bytes = message.to_bytes().expect("encode");
        assert_eq!(&T::from_bytes(&bytes).expect("decode"), message);
    }

    #[test]
    fn every_message_round_trips() {
        round_trip(&command());
        let get: KubectlRequest = serde_json::from_value(json!({
            "verb": "get",
            "targets": [{"resource": "pods", "names": ["web-1"]}],
            "namespace": {"scope": "namespace", "name": "shop"},
            "label_selector": "app=web",
            "output": {"format": "wide"}
        }))
        .expect("a get request");
        round_trip(&Command { request: get, session_id: Some("s-1".into()), ..command() });
        round_trip(&result());
        round_trip(&CommandResult::expired(&command(), "exec-1", datetime!(2025-01-02 03:05:00 UTC)));
        round_trip(&executor_info());
        round_trip(&ExecutorInfo { access: None, ..executor_info() });
        round_trip(&session());
        round_trip(&SessionRecord { ended_at: Some(datetime!(2025-01-02 03:01:00 UTC)), ..session() });
        for t in EventType::ALL {
            round_trip(&Event::new(
                t,
                "local",
                json!({"command_id": "x", "n": 1}),
                datetime!(2025-01-02 03:04:05 UTC),
            ));
        }
    }

    #[test]
    fn command_json_shape() {
        let value: serde_json::Value =
            serde_json::from_slice(&command().to_bytes().expect("encode")).expect("json");
        assert_eq!(
            value,
            json!({
                "v": 1,
                "id": "01890a5d-ac96-774b-bcce-b302099a8057",
                "cluster_id": "local",
                "request": {"verb": "version"},
                "issued_at": "2025-01-02T03:04:05.5Z",
                "deadline": "2025-01-02T03:04:35.5Z",
                "correlation_id": "corr-1",
                "caller": {"service": "agent"},
                "reply_to": "kubently.reply.gw-1.01890a5d-ac96-774b-bcce-b302099a8057",
                "output_budget_bytes": 65536
            })
        );
    }

    #[test]
    fn result_event_and_record_shapes() {
        let value = serde_json::to_value(CommandResult::expired(
            &command(),
            "exec-1",
            datetime!(2025-01-02 03:05:00 UTC),
        ))
        .expect("json");
        assert_eq!(value["status"], "timeout");
        let older: CommandStatus = serde_json::from_value(json!("expired")).expect("older executors' word");
        assert_eq!(older, CommandStatus::Timeout);
        assert_eq!(value["command_id"], "01890a5d-ac96-774b-bcce-b302099a8057");
        assert!(value["error"].as_str().is_some_and(|e| e.contains("2025-01-02T03:04:35.5Z")), "{value}");
        assert_eq!(serde_json::to_value(result()).expect("json")["status"], "success");
        assert_eq!(serde_json::to_value(CommandStatus::Failure).expect("json"), "failure");

        let event =
            Event::new(EventType::CommandCompleted, "local", json!({}), datetime!(2025-01-02 03:04:05 UTC));
        assert_eq!(serde_json::to_value(&event).expect("json")["event_type"], "command.completed");
        assert_eq!(event.subject(), "kubently.events.command.completed.local");
        let names = Names::with_prefix("T1").expect("prefix");
        assert_eq!(event.subject_in(&names), "T1.kubently.events.command.completed.local");
        for t in EventType::ALL {
            assert_eq!(serde_json::to_value(t).expect("json"), t.as_str());
            assert_eq!(t.as_str().parse::<EventType>(), Ok(t));
        }
        assert!("command.exploded".parse::<EventType>().is_err());

        let info = serde_json::to_value(executor_info()).expect("json");
        assert_eq!(
            (info["mode"].as_str(), info["last_seen"].as_str()),
            (Some("fast"), Some("2025-01-02T03:04:00Z"))
        );
    }

    #[test]
    fn presence_records_without_or_with_partial_access_still_decode() {
        let mut old = serde_json::to_value(executor_info()).expect("json");
        old.as_object_mut().expect("object").remove("access");
        let decoded =
            ExecutorInfo::from_bytes(&serde_json::to_vec(&old).expect("bytes")).expect("older record");
        assert_eq!(decoded.access, None, "an executor older than the self-check publishes no access");

        let mut newer = serde_json::to_value(executor_info()).expect("json");
        newer["access"] = json!({"secrets": ["*"], "a_field_from_the_future": 1});
        let decoded = ExecutorInfo::from_bytes(&serde_json::to_vec(&newer).expect("bytes")).expect("newer");
        let access = decoded.access.expect("access");
        assert_eq!(
            (access.secrets, access.namespaces, access.write_identity),
            (vec!["*".into()], vec![], false)
        );
        assert!(AccessReport::everywhere(&["*".into()]) && !AccessReport::everywhere(&["demo".into()]));
    }

    #[test]
    fn unknown_versions_are_refused() {
        let mut value = serde_json::to_value(command()).expect("json");
        value["v"] = json!(2);
        let err = Command::from_bytes(&serde_json::to_vec(&value).expect("bytes")).expect_err("v2 refused");
        assert!(matches!(err, Error::UnsupportedVersion { found: 2, supported: 1, .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "cannot decode command: protocol version 2 is not supported (this build speaks v1)"
        );

        // A future major version may change every other field: the version check comes first.
        let err = decode::<CommandResult>(br#"{"v": 7, "something": "else"}"#).expect_err("v7 refused");
        assert!(matches!(err, Error::UnsupportedVersion { found: 7, .. }), "{err:?}");

        let err = decode::<Event>(br#"{"id": "x"}"#).expect_err("missing v refused");
        assert!(err.to_string().contains("missing field `v`"), "{err}");
        assert!(matches!(decode::<Event>(b"not json"), Err(Error::Decode { .. })));
        assert!(matches!(decode::<Event>(br#"{"v": 0}"#), Err(Error::UnsupportedVersion { found: 0, .. })));
    }

    #[test]
    fn unknown_fields_from_a_newer_minor_are_ignored() {
        let mut value = serde_json::to_value(session()).expect("json");
        value["added_later"] = json!({"x": 1});
        assert_eq!(
            SessionRecord::from_bytes(&serde_json::to_vec(&value).expect("bytes")).expect("decode"),
            session()
        );
    }

    #[test]
    fn deadlines() {
        let now = datetime!(2025-01-02 03:00:00 UTC);
        let cmd = Command::new(
            "local",
            KubectlRequest::Version,
            Caller::service("agent"),
            "kubently.reply.gw.x",
            now,
            Duration::from_secs(30),
        );
        assert_eq!(cmd.id.get_version_num(), 7);
        assert_eq!(cmd.deadline, datetime!(2025-01-02 03:00:30 UTC));
        assert_eq!(cmd.remaining(now), Some(Duration::from_secs(30)));
        assert!(!cmd.is_expired(now));
        assert_eq!(cmd.remaining(datetime!(2025-01-02 03:00:29.75 UTC)), Some(Duration::from_millis(250)));
        assert!(cmd.is_expired(datetime!(2025-01-02 03:00:30 UTC)));
        assert_eq!(cmd.remaining(datetime!(2025-01-02 03:00:30 UTC)), None);
        assert_eq!(cmd.remaining(datetime!(2025-01-02 03:01:00 UTC)), None);

        let mut s = session();
        assert_eq!(s.ttl(), Duration::from_secs(300));
        assert!(s.is_expired(datetime!(2025-01-02 03:05:00 UTC)));
        s.touch(datetime!(2025-01-02 03:04:00 UTC));
        assert_eq!(s.expires_at, datetime!(2025-01-02 03:09:00 UTC));
        assert!(!s.is_expired(datetime!(2025-01-02 03:05:00 UTC)));
    }
}
