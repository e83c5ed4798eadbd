//! Typed configuration: an optional file, then `KUBENTLY__SECTION__KEY` environment variables.

use std::collections::HashMap;
use std::path::Path;

use serde::de::DeserializeOwned;

use crate::Result;
use crate::names::{ENV_PREFIX, ENV_SEPARATOR};

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

/// Accepts a list (files) or a comma-separated string (environment variables) of strings.
pub fn list_or_csv<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum ListOrCsv {
        List(Vec<String>),
        Csv(String),
    }
    Ok(match <ListOrCsv as serde::Deserialize>::deserialize(deserializer)? {
        ListOrCsv::List(list) => list,
        ListOrCsv::Csv(csv) => {
            csv.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
        }
    })
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
    /// One server or a comma-separated seed list (`nats://a:4222,nats://b:4222`); the client
    /// learns the rest of the cluster from the servers and fails over between them.
    pub url: String,
    /// Path to a `.creds` file (JWT + nkey seed); never logged.
    pub credentials_file: Option<std::path::PathBuf>,
    /// The CA that signed the servers' certificates: TLS is then required and the server
    /// verified against it (the bus CA of `kubently-admin init`).
    pub tls_ca_file: Option<std::path::PathBuf>,
    /// Replicas of every stream and bucket: 1 on a single server, 3 on the 3-node cluster.
    pub replicas: usize,
    /// Isolates every stream, bucket and subject name (several deployments or tests on one NATS).
    pub prefix: Option<String>,
    /// A command taken by an executor that neither finishes nor reports progress for this long
    /// is redelivered (the executor died). Executors report progress every third of it.
    pub ack_wait_seconds: u64,
}

impl Default for NatsSettings {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4222".into(),
            credentials_file: None,
            tls_ca_file: None,
            replicas: 1,
            prefix: None,
            ack_wait_seconds: 30,
        }
    }
}

impl NatsSettings {
    /// Connects with a client name, reconnecting forever in the background (with the client's
    /// jittered backoff) if the server is or becomes unreachable.
    pub async fn connect(&self, client_name: String) -> Result<async_nats::Client, crate::Error> {
        self.connect_with(client_name, None).await
    }

    /// [`Self::connect`], with the connection's request inboxes under `inbox_prefix` (executors:
    /// their NATS permissions allow them only their own).
    pub async fn connect_with(
        &self,
        client_name: String,
        inbox_prefix: Option<&str>,
    ) -> Result<async_nats::Client, crate::Error> {
        let mut options = async_nats::ConnectOptions::new()
            .name(client_name)
            .retry_on_initial_connect()
            .reconnect_delay_callback(reconnect_delay);
        if let Some(prefix) = inbox_prefix {
            options = options.custom_inbox_prefix(prefix);
        }
        if let Some(ca) = &self.tls_ca_file {
            options = options.add_root_certificates(ca.clone()).require_tls(true);
        }
        if let Some(path) = &self.credentials_file {
            options = options.credentials_file(path).await.map_err(|e| crate::Error::NatsConnect {
                url: self.url.clone(),
                reason: format!("credentials file {}: {e}", path.display()),
            })?;
        }
        options
            .connect(self.seed_urls()?)
            .await
            .map_err(|e| crate::Error::NatsConnect { url: self.url.clone(), reason: e.to_string() })
    }

    /// The servers of [`Self::url`], each checked.
    pub fn seed_urls(&self) -> Result<Vec<async_nats::ServerAddr>, crate::Error> {
        let urls: Vec<async_nats::ServerAddr> = self
            .url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|u| {
                u.parse().map_err(|e| crate::Error::NatsConnect {
                    url: u.to_string(),
                    reason: format!(
                        "not a NATS server URL (nats.url takes one URL or a comma-separated list): {e}"
                    ),
                })
            })
            .collect::<Result<_, _>>()?;
        if urls.is_empty() {
            return Err(crate::Error::NatsConnect {
                url: self.url.clone(),
                reason: "nats.url names no server".into(),
            });
        }
        Ok(urls)
    }

    /// Provisioning options for these settings.
    pub fn provision_options(&self) -> crate::provision::ProvisionOptions {
        crate::provision::ProvisionOptions {
            replicas: self.replicas.max(1),
            name_prefix: self.prefix.clone(),
            ack_wait: std::time::Duration::from_secs(self.ack_wait_seconds.max(1)),
            ..Default::default()
        }
    }
}

/// Exponential backoff from 200 ms up to 8 s with "equal jitter" (half fixed, half random), so a
/// fleet of executors does not reconnect in lockstep after a NATS restart.
pub fn reconnect_delay(attempts: usize) -> std::time::Duration {
    if attempts <= 1 {
        return std::time::Duration::ZERO;
    }
    let step = u32::try_from(attempts - 2).unwrap_or(u32::MAX).min(6);
    let ceiling_ms = (200u64 << step).min(8_000);
    let random = (uuid::Uuid::new_v4().as_u128() % u128::from(ceiling_ms / 2 + 1)) as u64;
    std::time::Duration::from_millis(ceiling_ms / 2 + random)
}

impl std::fmt::Debug for NatsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsSettings")
            .field("url", &self.url)
            .field("credentials_file", &self.credentials_file.as_ref().map(|_| "<set>"))
            .field("tls_ca_file", &self.tls_ca_file)
            .field("replicas", &self.replicas)
            .field("prefix", &self.prefix)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::{NatsSettings, reconnect_delay};
    use std::time::Duration;

    #[test]
    fn nats_url_takes_a_seed_list() {
        let settings = |url: &str| NatsSettings { url: url.into(), ..NatsSettings::default() };
        let seeds = settings("nats://127.0.0.1:4222, nats://127.0.0.1:4223,nats://[::1]:4224")
            .seed_urls()
            .expect("a seed list");
        assert_eq!(seeds.len(), 3);
        assert_eq!(settings("nats://127.0.0.1:4222").seed_urls().expect("one URL").len(), 1);
        for bad in ["", " , ", "nats://127.0.0.1:4222,http://[::1"] {
            assert!(settings(bad).seed_urls().is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn reconnect_backoff_grows_to_a_cap_with_jitter() {
        assert_eq!(reconnect_delay(1), Duration::ZERO, "the first retry is immediate");
        for attempt in 2..40 {
            let ceiling = Duration::from_millis((200u64 << (attempt - 2).min(6)).min(8_000));
            let d = reconnect_delay(attempt);
            assert!(
                d >= ceiling / 2 && d <= ceiling,
                "attempt {attempt}: {d:?} outside [{:?}, {ceiling:?}]",
                ceiling / 2
            );
        }
        let samples: std::collections::HashSet<Duration> = (0..20).map(|_| reconnect_delay(10)).collect();
        assert!(samples.len() > 1, "delays are jittered");
    }
}
