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
/// Replies go to `kubently.reply.<gateway-instance>.<command_id>`.
pub const REPLY_SUBJECT_PREFIX: &str = "kubently.reply";
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

/// Environment variables override configuration files as `KUBENTLY__<SECTION>__<KEY>`.
pub const ENV_PREFIX: &str = "KUBENTLY";
pub const ENV_SEPARATOR: &str = "__";

/// `kubently.cmd.<cluster>`
pub fn command_subject(cluster_id: &str) -> String {
    format!("{COMMAND_SUBJECT_PREFIX}.{cluster_id}")
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
    let mut parts = text[start..]
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|p| p.parse::<u64>().ok());
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
}
