//! Gateway configuration: a file (`KUBENTLY_CONFIG`) overlaid with `KUBENTLY__SECTION__KEY`
//! environment variables. Secrets (API keys) are never logged: `Debug` prints service names only.

use kubently_shared::config::{LogSettings, NatsSettings};

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub nats: NatsSettings,
    pub log: LogSettings,
    pub auth: AuthSettings,
    pub commands: CommandSettings,
    /// One command on many clusters.
    pub fanout: FanoutSettings,
    pub sessions: SessionSettings,
    pub policy: kubently_shared::policy::PolicyConfig,
    pub webhooks: WebhookSettings,
    pub mcp: McpSettings,
    pub a2a: A2aSettings,
    /// The command signing key.
    pub signing: kubently_shared::signing::SignerSettings,
    /// Size limits and retention of every stream and bucket.
    pub storage: crate::storage::StorageSettings,
}

impl Settings {
    /// What the gateway provisions: the NATS settings' options with the `[storage]` limits.
    pub fn provision_options(&self) -> kubently_shared::provision::ProvisionOptions {
        let mut opts = self.nats.provision_options();
        self.storage.apply(&mut opts);
        opts
    }
}

/// The A2A door's task store (NATS KV, shared by every gateway replica).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct A2aSettings {
    /// Most tasks kept; beyond it the terminal tasks updated longest ago are evicted.
    pub max_tasks: usize,
    /// Most bytes of tasks (their JSON) kept, evicting the same way.
    pub max_bytes: usize,
    /// How long a task (and its push configs) is kept after its last update.
    pub task_retention_seconds: u64,
    /// A running task not updated for this long has lost its gateway (it died mid-run): any
    /// gateway then ends it as failed. Longer than the longest command timeout.
    pub task_lease_seconds: u64,
}

impl Default for A2aSettings {
    fn default() -> Self {
        Self {
            max_tasks: 10_000,
            max_bytes: 64 * 1024 * 1024,
            task_retention_seconds: 24 * 3600,
            task_lease_seconds: 180,
        }
    }
}

impl A2aSettings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.max_tasks == 0 || self.max_bytes < 64 * 1024 {
            return Err(SettingsError::new(
                "a2a.max_tasks",
                "must be at least 1, and a2a.max_bytes at least 65536",
            ));
        }
        if self.task_retention_seconds == 0 {
            return Err(SettingsError::new("a2a.task_retention_seconds", "must be at least 1"));
        }
        if self.task_lease_seconds < 5 {
            return Err(SettingsError::new(
                "a2a.task_lease_seconds",
                format!("must be at least 5, got {}", self.task_lease_seconds),
            ));
        }
        Ok(())
    }
}

/// The MCP door.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct McpSettings {
    /// `Host` values accepted (DNS-rebinding protection); an entry without a port matches any
    /// port. Empty = any host. Add the gateway's public name when it is served behind one.
    #[serde(deserialize_with = "string_or_list")]
    pub allowed_hosts: Vec<String>,
    /// `Origin` values accepted from browsers (`https://app.example.com`); empty = not checked
    /// (requests without `Origin`, i.e. non-browser clients, always pass).
    #[serde(deserialize_with = "string_or_list")]
    pub allowed_origins: Vec<String>,
    /// A 2025-11-25 session idle this long is forgotten.
    pub session_idle_seconds: u64,
}

