//! The read-only command policy: what a command may say, decided by parsing into
//! [`KubectlRequest`]. Runs at the gateway (fast 422) and again at the executor.

mod config;
mod error;
mod flags;
mod parse;
mod render;
pub mod request;
mod resources;
mod values;
mod verbs;
mod words;

pub use config::PolicyConfig;
pub use error::{Field, Location, PolicyError};
pub use flags::allowed_flags;
pub use parse::{ALLOWED_VERBS, CommandInput, MAX_ARGS, MAX_TOKEN_CHARS, parse};
pub use render::{to_argv, validate};
pub use request::*;
pub use resources::{ALL_CATEGORY, canonical_resource};
pub use words::{MAX_COMMAND_CHARS, split_command, split_verb};
