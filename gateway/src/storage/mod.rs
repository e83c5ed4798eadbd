//! Bounded storage: every stream and bucket has a size limit and a discard policy that fits what
//! it holds ([`settings`]: the `[storage]` section, turned into the provisioning options), and a
//! watch that reports how full each one is and warns before one reaches its limit ([`watch`]).

pub mod settings;
pub mod watch;

pub use settings::{ByteSize, StorageSettings};
pub use watch::StorageWatch;
