/// Errors of the shared crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration is invalid: {0}")]
    Config(#[from] ::config::ConfigError),
    #[error("tracing could not be initialised: {0}")]
    Telemetry(String),
    #[error("cannot connect to NATS at {url}: {reason}")]
    NatsConnect { url: String, reason: String },

    /// A name (cluster id, name prefix, subject token, KV key) that NATS or Kubently cannot use.
    #[error("invalid {what} `{value}`: {reason}")]
    InvalidName { what: &'static str, value: String, reason: String },

    /// A wire message could not be serialised.
    #[error("cannot encode {kind} (protocol v{version}): {source}")]
    Encode { kind: &'static str, version: u16, source: serde_json::Error },
    /// A wire message could not be parsed.
    #[error("cannot decode {kind}: {source}")]
    Decode { kind: &'static str, source: serde_json::Error },
    /// A wire message from a protocol major version this build does not speak.
    #[error(
        "cannot decode {kind}: protocol version {found} is not supported (this build speaks v{supported})"
    )]
    UnsupportedVersion { kind: &'static str, found: u16, supported: u16 },

    /// A provisioning option NATS cannot honour.
    #[error("invalid provisioning option {option}: {reason}")]
    InvalidOption { option: &'static str, reason: String },
    /// Creating, inspecting or updating a JetStream stream failed.
    #[error("stream {stream}: {action} failed: {source}")]
    Stream { stream: String, action: &'static str, source: async_nats::Error },
    /// Creating, inspecting or updating a KV bucket failed.
    #[error("KV bucket {bucket}: {action} failed: {source}")]
    Bucket { bucket: String, action: &'static str, source: async_nats::Error },
    /// Creating or inspecting a consumer failed.
    #[error("consumer {consumer} on stream {stream}: {action} failed: {source}")]
    Consumer { stream: String, consumer: String, action: &'static str, source: async_nats::Error },
    /// Provisioning kept losing races against other replicas (or the server kept changing).
    #[error("{what} did not converge after {attempts} attempts: {reason}")]
    NotConverged { what: String, attempts: u32, reason: String },

    /// A KV read or write failed.
    #[error("KV {bucket}/{key}: {action} failed: {source}")]
    Kv { bucket: String, key: String, action: &'static str, source: async_nats::Error },
    /// `create` found a live value under the key.
    #[error("KV {bucket}/{key}: already exists (revision {revision})")]
    KeyExists { bucket: String, key: String, revision: u64 },
    /// A compare-and-set write found another revision than the one it expected.
    #[error("KV {bucket}/{key}: expected revision {expected}, but the key has changed (or expired) since")]
    WrongRevision { bucket: String, key: String, expected: u64 },
    /// A TTL NATS cannot express (zero, or beyond what the header can carry).
    #[error("KV {bucket}/{key}: invalid TTL {ttl:?}: {reason}")]
    InvalidTtl { bucket: String, key: String, ttl: std::time::Duration, reason: &'static str },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
