//! Gateway configuration: `KUBENTLY__SERVER__PORT`, `KUBENTLY__NATS__URL`, … or a config file.

use kubently_shared::config::{LogSettings, NatsSettings};

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub nats: NatsSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub host: String,
    /// 0 picks a free port (tests).
    pub port: u16,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self { host: "127.0.0.1".into(), port: 8080 }
    }
}
