//! `[storage]`: the size limit and retention of every stream and bucket, and when to warn.
//!
//! ```toml
//! [storage]
//! warn_at_percent = 80           # warn (log + metric) when a stream is this full
//! check_interval_seconds = 60
//! audit    = { max_bytes = "1GiB", max_age_seconds = 2592000 }   # oldest records dropped at the limit
//! events   = { max_bytes = "512MiB", max_age_seconds = 604800 }
//! results  = { max_bytes = "1GiB", max_age_seconds = 3600 }      # oldest results dropped
//! commands = { max_bytes = "128MiB", max_per_cluster = 10000 }   # oldest queued commands dropped
//! callbacks = { max_bytes = "128MiB" }
//! claims   = { max_bytes = "256MiB" }                             # writes refused at the limit
//! buckets  = { max_bytes = "64MiB" }  # each of sessions, executors, cluster-active, clusters, webhooks, A2A
//! ```
//!
//! Unset values keep [`ProvisionOptions`]' defaults. Environment: `KUBENTLY__STORAGE__AUDIT__MAX_BYTES=2GiB`.
//! nats-server reserves every stream's `max_bytes` (times its replicas) against its
//! `max_file_store` when the stream is created, so the limits must fit there together; the
//! gateway logs their sum at startup.

use std::time::Duration;

use kubently_shared::provision::ProvisionOptions;

use crate::settings::SettingsError;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// A size in bytes: a number, or a string with a unit (`512MiB`, `1GiB`, `200MB`, `64KiB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// Parses `1024`, `64KiB`, `512MiB`, `1GiB`, `2TiB`, or the decimal `KB`, `MB`, `GB`, `TB`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic()).trim_end();
        let unit = text[digits.len()..].trim();
        let n: u64 = digits.parse().map_err(|_| {
            format!("`{text}` is not a size: a whole number, optionally followed by B, KiB, MiB, GiB, TiB, KB, MB, GB or TB")
        })?;
        let factor = match unit.to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kib" | "k" => KIB,
            "mib" | "m" => MIB,
            "gib" | "g" => 1024 * MIB,
            "tib" | "t" => 1024 * 1024 * MIB,
            "kb" => 1000,
            "mb" => 1000 * 1000,
            "gb" => 1000 * 1000 * 1000,
            "tb" => 1000 * 1000 * 1000 * 1000,
            other => {
                return Err(format!(
                    "`{text}`: unknown unit `{other}` (B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)"
                ));
            }
        };
        n.checked_mul(factor).map(Self).ok_or_else(|| format!("`{text}` is too large"))
    }
}

impl std::fmt::Display for ByteSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0;
        match n {
            n if n >= 1024 * MIB && n % (1024 * MIB) == 0 => write!(f, "{}GiB", n / (1024 * MIB)),
            n if n >= MIB && n % MIB == 0 => write!(f, "{}MiB", n / MIB),
            n if n >= KIB && n % KIB == 0 => write!(f, "{}KiB", n / KIB),
            n => write!(f, "{n}B"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(Self(n)),
            Raw::Text(t) => Self::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

/// A stream kept by age and by size.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetainedLimits {
    pub max_bytes: Option<ByteSize>,
    pub max_age_seconds: Option<u64>,
}

/// A stream or bucket kept by size.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SizeLimit {
    pub max_bytes: Option<ByteSize>,
}

/// The commands work queue.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CommandQueueLimits {
    pub max_bytes: Option<ByteSize>,
    /// Commands queued for one cluster at most.
    pub max_per_cluster: Option<i64>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    /// Warn (a log line and `kubently_stream_limit_warnings_total`) when a stream or bucket is
    /// this full (1–99).
    pub warn_at_percent: u8,
    /// How often the gateway reads every stream's size.
    pub check_interval_seconds: u64,
    /// `KUBENTLY_AUDIT`: the oldest records are dropped at the limit.
    pub audit: RetainedLimits,
    /// `KUBENTLY_EVENTS`: the oldest events are dropped at the limit.
    pub events: RetainedLimits,
    /// The results bucket: the oldest results are dropped at the limit; `max_age_seconds` is
    /// how long a result is kept.
    pub results: RetainedLimits,
    pub commands: CommandQueueLimits,
    pub callbacks: SizeLimit,
    pub claims: SizeLimit,
    /// Each of the other buckets.
    pub buckets: SizeLimit,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            warn_at_percent: 80,
            check_interval_seconds: 60,
            audit: RetainedLimits::default(),
            events: RetainedLimits::default(),
            results: RetainedLimits::default(),
            commands: CommandQueueLimits::default(),
            callbacks: SizeLimit::default(),
            claims: SizeLimit::default(),
            buckets: SizeLimit::default(),
        }
    }
}

