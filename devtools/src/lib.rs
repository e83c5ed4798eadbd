//! Kubently's developer tools: the binaries `./dev` runs, and the code only they need.
//!
//! * `kubently-dev` (`src/bin/kubently-dev.rs`): the Rust half of `./dev` — [`devstack`]'s
//!   `up`, `down`, `status`, `seed`, `env`.
//! * `kubently-bench` (`src/bin/kubently-bench.rs`): `./dev bench`, the command-path benchmark
//!   against the running dev stack, beside the bare JetStream round trip it is built on
//!   ([`floor`]), with CPU time per command per process ([`cpu`]) and what the bus keeps per
//!   command ([`storage_report`]), optionally with the executor behind a delaying link
//!   ([`link_delay`]); `./dev bench fleet`, the fleet simulation ([`fleet`]).
//! * `kubently-chaos` (`src/bin/kubently-chaos.rs`): `./dev chaos`, the fault-injection suite
//!   ([`chaos`]).
//!
//! The processes they start (nats-server, the control plane, the fake kubelet) and the stack's
//! state file come from the test harness (`kubently-tests`), so tests and the dev stack share one
//! implementation. Nothing here is used by tests.

pub mod chaos;
pub mod cpu;
pub mod devstack;
pub mod fleet;
pub mod floor;
pub mod link_delay;
pub mod storage_report;
