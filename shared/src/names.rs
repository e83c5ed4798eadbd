//! Every NATS subject, stream, bucket and header name, and the server version the project runs on.
//! Code never spells these as literals elsewhere.

/// nats-server version used by the dev stack, the tests and `compose.yaml`.
pub const NATS_SERVER_VERSION: &str = "2.15.1";
/// Oldest nats-server with per-key TTLs and KV delete markers, which Kubently requires.
pub const NATS_SERVER_MIN_VERSION: (u64, u64) = (2, 11);

/// Work-queue stream holding one message per command.
pub const COMMANDS_STREAM: &str = "KUBENTLY_COMMANDS";
/// Commands for a cluster are published on `kubently.cmd.<cluster>`.
pub const COMMAND_SUBJECT_PREFIX: &str = "kubently.cmd";
/// Replies go to `kubently.reply.<cluster>.<gateway-instance>.<command_id>`.
pub const REPLY_SUBJECT_PREFIX: &str = "kubently.reply";
/// nats-server republishes every record the results bucket stores on
/// `kubently.stored.<cluster>.<command_id>` (a stream RePublish: only what the stream accepted, and
/// no client may publish there); a gateway takes a final result from here as its command's reply.
pub const STORED_SUBJECT_PREFIX: &str = "kubently.stored";
/// An executor asks the gateways for its cluster's consumer on `kubently.provision.<cluster>`.
pub const PROVISION_SUBJECT_PREFIX: &str = "kubently.provision";
/// Queue group in which one gateway answers each provisioning request.
pub const PROVISION_QUEUE_GROUP: &str = "kubently-gateways-provision";
/// Executors' inboxes: `_INBOX_kubently.[<prefix>.]<cluster>.<random>` (their own, so NATS
/// permissions can give each cluster's executors only theirs).
pub const EXECUTOR_INBOX_ROOT: &str = "_INBOX_kubently";
/// Event stream, subjects `kubently.events.<type>.<cluster>`.
pub const EVENTS_STREAM: &str = "KUBENTLY_EVENTS";
pub const EVENT_SUBJECT_PREFIX: &str = "kubently.events";

/// KV buckets.
pub const CLUSTER_ACTIVE_BUCKET: &str = "KUBENTLY_CLUSTER_ACTIVE";
pub const SESSIONS_BUCKET: &str = "KUBENTLY_SESSIONS";
pub const EXECUTORS_BUCKET: &str = "KUBENTLY_EXECUTORS";
pub const RESULTS_BUCKET: &str = "KUBENTLY_RESULTS";

/// NATS headers.
pub const HEADER_MSG_ID: &str = "Nats-Msg-Id";
pub const HEADER_TTL: &str = "Nats-TTL";

/// Every command subject: `kubently.cmd.>` (the commands stream's subjects).
pub const COMMAND_SUBJECTS: &str = "kubently.cmd.>";
/// Every event subject: `kubently.events.>` (the events stream's subjects).
pub const EVENTS_SUBJECTS: &str = "kubently.events.>";
/// Audit stream: one record per command (who, cluster, argv, outcome; never the output),
/// subjects `kubently.audit.<cluster>`.
pub const AUDIT_STREAM: &str = "KUBENTLY_AUDIT";
pub const AUDIT_SUBJECT_PREFIX: &str = "kubently.audit";
pub const AUDIT_SUBJECTS: &str = "kubently.audit.>";
/// Known-clusters bucket: every cluster id ever seen, no TTL.
pub const CLUSTERS_BUCKET: &str = "KUBENTLY_CLUSTERS";
/// `<cluster>.<command id>` → the executor that took the command (per-key TTL = command max age).
pub const CLAIMS_BUCKET: &str = "KUBENTLY_CLAIMS";
/// A2A tasks: task id → the task and, while it runs, the lease of the gateway running it.
pub const A2A_TASKS_BUCKET: &str = "KUBENTLY_A2A_TASKS";
/// A2A push notification configs: task id → that task's configs.
pub const A2A_PUSH_BUCKET: &str = "KUBENTLY_A2A_PUSH";
/// JetStream's advisory when a consumer gives up on a message after `max_deliver` deliveries;
/// followed by `.<stream>.<consumer>`.
pub const MAX_DELIVERIES_ADVISORY_PREFIX: &str = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES";
/// Queue group in which one gateway answers each exhausted command.
pub const EXHAUSTED_QUEUE_GROUP: &str = "kubently-gateways-exhausted";
/// The durable pull consumer of a cluster is `executor-<cluster>`.
pub const EXECUTOR_CONSUMER_PREFIX: &str = "executor";

