//! Tracing initialisation for binaries.

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSettings};
use crate::{Error, Result};

/// Installs the global subscriber. `RUST_LOG` overrides `settings.level`.
pub fn init(settings: &LogSettings) -> Result<()> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .map_err(|e| Error::Telemetry(format!("log level {:?}: {e}", settings.level)))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(true);
    let result = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    result.map_err(|e| Error::Telemetry(e.to_string()))
}
