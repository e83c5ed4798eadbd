//! The one integration-test binary. Every test talks to real servers: nats-server 2.15 and a
//! kube-apiserver 1.20 with controller-manager, scheduler and the fake kubelet (see
//! `kubently_tests::harness`).

mod a2a;
mod bus_security;
mod command_path;
mod compose;
mod conformance;
mod delivery;
mod deploy;
mod diagnose;
mod engine;
mod engine_describe;
mod engine_output;
mod engine_verbs;
mod fanout;
mod fuzz;
mod golden;
mod hostile;
mod identity;
mod impersonation;
mod kubectl_parity;
mod leaf;
mod mcp;
mod mcp_context;
mod mcp_raw;
mod provision;
mod restricted;
mod secrets;
mod stack;
mod storage;
mod support;
mod tenancy;
mod webhooks;