/// A command's signature and the public key of its signer (see [`crate::signing`]).
pub const HEADER_SIGNATURE: &str = "Kubently-Signature";
pub const HEADER_SIGNING_KEY: &str = "Kubently-Signing-Key";
/// Tracing / correlation headers carried on command, reply and event messages.
pub const HEADER_COMMAND_ID: &str = "Kubently-Command-Id";
pub const HEADER_CORRELATION_ID: &str = "Kubently-Correlation-Id";
/// W3C trace context.
pub const HEADER_TRACEPARENT: &str = "traceparent";
pub const HEADER_TRACESTATE: &str = "tracestate";
/// JetStream optimistic concurrency: the publish succeeds only if the subject's last sequence is this.
pub const HEADER_EXPECTED_LAST_SUBJECT_SEQUENCE: &str = "Nats-Expected-Last-Subject-Sequence";
/// Why the server wrote a delete marker (`MaxAge`, `Purge`, `Remove`).
pub const HEADER_MARKER_REASON: &str = "Nats-Marker-Reason";
/// What a KV entry is when it is not a value (`DEL`, `PURGE`).
pub const HEADER_KV_OPERATION: &str = "KV-Operation";

/// Webhook subscriptions: subscription id → record (no TTL).
pub const WEBHOOKS_BUCKET: &str = "KUBENTLY_WEBHOOKS";
/// Webhook delivery log: `<subscription>.<event_id>` → retrying/dead/delivered record (per-key TTL).
pub const WEBHOOK_DELIVERIES_BUCKET: &str = "KUBENTLY_WEBHOOK_DELIVERIES";
/// Each subscription has its own durable consumer on the events stream: `webhook-<subscription>`.
pub const WEBHOOK_CONSUMER_PREFIX: &str = "webhook";
/// Work-queue stream of async commands' follow-up jobs (timeout event, callback), subjects
/// `kubently.callbacks.<cluster>`.
pub const CALLBACKS_STREAM: &str = "KUBENTLY_CALLBACKS";
pub const CALLBACK_SUBJECT_PREFIX: &str = "kubently.callbacks";
pub const CALLBACK_SUBJECTS: &str = "kubently.callbacks.>";
/// The durable consumer every gateway replica pulls callbacks from.
pub const CALLBACKS_CONSUMER: &str = "callbacks";

/// Standard Webhooks HTTP headers on every delivery.
pub const HEADER_WEBHOOK_ID: &str = "webhook-id";
pub const HEADER_WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_WEBHOOK_SIGNATURE: &str = "webhook-signature";

/// Longest cluster id (upstream Kubently's limit).
pub const CLUSTER_ID_MAX_LEN: usize = 100;
/// Longest isolation prefix accepted by [`Names::with_prefix`].
pub const NAME_PREFIX_MAX_LEN: usize = 64;

/// Environment variables override configuration files as `KUBENTLY__<SECTION>__<KEY>`.
pub const ENV_PREFIX: &str = "KUBENTLY";
pub const ENV_SEPARATOR: &str = "__";

/// `kubently.cmd.<cluster>`
pub fn command_subject(cluster_id: &str) -> String {
    format!("{COMMAND_SUBJECT_PREFIX}.{cluster_id}")
}

/// `executor-<cluster>`: the durable pull consumer every executor replica of a cluster binds.
pub fn executor_consumer(cluster_id: &str) -> String {
    format!("{EXECUTOR_CONSUMER_PREFIX}-{cluster_id}")
}