/// The smallest limit a stream may have.
const MIN_BYTES: u64 = MIB;
/// The results bucket must hold the largest result the bus carries (its 8 MB `max_payload`).
const MIN_RESULTS_BYTES: u64 = 8 * MIB;

impl StorageSettings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !(1..=99).contains(&self.warn_at_percent) {
            return Err(SettingsError::new(
                "storage.warn_at_percent",
                format!("must be 1–99, got {}", self.warn_at_percent),
            ));
        }
        if !(1..=3600).contains(&self.check_interval_seconds) {
            return Err(SettingsError::new(
                "storage.check_interval_seconds",
                format!("must be 1–3600, got {}", self.check_interval_seconds),
            ));
        }
        let sizes = [
            ("storage.audit.max_bytes", self.audit.max_bytes, MIN_BYTES),
            ("storage.events.max_bytes", self.events.max_bytes, MIN_BYTES),
            ("storage.results.max_bytes", self.results.max_bytes, MIN_RESULTS_BYTES),
            ("storage.commands.max_bytes", self.commands.max_bytes, MIN_BYTES),
            ("storage.callbacks.max_bytes", self.callbacks.max_bytes, MIN_BYTES),
            ("storage.claims.max_bytes", self.claims.max_bytes, MIN_BYTES),
            ("storage.buckets.max_bytes", self.buckets.max_bytes, MIN_BYTES),
        ];
        for (setting, size, min) in sizes {
            if let Some(size) = size
                && size.0 < min
            {
                return Err(SettingsError::new(
                    setting,
                    format!("must be at least {} (every stream has a limit), got {size}", ByteSize(min)),
                ));
            }
        }
        let ages = [
            ("storage.audit.max_age_seconds", self.audit.max_age_seconds),
            ("storage.events.max_age_seconds", self.events.max_age_seconds),
            ("storage.results.max_age_seconds", self.results.max_age_seconds),
        ];
        for (setting, age) in ages {
            if age == Some(0) {
                return Err(SettingsError::new(setting, "must be at least 1 (every stream has a limit)"));
            }
        }
        if let Some(n) = self.commands.max_per_cluster
            && n < 1
        {
            return Err(SettingsError::new(
                "storage.commands.max_per_cluster",
                format!("must be at least 1, got {n}"),
            ));
        }
        Ok(())
    }

    /// `opts` with these limits (unset ones keep `opts`' values).
    pub fn apply(&self, opts: &mut ProvisionOptions) {
        let limits = &mut opts.limits;
        let set = |target: &mut u64, size: Option<ByteSize>| {
            if let Some(size) = size {
                *target = size.0;
            }
        };
        set(&mut limits.audit_max_bytes, self.audit.max_bytes);
        set(&mut limits.events_max_bytes, self.events.max_bytes);
        set(&mut limits.results_max_bytes, self.results.max_bytes);
        set(&mut limits.commands_max_bytes, self.commands.max_bytes);
        set(&mut limits.callbacks_max_bytes, self.callbacks.max_bytes);
        set(&mut limits.claims_max_bytes, self.claims.max_bytes);
        set(&mut limits.bucket_max_bytes, self.buckets.max_bytes);
        if let Some(n) = self.commands.max_per_cluster {
            limits.commands_max_per_cluster = n;
        }
        let age = |target: &mut Duration, seconds: Option<u64>| {
            if let Some(s) = seconds {
                *target = Duration::from_secs(s);
            }
        };
        age(&mut opts.audit_max_age, self.audit.max_age_seconds);
        age(&mut opts.events_max_age, self.events.max_age_seconds);
        age(&mut opts.results_ttl, self.results.max_age_seconds);
    }

    /// The fill ratio (0–1) at which the watch warns.
    pub fn warn_at(&self) -> f64 {
        f64::from(self.warn_at_percent) / 100.0
    }

    pub fn check_interval(&self) -> Duration {
        Duration::from_secs(self.check_interval_seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_and_without_units() {
        assert_eq!(ByteSize::parse("1024"), Ok(ByteSize(1024)));
        assert_eq!(ByteSize::parse("64KiB"), Ok(ByteSize(64 * 1024)));
        assert_eq!(ByteSize::parse("512 MiB"), Ok(ByteSize(512 * MIB)));
        assert_eq!(ByteSize::parse("1gib"), Ok(ByteSize(1024 * MIB)));
        assert_eq!(ByteSize::parse("200MB"), Ok(ByteSize(200_000_000)));
        assert_eq!(ByteSize::parse("2TiB"), Ok(ByteSize(2 * 1024 * 1024 * MIB)));
        for bad in ["", "MiB", "1.5GiB", "12 parsecs", "-1", "99999999999TiB"] {
            assert!(ByteSize::parse(bad).is_err(), "{bad:?} must be refused");
        }
        assert_eq!(ByteSize(1024 * MIB).to_string(), "1GiB");
        assert_eq!(ByteSize(3 * MIB).to_string(), "3MiB");
        assert_eq!(ByteSize(1000).to_string(), "1000B");
    }

    #[test]
    fn settings_load_sizes_as_numbers_or_strings_and_apply_to_provisioning() {
        let settings: StorageSettings = serde_json::from_value(serde_json::json!({
            "warn_at_percent": 75,
            "audit": {"max_bytes": "2GiB", "max_age_seconds": 86400},
            "results": {"max_bytes": 16777216},
            "commands": {"max_per_cluster": 50},
        }))
        .expect("storage settings");
        settings.validate().expect("valid");
        let mut opts = ProvisionOptions::default();
        settings.apply(&mut opts);
        assert_eq!(opts.limits.audit_max_bytes, 2 * 1024 * MIB);
        assert_eq!(opts.audit_max_age, Duration::from_secs(86400));
        assert_eq!(opts.limits.results_max_bytes, 16 * MIB);
        assert_eq!(opts.limits.commands_max_per_cluster, 50);
        let defaults = ProvisionOptions::default();
        assert_eq!(opts.limits.events_max_bytes, defaults.limits.events_max_bytes, "unset keeps the default");
        assert_eq!(opts.events_max_age, defaults.events_max_age);
        assert!((settings.warn_at() - 0.75).abs() < f64::EPSILON);
        assert!(
            serde_json::from_value::<StorageSettings>(serde_json::json!({"audit": {"max_byte": 1}})).is_err(),
            "unknown fields are refused"
        );
    }

    #[test]
    fn out_of_range_settings_name_the_setting() {
        let check = |v: serde_json::Value| {
            serde_json::from_value::<StorageSettings>(v).expect("parses").validate().map_err(|e| e.setting)
        };
        assert_eq!(check(serde_json::json!({"warn_at_percent": 100})), Err("storage.warn_at_percent"));
        assert_eq!(
            check(serde_json::json!({"audit": {"max_bytes": "4KiB"}})),
            Err("storage.audit.max_bytes")
        );
        assert_eq!(
            check(serde_json::json!({"results": {"max_bytes": "4MiB"}})),
            Err("storage.results.max_bytes")
        );
        assert_eq!(
            check(serde_json::json!({"events": {"max_age_seconds": 0}})),
            Err("storage.events.max_age_seconds")
        );
        assert_eq!(
            check(serde_json::json!({"commands": {"max_per_cluster": 0}})),
            Err("storage.commands.max_per_cluster")
        );
        assert_eq!(check(serde_json::json!({})), Ok(()));
    }
}