impl Default for McpSettings {
    fn default() -> Self {
        Self {
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            allowed_origins: Vec::new(),
            session_idle_seconds: 600,
        }
    }
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub host: String,
    /// 0 picks a free port (tests).
    pub port: u16,
    /// Names this gateway's reply inbox (`kubently.reply.<instance>.<id>`); random when unset.
    pub instance_id: Option<String>,
    /// The URL agents reach this gateway at (`https://kubently.example.com`), for the A2A agent
    /// card; when unset the card uses the request's `Host` over http.
    pub public_url: Option<String>,
    /// Largest request body any door (REST, MCP, A2A) accepts, in bytes; larger ones get 413.
    pub max_body_bytes: usize,
    /// Serve HTTPS with this certificate chain (PEM) and [`Self::tls_key_file`], for deployments
    /// without a TLS-terminating ingress; plain HTTP when unset.
    pub tls_cert_file: Option<std::path::PathBuf>,
    /// The certificate's private key (PEM).
    pub tls_key_file: Option<std::path::PathBuf>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            instance_id: None,
            public_url: None,
            max_body_bytes: 1024 * 1024,
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

/// API keys. Two ways to configure them, both may be used together:
/// * `api_keys`: upstream Kubently's `service:key` strings (comma-separated in the environment,
///   `KUBENTLY__AUTH__API_KEYS=ops-bot:s3cret,ci:0ther`): full access to every cluster, not admin.
/// * `keys`: structured entries with cluster scopes and the admin flag (file only).
#[derive(Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    #[serde(deserialize_with = "string_or_list")]
    pub api_keys: Vec<String>,
    pub keys: Vec<ApiKeySettings>,
    /// `false` refuses every API key (a deployment that takes bearer tokens only).
    pub api_keys_enabled: bool,
    /// Bearer tokens (JWTs) from OpenID Connect issuers.
    pub oidc: OidcSettings,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self { api_keys: Vec::new(), keys: Vec::new(), api_keys_enabled: true, oidc: OidcSettings::default() }
    }
}

/// `[auth.oidc]`: which issuers' tokens are accepted, and what the gateway publishes about itself
/// as an OAuth protected resource (RFC 9728).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcSettings {
    pub issuers: Vec<IssuerSettings>,
    /// The authorization servers named in the protected resource metadata; the issuers' URLs
    /// when empty.
    pub authorization_servers: Vec<String>,
    /// `scopes_supported` of the protected resource metadata.
    pub scopes_supported: Vec<String>,
}

/// One trusted OpenID Connect issuer and how its tokens' claims map to a caller.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IssuerSettings {
    /// Short name: a token caller's owner name is `<name>:<sub>` (`[a-z0-9-]`, unique).
    pub name: String,
    /// The `iss` tokens carry, exactly; its discovery document is
    /// `<issuer>/.well-known/openid-configuration`. https, or http to a loopback IP literal.
    pub issuer: String,
    /// The `aud` a token must hold; `server.public_url` (this gateway's resource URL, RFC 8707)
    /// when unset.
    pub audience: Option<String>,
    /// The JWKS URL, skipping discovery.
    pub jwks_uri: Option<String>,
    /// Accepted signature algorithms (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384).
    pub algorithms: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway_seconds: u64,
    /// A token signed by a key not in the cached JWKS refetches it, at most once per this many
    /// seconds (so forged `kid`s cannot make the gateway hammer the issuer).
    pub jwks_refresh_min_seconds: u64,
    /// The cached JWKS is refetched when older than this.
    pub jwks_max_age_seconds: u64,
    /// The claim naming the Kubernetes user (impersonating clusters run commands as it).
    pub username_claim: String,
    /// The claim listing the caller's groups.
    pub groups_claim: String,
    /// A claim listing the clusters the caller may use (array, or space-separated string;
    /// `*` = every cluster); none when unset.
    pub clusters_claim: Option<String>,
    /// group → clusters it may use (`*` = every cluster), added to the clusters claim.
    pub group_clusters: std::collections::BTreeMap<String, Vec<String>>,
    /// Members of these groups are admins (every caller's records, the admin endpoints).
    pub admin_groups: Vec<String>,
    /// Scopes every token must hold (`scope`, space-separated, or `scp`).
    pub required_scopes: Vec<String>,
}

impl Default for IssuerSettings {
    fn default() -> Self {
        Self {
            name: String::new(),
            issuer: String::new(),
            audience: None,
            jwks_uri: None,
            algorithms: vec!["RS256".into(), "ES256".into()],
            leeway_seconds: 30,
            jwks_refresh_min_seconds: 30,
            jwks_max_age_seconds: 3600,
            username_claim: "sub".into(),
            groups_claim: "groups".into(),
            clusters_claim: None,
            group_clusters: Default::default(),
            admin_groups: Vec::new(),
            required_scopes: Vec::new(),
        }
    }
}