/// `kubently.reply.<cluster>.<gateway-instance>.<command_id>`: the cluster comes first, so an
/// executor's NATS permissions can allow it `kubently.reply.<its cluster>.>` and nothing else.
pub fn reply_subject(cluster_id: &str, gateway_instance: &str, command_id: impl std::fmt::Display) -> String {
    format!("{REPLY_SUBJECT_PREFIX}.{cluster_id}.{gateway_instance}.{command_id}")
}

/// `kubently.reply.*.<gateway-instance>.*`: everything addressed to one gateway instance.
pub fn reply_wildcard(gateway_instance: &str) -> String {
    format!("{REPLY_SUBJECT_PREFIX}.*.{gateway_instance}.*")
}

/// The cluster a reply subject names (`kubently.reply.<cluster>.<gw>.<id>`, third token from the
/// end): the cluster whose executor was allowed to publish it.
pub fn reply_subject_cluster(subject: &str) -> Option<&str> {
    let mut tokens = subject.rsplit('.');
    tokens.next()?;
    tokens.next()?;
    tokens.next()
}

/// The cluster and command id a republished result's subject names
/// (`[P.]kubently.stored.<cluster>.<command_id>`: the last two tokens are its key).
pub fn stored_subject_key(subject: &str) -> Option<(&str, &str)> {
    let (rest, command_id) = subject.rsplit_once('.')?;
    let (rest, cluster_id) = rest.rsplit_once('.')?;
    let prefixed = rest.strip_suffix(STORED_SUBJECT_PREFIX).is_some_and(|p| p.is_empty() || p.ends_with('.'));
    prefixed.then_some((cluster_id, command_id))
}

/// `kubently.events.<type>.<cluster>`, e.g. `kubently.events.command.completed.local`.
pub fn event_subject(event_type: &str, cluster_id: &str) -> String {
    format!("{EVENT_SUBJECT_PREFIX}.{event_type}.{cluster_id}")
}

/// `kubently.audit.<cluster>`
pub fn audit_subject(cluster_id: &str) -> String {
    format!("{AUDIT_SUBJECT_PREFIX}.{cluster_id}")
}

/// Checks a cluster id against upstream Kubently's rule `^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`,
/// 1–100 characters. Such an id is one NATS subject token, a valid KV key, and a valid
/// consumer name once prefixed with `executor-`.
pub fn validate_cluster_id(cluster_id: &str) -> Result<(), String> {
    if cluster_id.is_empty() {
        return Err("cluster id must not be empty".into());
    }
    if cluster_id.len() > CLUSTER_ID_MAX_LEN {
        return Err(format!(
            "cluster id must be at most {CLUSTER_ID_MAX_LEN} characters, got {}",
            cluster_id.len()
        ));
    }
    if let Some(c) = cluster_id.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!("cluster id may contain only lowercase letters, digits and `-`, found {c:?}"));
    }
    if cluster_id.starts_with('-') || cluster_id.ends_with('-') {
        return Err("cluster id must start and end with a lowercase letter or digit".into());
    }
    Ok(())
}

/// Checks one NATS subject token used as a name part (gateway instance ids): non-empty, at most
/// 128 characters of `[A-Za-z0-9_-]`, so it can never add tokens or wildcards to a subject.
pub fn validate_subject_token(token: &str) -> Result<(), String> {
    if token.is_empty() {
        return Err("must not be empty".into());
    }
    if token.len() > 128 {
        return Err(format!("must be at most 128 characters, got {}", token.len()));
    }
    if let Some(c) = token.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
        return Err(format!("may contain only ASCII letters, digits, `-` and `_`, found {c:?}"));
    }
    Ok(())
}

/// Checks a KV key: `[-/_=.A-Za-z0-9]+`, not starting or ending with `.`, no empty token.
pub fn validate_kv_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("must not be empty".into());
    }
    if key.starts_with('.') || key.ends_with('.') || key.contains("..") {
        return Err("must not start or end with `.` or contain `..`".into());
    }
    if let Some(c) =
        key.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '_' | '=' | '.')))
    {
        return Err(format!("may contain only ASCII letters, digits and `-/_=.`, found {c:?}"));
    }
    Ok(())
}

