//! The application layer: what the gateway does for a caller, whichever door the caller came
//! through. REST (`crate::rest`), MCP (`crate::mcp`) and A2A (`crate::a2a`) are thin adapters that
//! translate their protocol to and from these functions and types; nothing here knows about
//! HTTP routes, JSON-RPC or tool schemas.
//!
//! | module | what it holds |
//! |---|---|
//! | [`access`] | every ownership and scope rule: which clusters a caller may use, whose sessions, results, subscriptions and tasks it may see or change |
//! | [`headers`] | the agent-to-agent headers every door honours (`X-Correlation-ID`, …) |
//! | [`input`] | the door-neutral command request, its validation and the read-only policy |
//! | [`commands`] | running a command (sync or async) and its outcome |
//! | [`fanout`] | one read-only command on many clusters: per-cluster results, identical answers grouped, skipped clusters and why |
//! | [`results`] | reading stored results page by page |
//! | [`result_search`] | searching a stored result: matching lines with context, or a count |
//! | [`guidance`] | how to debug with Kubently: the workflow and how to explain a finding (MCP prompts) |
//! | [`namespaces`] | a cluster's namespace names, cheaply (completion) |
//! | [`sessions`] | opening, reading and closing debug sessions |
//! | [`clusters`] | clusters and their executors, as callers see them |
//! | [`subscriptions`] | webhook subscriptions and their delivery log |
//! | [`audit`] | reading the audit trail |
//!
//! Errors are [`crate::error::AppError`].

pub mod access;
pub mod audit;
pub mod clusters;
pub mod commands;
pub mod fanout;
pub mod guidance;
pub mod headers;
pub mod input;
pub mod namespaces;
pub mod result_search;
pub mod results;
pub mod sessions;
pub mod subscriptions;
