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
    pub sessions: SessionSettings,
    pub policy: kubently_shared::policy::PolicyConfig,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub host: String,
    /// 0 picks a free port (tests).
    pub port: u16,
    /// Names this gateway's reply inbox (`kubently.reply.<instance>.<id>`); random when unset.
    pub instance_id: Option<String>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self { host: "127.0.0.1".into(), port: 8080, instance_id: None }
    }
}

/// API keys. Two ways to configure them, both may be used together:
/// * `api_keys`: upstream Kubently's `service:key` strings (comma-separated in the environment,
///   `KUBENTLY__AUTH__API_KEYS=ops-bot:s3cret,ci:0ther`): full access to every cluster, not admin.
/// * `keys`: structured entries with cluster scopes and the admin flag (file only).
#[derive(Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    #[serde(deserialize_with = "string_or_list")]
    pub api_keys: Vec<String>,
    pub keys: Vec<ApiKeySettings>,
}

#[derive(Clone, serde::Deserialize)]
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
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let services: Vec<&str> = self
            .api_keys
            .iter()
            .map(|k| k.split_once(':').map_or("<unnamed>", |(s, _)| s))
            .chain(self.keys.iter().map(|k| k.service.as_str()))
            .collect();
        f.debug_struct("AuthSettings").field("services", &services).finish_non_exhaustive()
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
}

impl Default for CommandSettings {
    fn default() -> Self {
        Self {
            default_timeout_seconds: 10,
            max_timeout_seconds: 30,
            cluster_active_ttl_seconds: 60,
            output_budget_bytes: kubently_shared::budget::DEFAULT_BUDGET_BYTES as u64,
        }
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

/// Accepts `"a,b"` (environment variables) or `["a", "b"]` (files).
fn string_or_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match <OneOrMany as serde::Deserialize>::deserialize(d)? {
        OneOrMany::One(s) => s.split([',', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect(),
        OneOrMany::Many(v) => v,
    })
}