/// Every stream, bucket and subject name of one Kubently installation.
///
/// Production uses [`Names::default`] (the constants above). Tests isolate themselves with
/// [`Names::with_prefix`]: prefix `P` turns every stream and bucket name into `P_<name>`
/// (`P_KUBENTLY_COMMANDS`, KV stream `KV_P_KUBENTLY_SESSIONS`) and every subject into
/// `P.<subject>` (`P.kubently.cmd.<cluster>`, `P.kubently.reply.<gw>.<id>`). KV subjects follow
/// the bucket name (`$KV.P_KUBENTLY_SESSIONS.<key>`). Two installations with different prefixes
/// share no stream, bucket, consumer or subject, so parallel tests never see each other's
/// messages. Consumer names live inside a stream and need no prefix.
///
/// The gateway and executor take every name from here and never format one themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    prefix: Option<String>,
}

impl Names {
    /// The production names (no prefix).
    pub fn new() -> Self {
        Self::default()
    }

    /// Names isolated by `prefix`: 1–64 characters of `[A-Za-z0-9_-]` (one subject token that is
    /// also valid in stream and bucket names).
    pub fn with_prefix(prefix: &str) -> crate::Result<Self> {
        let invalid = |reason: String| crate::Error::InvalidName {
            what: "name prefix",
            value: prefix.to_string(),
            reason,
        };
        validate_subject_token(prefix).map_err(invalid)?;
        if prefix.len() > NAME_PREFIX_MAX_LEN {
            return Err(invalid(format!("must be at most {NAME_PREFIX_MAX_LEN} characters")));
        }
        Ok(Self { prefix: Some(prefix.to_string()) })
    }

    /// [`Names::with_prefix`] when `prefix` is set, else the production names.
    pub fn from_prefix(prefix: Option<&str>) -> crate::Result<Self> {
        prefix.map_or_else(|| Ok(Self::default()), Self::with_prefix)
    }

    pub fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    fn name(&self, base: &str) -> String {
        match &self.prefix {
            Some(p) => format!("{p}_{base}"),
            None => base.to_string(),
        }
    }

    fn subject(&self, subject: String) -> String {
        match &self.prefix {
            Some(p) => format!("{p}.{subject}"),
            None => subject,
        }
    }

    /// Work-queue stream of commands.
    pub fn commands_stream(&self) -> String {
        self.name(COMMANDS_STREAM)
    }
    /// Event stream.
    pub fn events_stream(&self) -> String {
        self.name(EVENTS_STREAM)
    }
    /// Audit stream.
    pub fn audit_stream(&self) -> String {
        self.name(AUDIT_STREAM)
    }

    /// KV bucket: cluster id → active marker (per-key TTL).
    pub fn cluster_active_bucket(&self) -> String {
        self.name(CLUSTER_ACTIVE_BUCKET)
    }
    /// KV bucket: session id → [`crate::protocol::SessionRecord`] (per-key TTL).
    pub fn sessions_bucket(&self) -> String {
        self.name(SESSIONS_BUCKET)
    }
    /// KV bucket: `<cluster>.<executor>` → [`crate::protocol::ExecutorInfo`] (per-key TTL).
    pub fn executors_bucket(&self) -> String {
        self.name(EXECUTORS_BUCKET)
    }
    /// KV bucket: command id → [`crate::protocol::CommandResult`] (bucket max age + per-key TTL).
    pub fn results_bucket(&self) -> String {
        self.name(RESULTS_BUCKET)
    }
    /// KV bucket: cluster id → first seen (no TTL).
    pub fn clusters_bucket(&self) -> String {
        self.name(CLUSTERS_BUCKET)
    }
    /// KV bucket: `<cluster>.<command id>` → [`crate::claims::Claim`] (per-key TTL).
    pub fn claims_bucket(&self) -> String {
        self.name(CLAIMS_BUCKET)
    }
    /// KV bucket: A2A task id → task record (per-key TTL).
    pub fn a2a_tasks_bucket(&self) -> String {
        self.name(A2A_TASKS_BUCKET)
    }
    /// KV bucket: A2A task id → its push notification configs (per-key TTL).
    pub fn a2a_push_bucket(&self) -> String {
        self.name(A2A_PUSH_BUCKET)
    }
    /// Advisories of commands that every executor of any cluster gave up on (`max_deliver`).
    pub fn max_deliveries_advisories(&self) -> String {
        format!("{MAX_DELIVERIES_ADVISORY_PREFIX}.{}.*", self.commands_stream())
    }

