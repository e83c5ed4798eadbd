//! The read-only command policy: what a command may say, decided by parsing into
//! [`KubectlRequest`]. Runs at the gateway (fast 422) and again at the executor.

mod builders;
mod config;
mod error;
mod flags;
mod parse;
mod render;
pub mod request;
mod resources;
mod token;
mod values;
mod verb;
mod words;

pub use builders::DIAGNOSE_TARGETS;
pub use config::PolicyConfig;
pub use error::{Field, Location, PolicyError};
pub use flags::allowed_flags;
pub use parse::{ALLOWED_VERBS, CommandInput, MAX_ARGS, parse};
pub use render::{to_argv, validate};
pub use request::*;
pub use resources::{ALL_CATEGORY, canonical_resource};
pub use token::MAX_TOKEN_CHARS;
pub use verb::{CommandName, Verb};
pub use words::{MAX_COMMAND_CHARS, SplitError, split_command, split_verb};
