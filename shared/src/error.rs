/// Errors of the shared crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration is invalid: {0}")]
    Config(#[from] ::config::ConfigError),
    #[error("tracing could not be initialised: {0}")]
    Telemetry(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