    /// KV bucket: subscription id → webhook subscription (no TTL).
    pub fn webhooks_bucket(&self) -> String {
        self.name(WEBHOOKS_BUCKET)
    }
    /// KV bucket: `<subscription>.<event_id>` → delivery record (per-key TTL).
    pub fn webhook_deliveries_bucket(&self) -> String {
        self.name(WEBHOOK_DELIVERIES_BUCKET)
    }
    /// Work-queue stream of async commands' callbacks.
    pub fn callbacks_stream(&self) -> String {
        self.name(CALLBACKS_STREAM)
    }
    /// `[P.]kubently.callbacks.<cluster>`
    pub fn callback_subject(&self, cluster_id: &str) -> String {
        self.subject(format!("{CALLBACK_SUBJECT_PREFIX}.{cluster_id}"))
    }
    /// `[P.]kubently.callbacks.>`
    pub fn callback_subjects(&self) -> String {
        self.subject(CALLBACK_SUBJECTS.to_string())
    }
    /// `webhook-<subscription>` on the events stream (never prefixed, like every consumer).
    pub fn webhook_consumer(&self, subscription_id: &str) -> String {
        format!("{WEBHOOK_CONSUMER_PREFIX}-{subscription_id}")
    }
    /// `[P.]kubently.events.<type-pattern>.<cluster-pattern>`: an event filter subject, where
    /// either part may use `*` wildcards token by token (`command.*`, `*`).
    pub fn event_filter(&self, type_pattern: &str, cluster_pattern: &str) -> String {
        self.subject(event_subject(type_pattern, cluster_pattern))
    }

