//! Administration of Kubently's bus: the NATS chain of trust ([`trust`]), least-privilege
//! permissions per identity ([`permissions`]), NATS JWTs ([`jwt`]), the bus's TLS ([`tls`]), the
//! executor's impersonation RBAC ([`impersonation`]), and the `kubently-admin` commands built on
//! them ([`cli`]).

pub mod cli;
pub mod impersonation;
pub mod jwt;
pub mod permissions;
pub mod tls;
pub mod trust;

use std::path::Path;

/// Errors of the admin tasks.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("nkey: {0}")]
    Key(String),
    #[error("encoding or decoding {what}")]
    Json {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    #[error("generating TLS certificates: {0}")]
    Tls(String),
    #[error("pushing the account JWT to nats-server: {0}")]
    Push(String),
}

impl Error {
    fn io(path: &Path) -> impl Fn(std::io::Error) -> Self + '_ {
        move |source| Self::Io { path: path.display().to_string(), source }
    }

    fn json(what: &'static str) -> impl Fn(serde_json::Error) -> Self {
        move |source| Self::Json { what, source }
    }
}

/// Writes a secret file, readable by its owner only.
pub fn write_private(path: &Path, contents: &str) -> Result<(), Error> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).map_err(Error::io(path))?;
    file.write_all(contents.as_bytes()).map_err(Error::io(path))
}
