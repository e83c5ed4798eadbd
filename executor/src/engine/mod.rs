//! The kubectl engine: runs a typed, read-only [`KubectlRequest`] through kube-rs and returns
//! what kubectl itself would have printed. No kubectl binary, no shell: every request is a GET
//! built from discovery.
//!
//! | module | what |
//! |---|---|
//! | `context` | what every verb runs with: client, options, and the one resolver, which applies the executor's policy to every resource it resolves |
//! | [`discovery`] | legacy/aggregated discovery, the cached index, resolving `po`/`Pod`/`deployments.apps` |
//! | `get` | `get`: chunked lists or named GETs, server-side tables, `-o json|yaml|name|jsonpath|custom-columns` |
//! | `describe`, `logs`, `events`, `top`, `explain`, `rollout` | those verbs |
//! | `diagnose` | Kubently's own verb: deterministic analyzers, findings ranked with evidence |
//! | [`compact`] | `logs --compact`: near-identical lines folded, the window around errors kept |
//! | `api_resources`, `api_versions`, `version`, `cluster_info` | those verbs |
//! | [`table`] + `tabwriter` | the `meta.k8s.io` Table and kubectl's column layout |
//! | [`jsonpath`] | kubectl's JSONPath and custom-columns template engine |
//! | [`objects`] + `yaml` | cleaning objects for printing (managedFields, last-applied, Secret values); kubectl's JSON and YAML |
//! | `http` | raw GETs: paths, queries, JSON or Table answers |
//! | `fieldpath`, `age`, [`quantity`] | `--sort-by` paths, kubectl's human durations, resource quantities |

mod age;
pub mod api_resources;
mod api_versions;
mod cluster_info;
pub mod compact;
mod context;
mod describe;
mod diagnose;
pub mod discovery;
mod error;
mod events;
mod explain;
mod explain_v3;
mod fieldpath;
mod get;
mod http;
pub mod jsonpath;
mod logs;
#[cfg(test)]
mod newer_servers;
pub mod objects;
pub mod quantity;
mod rollout;
pub mod table;
mod tabwriter;
mod top;
mod version;
mod yaml;

use std::sync::Arc;
use std::time::Instant;

use kubently_shared::policy::KubectlRequest;

use context::{Context, Resolver};
pub use discovery::{ApiResourceInfo, DiscoveryCache, ResourceIndex};
pub use error::{BodyError, EngineError};

/// What a command produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// kubectl's stdout (and, like kubectl's "No resources found …", the notes it writes to stderr
    /// on success).
    pub text: String,
    /// What the output is: `Pod`, `Pod,Service`, `Version`, `APIResourceList`.
    pub kind: Option<String>,
    /// Rows/objects printed, where that means something.
    pub rows: Option<u64>,
    /// What kubectl would have said on stderr besides the output (e.g. `Found 3 pods, using
    /// pod/x`): carried in the result's `meta.notices`, never inside the output.
    pub notices: Vec<String>,
}

/// Per-command settings.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// The namespace used when the request names none (kubectl's context namespace).
    pub default_namespace: String,
    /// Give up (with [`EngineError::DeadlineExceeded`]) at this instant.
    pub deadline: Option<Instant>,
    /// The command's output budget in bytes: verbs that shape their own output (`diagnose`) fit
    /// it; the rest is cut by the worker.
    pub output_budget: usize,
}

impl Default for ExecOptions {
    fn default() -> Self {
        Self {
            default_namespace: "default".into(),
            deadline: None,
            output_budget: kubently_shared::budget::DEFAULT_BUDGET_BYTES,
        }
    }
}

/// Runs requests against one cluster. Cheap to clone; clones share the discovery cache.
#[derive(Clone)]
pub struct Engine {
    client: kube::Client,
    discovery: Arc<DiscoveryCache>,
    /// Applied to every resource a verb resolves (`restricted_resources`).
    policy: Arc<kubently_shared::policy::PolicyConfig>,
    /// The API server URL the client talks to (`cluster-info` names it, as kubectl names its
    /// configured server).
    server_url: Option<String>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Engine {
    pub fn new(client: kube::Client) -> Self {
        Self { client, discovery: Arc::default(), policy: Arc::default(), server_url: None }
    }

    /// This engine (discovery cache, policy, server URL shared) sending its requests with
    /// `client` instead: a command's client on a cluster that runs commands as their caller.
    pub fn with_client(&self, client: kube::Client) -> Self {
        Self { client, ..self.clone() }
    }

    /// The API server URL the client was configured with (kube's `Config::cluster_url`).
    pub fn with_server_url(mut self, url: impl Into<String>) -> Self {
        self.server_url = Some(url.into().trim_end_matches('/').to_string());
        self
    }

    /// The executor's policy, enforced on resources after discovery resolved them.
    pub fn with_policy(mut self, policy: kubently_shared::policy::PolicyConfig) -> Self {
        self.policy = Arc::new(policy);
        self
    }

    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// The discovery cache.
    pub fn discovery(&self) -> &DiscoveryCache {
        &self.discovery
    }

    /// Runs one request, bounded by `opts.deadline`.
    pub async fn execute(&self, req: &KubectlRequest, opts: &ExecOptions) -> Result<Output, EngineError> {
        let work = self.dispatch(req, opts);
        match opts.deadline {
            // An expired command is not started at all.
            Some(deadline) if deadline <= Instant::now() => Err(EngineError::DeadlineExceeded),
            Some(deadline) => tokio::time::timeout_at(deadline.into(), work)
                .await
                .unwrap_or(Err(EngineError::DeadlineExceeded)),
            None => work.await,
        }
    }

    async fn dispatch(&self, req: &KubectlRequest, opts: &ExecOptions) -> Result<Output, EngineError> {
        let ctx = Context {
            client: &self.client,
            resolver: Resolver::new(&self.client, &self.discovery, &self.policy),
            opts,
        };
        match req {
            KubectlRequest::Get(get) => get::run(&ctx, get).await,
            KubectlRequest::Describe(d) => describe::run(&ctx, d).await,
            KubectlRequest::Logs(l) => logs::run(&ctx, l).await,
            KubectlRequest::Events(e) => events::run(&ctx, e).await,
            KubectlRequest::Top(t) => top::run(&ctx, t).await,
            KubectlRequest::Explain(e) => explain::run(&ctx, e).await,
            KubectlRequest::Rollout(r) => rollout::run(&ctx, r).await,
            KubectlRequest::Diagnose(d) => diagnose::run(&ctx, d).await,
            // These list what the server serves; they read no objects.
            KubectlRequest::ApiResources(r) => {
                Ok(api_resources::render(&*self.discovery.index(&self.client).await?, r))
            }
            KubectlRequest::Version => version::run(&self.client).await,
            KubectlRequest::ApiVersions => api_versions::run(&self.client).await,
            KubectlRequest::ClusterInfo => cluster_info::run(&self.client, self.server_url.as_deref()).await,
        }
    }
}

/// `execute` must stay spawnable (the worker runs each command in its own task).
#[allow(dead_code)]
fn execute_is_spawnable(engine: Engine, req: KubectlRequest) {
    fn spawnable<F: std::future::Future + Send + 'static>(_: F) {}
    spawnable(async move { engine.execute(&req, &ExecOptions::default()).await });
}