    /// `[P.]kubently.cmd.<cluster>`
    pub fn command_subject(&self, cluster_id: &str) -> String {
        self.subject(command_subject(cluster_id))
    }
    /// `[P.]kubently.cmd.>`
    pub fn command_subjects(&self) -> String {
        self.subject(COMMAND_SUBJECTS.to_string())
    }
    /// `executor-<cluster>` (consumers are scoped by their stream, so never prefixed).
    pub fn executor_consumer(&self, cluster_id: &str) -> String {
        executor_consumer(cluster_id)
    }
    /// `[P.]kubently.reply.<cluster>.<gateway-instance>.<command_id>`
    pub fn reply_subject(
        &self,
        cluster_id: &str,
        gateway_instance: &str,
        command_id: impl std::fmt::Display,
    ) -> String {
        self.subject(reply_subject(cluster_id, gateway_instance, command_id))
    }
    /// `[P.]kubently.reply.<cluster>.>`: every reply an executor of `cluster_id` may send.
    pub fn cluster_replies(&self, cluster_id: &str) -> String {
        self.subject(format!("{REPLY_SUBJECT_PREFIX}.{cluster_id}.>"))
    }
    /// `[P.]kubently.stored.>`: every result record the results bucket republishes.
    pub fn stored_results(&self) -> String {
        self.subject(format!("{STORED_SUBJECT_PREFIX}.>"))
    }
    /// `[P.]kubently.provision.<cluster>`: where an executor asks for its cluster's consumer.
    pub fn provision_subject(&self, cluster_id: &str) -> String {
        self.subject(format!("{PROVISION_SUBJECT_PREFIX}.{cluster_id}"))
    }
    /// `[P.]kubently.provision.*`
    pub fn provision_subjects(&self) -> String {
        self.subject(format!("{PROVISION_SUBJECT_PREFIX}.*"))
    }
    /// `_INBOX_kubently.[P.]<cluster>`: the inbox prefix of `cluster_id`'s executors.
    pub fn executor_inbox_prefix(&self, cluster_id: &str) -> String {
        match &self.prefix {
            Some(p) => format!("{EXECUTOR_INBOX_ROOT}.{p}.{cluster_id}"),
            None => format!("{EXECUTOR_INBOX_ROOT}.{cluster_id}"),
        }
    }
    /// `$KV.<bucket>.<key>`: the subject of a KV key.
    pub fn kv_subject(&self, bucket: &str, key: &str) -> String {
        format!("$KV.{bucket}.{key}")
    }
    /// `[P.]kubently.reply.*.<gateway-instance>.*`
    pub fn reply_wildcard(&self, gateway_instance: &str) -> String {
        self.subject(reply_wildcard(gateway_instance))
    }
    /// `[P.]kubently.events.<type>.<cluster>`
    pub fn event_subject(&self, event_type: &str, cluster_id: &str) -> String {
        self.subject(event_subject(event_type, cluster_id))
    }
    /// `[P.]kubently.events.>`
    pub fn events_subjects(&self) -> String {
        self.subject(EVENTS_SUBJECTS.to_string())
    }
    /// `[P.]kubently.audit.<cluster>`
    pub fn audit_subject(&self, cluster_id: &str) -> String {
        self.subject(audit_subject(cluster_id))
    }
    /// `[P.]kubently.audit.>`
    pub fn audit_subjects(&self) -> String {
        self.subject(AUDIT_SUBJECTS.to_string())
    }

    /// Key of an executor in the executors bucket: `<cluster>.<executor_id>` (watch `<cluster>.>`
    /// for one cluster's executors).
    pub fn executor_key(&self, cluster_id: &str, executor_id: &str) -> String {
        format!("{cluster_id}.{executor_id}")
    }
}

/// The environment variable that sets `section.key`, e.g. `KUBENTLY__NATS__URL` for `nats.url`.
pub fn env_var(path: &str) -> String {
    let mut name = String::from(ENV_PREFIX);
    for part in path.split('.') {
        name.push_str(ENV_SEPARATOR);
        name.push_str(&part.to_ascii_uppercase());
    }
    name
}

