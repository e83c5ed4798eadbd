//! Shared by every Kubently binary: NATS names, typed configuration loading, tracing setup.
//!
//! The wire protocol and the read-only command policy join this crate with the command path.

pub mod budget;
pub mod claims;
pub mod config;
pub mod error;
pub mod events;
pub mod impersonation;
pub mod kv_ttl;
pub mod names;
pub mod policy;
pub mod protocol;
pub mod provision;
pub mod results;
pub mod retry;
pub mod shutdown;
pub mod signing;
pub mod telemetry;
pub mod untrusted;

pub use error::{Error, Result};
