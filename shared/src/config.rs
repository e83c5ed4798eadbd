//! Typed configuration: an optional file, then `KUBENTLY__SECTION__KEY` environment variables.

use std::collections::HashMap;
use std::path::Path;

use serde::de::DeserializeOwned;

use crate::names::{ENV_PREFIX, ENV_SEPARATOR};
use crate::Result;

/// Loads settings from `file` (if given; TOML or YAML by extension) overlaid with the process
/// environment. Unknown keys are an error when the settings type denies them.
pub fn load<T: DeserializeOwned>(file: Option<&Path>) -> Result<T> {
    load_with_env(file, None)
}

/// As [`load`], but with an explicit environment instead of the process's (used to check that
/// deployment manifests such as `compose.yaml` set names the code actually reads).
pub fn load_with_env<T: DeserializeOwned>(
    file: Option<&Path>,
    env: Option<HashMap<String, String>>,
) -> Result<T> {
    let mut builder = ::config::Config::builder();
    if let Some(path) = file {
        builder = builder.add_source(::config::File::from(path).required(true));
    }
    let environment = ::config::Environment::with_prefix(ENV_PREFIX)
        .prefix_separator(ENV_SEPARATOR)
        .separator(ENV_SEPARATOR)
        .try_parsing(true)
        .source(env);
    Ok(builder.add_source(environment).build()?.try_deserialize()?)
}

/// Logging settings every binary shares (`[log]` section).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `pretty` for humans, `json` for log pipelines.
    pub format: LogFormat,
    /// An `EnvFilter` directive, e.g. `info,kubently_gateway=debug`. `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { format: LogFormat::Pretty, level: "info".into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// NATS connection settings every binary shares (`[nats]` section).
#[derive(Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatsSettings {
    pub url: String,
    /// Path to a `.creds` file (JWT + nkey seed); never logged.
    pub credentials_file: Option<std::path::PathBuf>,
}

impl Default for NatsSettings {
    fn default() -> Self {
        Self { url: "nats://127.0.0.1:4222".into(), credentials_file: None }
    }
}

impl std::fmt::Debug for NatsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsSettings")
            .field("url", &self.url)
            .field("credentials_file", &self.credentials_file.as_ref().map(|_| "<set>"))
            .finish()
    }
}
