//! The read-only command policy: what a command may say, decided by parsing into
//! [`KubectlRequest`]. Runs at the gateway (fast 422) and again at the executor.

pub mod request;

pub use request::*;
