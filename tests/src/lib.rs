//! Kubently's local stack and test harness.
//!
//! * [`nats_server`]: a real nats-server (single node or 3-node JetStream cluster) on free loopback ports.
//! * [`kube_cluster`]: a real etcd + kube-apiserver + controller-manager + scheduler + fake kubelet.
//! * [`fake_kubelet`]: registers a Node, drives pod status, serves container logs over HTTPS.
//! * [`scenario`]: the demo "broken cluster" an agent should diagnose.
//! * [`devstack`]: `./dev up|down|status|seed` state, by pid.
//! * [`harness`]: what integration tests use: one shared stack per test run, per-test isolation.
//! * [`app`]: `spawn_app` for the command path: a real gateway and executors in-process.
//! * [`webhook_receiver`]: a real HTTP webhook receiver and an independent signature check.
#![allow(unsafe_code)] // prctl/atexit/kill for child-process lifetime; see `process`.

pub mod app;
pub mod devstack;
pub mod fake_kubelet;
pub mod harness;
pub mod kube_cluster;
pub mod nats_server;
pub mod paths;
pub mod pki;
pub mod process;
pub mod python;
pub mod scenario;
pub mod webhook_receiver;