#[derive(Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeySettings {
    /// The caller's identity (audit, ownership of sessions and results).
    pub service: String,
    pub key: String,
    /// Clusters this key may use; empty = all.
    #[serde(default)]
    pub clusters: Vec<String>,
    /// May read every caller's sessions, results and audit, and the admin endpoints.
    #[serde(default)]
    pub admin: bool,
    /// The Kubernetes user this key's commands run as on clusters that impersonate (the
    /// executor adds its prefix); without it such clusters refuse the key's commands.
    #[serde(default)]
    pub kubernetes_user: Option<String>,
    /// Kubernetes groups for [`Self::kubernetes_user`].
    #[serde(default)]
    pub kubernetes_groups: Vec<String>,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let services: Vec<&str> = self
            .api_keys
            .iter()
            .map(|k| k.split_once(':').map_or("<unnamed>", |(s, _)| s))
            .chain(self.keys.iter().map(|k| k.service.as_str()))
            .collect();
        f.debug_struct("AuthSettings")
            .field("services", &services)
            .field("api_keys_enabled", &self.api_keys_enabled)
            .field("oidc", &self.oidc)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CommandSettings {
    /// `timeout_seconds` when the request gives none (upstream: 10).
    pub default_timeout_seconds: u64,
    /// Largest `timeout_seconds` a body may ask for (upstream: 30). `X-Request-Timeout` allows 60.
    pub max_timeout_seconds: u64,
    /// How long a cluster stays "active" (executor in fast mode) after a sessionless execute.
    pub cluster_active_ttl_seconds: u64,
    /// Output budget per command in bytes (≈ 4 tokens each) when the request sets none; larger
    /// outputs are cut with a note and kept in full for paging.
    pub output_budget_bytes: u64,
    /// Take each command's stored result, as the results bucket republishes it, for its reply
    /// (true): the executor sends none of its own. False (the path before, kept to measure it):
    /// the gateway does not follow the republished results and the executor replies after storing.
    pub reply_from_store: bool,
}

impl Default for CommandSettings {
    fn default() -> Self {
        Self {
            default_timeout_seconds: 10,
            max_timeout_seconds: 30,
            cluster_active_ttl_seconds: 60,
            output_budget_bytes: kubently_shared::budget::DEFAULT_BUDGET_BYTES as u64,
            reply_from_store: true,
        }
    }
}

/// Fan-out: the same read-only command on many clusters in one request.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FanoutSettings {
    /// Most clusters one request may name (or `"*"` may send the command to).
    pub max_clusters: usize,
    /// Most of one request's commands in flight at once; the others wait for a free slot.
    pub concurrency: usize,
}

/// The largest `fanout.max_clusters` a deployment may set.
pub const FANOUT_MAX_CLUSTERS_LIMIT: usize = 10_000;

impl Default for FanoutSettings {
    fn default() -> Self {
        Self { max_clusters: 1000, concurrency: 64 }
    }
}

impl FanoutSettings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !(1..=FANOUT_MAX_CLUSTERS_LIMIT).contains(&self.max_clusters) {
            return Err(SettingsError::new(
                "fanout.max_clusters",
                format!("must be 1–{FANOUT_MAX_CLUSTERS_LIMIT}, got {}", self.max_clusters),
            ));
        }
        if !(1..=1024).contains(&self.concurrency) {
            return Err(SettingsError::new(
                "fanout.concurrency",
                format!("must be 1–1024, got {}", self.concurrency),
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    /// How long an ended or expired session stays readable (`GET` shows `expired`/`ended`).
    pub retention_seconds: u64,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self { retention_seconds: 3600 }
    }
}

/// Webhook subscriptions and async callbacks.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// Deliver from this gateway (replicas share the work); off = store subscriptions only.
    pub delivery_enabled: bool,
    /// Waits between attempts in seconds (each ±20 % jitter); attempts = 1 + entries. Default:
    /// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about 28 h in all).
    #[serde(deserialize_with = "numbers_or_list")]
    pub retry_schedule_seconds: Vec<u64>,
    /// Per-attempt timeout (connect + response).
    pub timeout_seconds: u64,
    /// Concurrent posts per subscription per gateway.
    pub max_in_flight: usize,
    /// Unacknowledged events per subscription (in flight or waiting to retry); more wait in the stream.
    pub max_pending: usize,
    /// Allow 127.0.0.0/8 and ::1 targets (the dev stack does).
    pub allow_loopback: bool,
    /// Allow RFC 1918, CGNAT, link-local and IPv6 ULA targets.
    pub allow_private: bool,
    /// How long the delivery log keeps retrying/dead/delivered-after-failure records.
    pub log_retention_seconds: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            delivery_enabled: true,
            retry_schedule_seconds: vec![5, 300, 1800, 7200, 18_000, 36_000, 36_000],
            timeout_seconds: 10,
            max_in_flight: 8,
            max_pending: 1000,
            allow_loopback: false,
            allow_private: false,
            log_retention_seconds: 7 * 24 * 3600,
        }
    }
}