/// Parses `nats-server --version` output or an image tag (`v2.15.1`, `2.15.1-alpine`) into (major, minor, patch).
pub fn parse_nats_version(text: &str) -> Option<(u64, u64, u64)> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let mut parts = text[start..].split(|c: char| !c.is_ascii_digit()).take(3).map(|p| p.parse::<u64>().ok());
    Some((parts.next()??, parts.next()??, parts.next().flatten().unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_var_names_follow_the_section_key_convention() {
        assert_eq!(env_var("nats.url"), "KUBENTLY__NATS__URL");
        assert_eq!(env_var("executor.cluster_id"), "KUBENTLY__EXECUTOR__CLUSTER_ID");
    }

    #[test]
    fn nats_versions_parse_from_cli_output_and_image_tags() {
        assert_eq!(parse_nats_version("nats-server: v2.15.1"), Some((2, 15, 1)));
        assert_eq!(parse_nats_version("2.11-alpine"), Some((2, 11, 0)));
        assert_eq!(parse_nats_version("latest"), None);
        let pinned = parse_nats_version(NATS_SERVER_VERSION).expect("pinned version parses");
        assert!((pinned.0, pinned.1) >= NATS_SERVER_MIN_VERSION);
    }

    #[test]
    fn command_path_names() {
        assert_eq!(executor_consumer("local"), "executor-local");
        assert_eq!(reply_subject("c1", "gw-1", "0190"), "kubently.reply.c1.gw-1.0190");
        assert_eq!(reply_wildcard("gw-1"), "kubently.reply.*.gw-1.*");
        assert_eq!(reply_subject_cluster("T1.kubently.reply.c1.gw-1.0190"), Some("c1"));
        assert_eq!(reply_subject_cluster("gw.0190"), None);
        assert_eq!(stored_subject_key("T1.kubently.stored.c1.0190"), Some(("c1", "0190")));
        assert_eq!(stored_subject_key("kubently.stored.c1.0190"), Some(("c1", "0190")));
        assert_eq!(stored_subject_key("kubently.reply.c1.0190"), None);
        assert_eq!(stored_subject_key("kubently.stored.0190"), None);
        assert_eq!(stored_subject_key("xkubently.stored.c1.0190"), None);
        assert_eq!(event_subject("command.completed", "local"), "kubently.events.command.completed.local");
        assert_eq!(audit_subject("local"), "kubently.audit.local");
        let names = Names::default();
        assert_eq!(names.commands_stream(), COMMANDS_STREAM);
        assert_eq!(names.command_subject("local"), "kubently.cmd.local");
        assert_eq!(names.command_subjects(), COMMAND_SUBJECTS);
        assert_eq!(names.events_subjects(), EVENTS_SUBJECTS);
        assert_eq!(names.audit_subjects(), AUDIT_SUBJECTS);
        assert_eq!(names.clusters_bucket(), CLUSTERS_BUCKET);
    }

    #[test]
    fn a_prefix_isolates_names_and_subjects() {
        let names = Names::with_prefix("T1-ab").expect("valid prefix");
        assert_eq!(names.commands_stream(), "T1-ab_KUBENTLY_COMMANDS");
        assert_eq!(names.sessions_bucket(), "T1-ab_KUBENTLY_SESSIONS");
        assert_eq!(names.command_subject("c"), "T1-ab.kubently.cmd.c");
        assert_eq!(names.command_subjects(), "T1-ab.kubently.cmd.>");
        assert_eq!(names.reply_subject("c", "gw", "x"), "T1-ab.kubently.reply.c.gw.x");
        assert_eq!(names.reply_wildcard("gw"), "T1-ab.kubently.reply.*.gw.*");
        assert_eq!(names.cluster_replies("c"), "T1-ab.kubently.reply.c.>");
        assert_eq!(names.stored_results(), "T1-ab.kubently.stored.>");
        assert_eq!(names.event_subject("session.created", "c"), "T1-ab.kubently.events.session.created.c");
        assert_eq!(names.audit_subject("c"), "T1-ab.kubently.audit.c");
        assert_eq!(names.executor_consumer("c"), "executor-c");
        assert_eq!(names.claims_bucket(), "T1-ab_KUBENTLY_CLAIMS");
        assert_eq!(
            names.max_deliveries_advisories(),
            "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.T1-ab_KUBENTLY_COMMANDS.*"
        );
        for bad in ["", "a.b", "a*", ">", "a b", &"x".repeat(65)] {
            assert!(Names::with_prefix(bad).is_err(), "prefix {bad:?} must be rejected");
        }
        assert_eq!(Names::from_prefix(None).expect("no prefix"), Names::default());
    }

    #[test]
    fn cluster_ids_follow_the_upstream_rule() {
        for ok in ["a", "local", "prod-eu-1", "0", "a1-b2", &"a".repeat(100)] {
            assert_eq!(validate_cluster_id(ok), Ok(()), "{ok:?}");
        }
        for bad in ["", "-a", "a-", "A", "a.b", "a_b", "a*", "a>", "a b", "ä", &"a".repeat(101)] {
            assert!(validate_cluster_id(bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn kv_keys_and_subject_tokens() {
        assert!(validate_kv_key("local.exec-1").is_ok());
        assert!(validate_kv_key("a/b=c_d").is_ok());
        for bad in ["", ".a", "a.", "a..b", "a b", "a*", "a>"] {
            assert!(validate_kv_key(bad).is_err(), "{bad:?}");
        }
        assert!(validate_subject_token("gw_1-a").is_ok());
        assert!(validate_subject_token("gw.1").is_err());
    }
}