/// A setting out of range: which one, and what is allowed.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {allowed}")]
pub struct SettingsError {
    pub setting: &'static str,
    pub allowed: String,
}

impl SettingsError {
    pub(crate) fn new(setting: &'static str, allowed: impl Into<String>) -> Self {
        Self { setting, allowed: allowed.into() }
    }
}

impl WebhookSettings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.retry_schedule_seconds.contains(&0) {
            return Err(SettingsError::new(
                "webhooks.retry_schedule_seconds",
                "every wait must be at least 1 second",
            ));
        }
        if self.retry_schedule_seconds.len() > 50 {
            return Err(SettingsError::new("webhooks.retry_schedule_seconds", "at most 50 retries"));
        }
        if !(1..=120).contains(&self.timeout_seconds) {
            return Err(SettingsError::new(
                "webhooks.timeout_seconds",
                format!("must be 1–120, got {}", self.timeout_seconds),
            ));
        }
        if self.max_in_flight == 0 || self.max_pending < self.max_in_flight {
            return Err(SettingsError::new(
                "webhooks.max_in_flight",
                "must be at least 1, and webhooks.max_pending at least max_in_flight",
            ));
        }
        if self.log_retention_seconds == 0 {
            return Err(SettingsError::new("webhooks.log_retention_seconds", "must be at least 1"));
        }
        Ok(())
    }

    pub fn log_retention(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.log_retention_seconds)
    }
}

/// Accepts `"5,300"` or `5` (environment variables) or `[5, 300]` (files).
fn numbers_or_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Number(u64),
        One(String),
        Many(Vec<u64>),
    }
    match <OneOrMany as serde::Deserialize>::deserialize(d)? {
        OneOrMany::Number(n) => Ok(vec![n]),
        OneOrMany::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|n| {
                n.parse()
                    .map_err(|e| serde::de::Error::custom(format!("`{n}` is not a number of seconds: {e}")))
            })
            .collect(),
        OneOrMany::Many(v) => Ok(v),
    }
}

/// Accepts `"a,b"` (environment variables) or `["a", "b"]` (files).
fn string_or_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match <OneOrMany as serde::Deserialize>::deserialize(d)? {
        OneOrMany::One(s) => {
            s.split([',', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
        }
        OneOrMany::Many(v) => v,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_schedules_load_from_lists_strings_and_single_numbers() {
        let load = |v: serde_json::Value| {
            serde_json::from_value::<WebhookSettings>(serde_json::json!({"retry_schedule_seconds": v}))
                .map(|s| s.retry_schedule_seconds)
        };
        assert_eq!(load(serde_json::json!([1, 2])).expect("list"), vec![1, 2]);
        assert_eq!(load(serde_json::json!("5, 300")).expect("csv"), vec![5, 300]);
        assert_eq!(load(serde_json::json!(7)).expect("number"), vec![7]);
        assert!(load(serde_json::json!("5,x")).is_err());
        assert!(
            WebhookSettings { retry_schedule_seconds: vec![0], ..Default::default() }.validate().is_err()
        );
        assert!(WebhookSettings::default().validate().is_ok());
    }

    #[test]
    fn fanout_limits_are_checked() {
        assert!(FanoutSettings::default().validate().is_ok());
        let err =
            FanoutSettings { max_clusters: 0, ..Default::default() }.validate().expect_err("0 clusters");
        assert_eq!(err.setting, "fanout.max_clusters");
        let err = FanoutSettings { concurrency: 0, ..Default::default() }.validate().expect_err("no slot");
        assert_eq!(err.setting, "fanout.concurrency");
        assert!(FanoutSettings { max_clusters: 10_001, ..Default::default() }.validate().is_err());
    }
}
