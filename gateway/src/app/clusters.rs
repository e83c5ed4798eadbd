//! Clusters and their executors as callers see them, from the executors registry (heartbeats
//! with per-key TTL), in upstream Kubently's shapes.

use kubently_shared::protocol::{AccessReport, ExecutorInfo, FetchMode};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::access;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{AppError, AppResult};

/// `GET /debug/clusters`: every cluster ever seen that the caller may use.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterList {
    pub count: usize,
    pub clusters: Vec<String>,
}

/// One executor's latest heartbeat.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorView {
    pub executor_id: String,
    pub version: String,
    pub hostname: String,
    pub pod: Option<String>,
    pub kubernetes_version: Option<String>,
    pub mode: FetchMode,
    pub in_flight: u32,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: OffsetDateTime,
    pub capabilities: Vec<String>,
    /// What its Kubernetes identity may do (its privilege self-check at start); absent from
    /// executors older than the check.
    pub access: Option<AccessView>,
}

/// An executor identity's effective access. Namespace lists hold `"*"` alone for every namespace
/// and are empty for none.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessView {
    /// Namespaces it may read (list pods and the rest of the vocabulary).
    pub namespaces: Vec<String>,
    /// Namespaces where it may read Secrets: `describe secret` then shows keys and sizes (values
    /// are always redacted); elsewhere Secret reads are refused with the API server's Forbidden.
    pub secrets: Vec<String>,
    /// Namespaces where it may read container logs.
    pub logs: Vec<String>,
    /// Namespaces where it may read pod metrics (`top pods`).
    pub metrics: Vec<String>,
    /// True when the identity can change the cluster and the executor runs anyway
    /// (`executor.allow_write_identity`, lab use only).
    pub write_identity: bool,
    /// The dangerous permissions it holds (only with `writeIdentity`).
    pub dangerous_permissions: Vec<String>,
    /// False when an authorizer could not list all its rules (only the probed ones are certain).
    pub complete: bool,
}

impl AccessView {
    pub fn of(a: &AccessReport) -> Self {
        Self {
            namespaces: a.namespaces.clone(),
            secrets: a.secrets.clone(),
            logs: a.logs.clone(),
            metrics: a.metrics.clone(),
            write_identity: a.write_identity,
            dangerous_permissions: a.dangerous_permissions.clone(),
            complete: a.complete,
        }
    }
}

impl ExecutorView {
    fn of(e: &ExecutorInfo) -> Self {
        Self {
            executor_id: e.executor_id.clone(),
            version: e.version.clone(),
            hostname: e.hostname.clone(),
            pod: e.pod.clone(),
            kubernetes_version: e.kubernetes_version.clone(),
            mode: e.mode,
            in_flight: e.in_flight,
            started_at: e.started_at,
            last_seen: e.last_seen,
            capabilities: e.capabilities.clone(),
            access: e.access.as_ref().map(AccessView::of),
        }
    }
}

/// Upstream's agent-status shape: the newest heartbeat's facts and every live executor.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    pub id: String,
    pub connected: bool,
    /// `connected` or `disconnected`.
    pub status: &'static str,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_seen: Option<OffsetDateTime>,
    pub version: Option<String>,
    pub kubernetes_version: Option<String>,
    pub capabilities: Option<Vec<String>>,
    pub mode: Option<FetchMode>,
    /// The newest executor's Kubernetes access (each executor's is under `executors`).
    pub access: Option<AccessView>,
    pub executors: Vec<ExecutorView>,
}

/// `GET /debug/clusters/{id}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterDetail {
    pub cluster_id: String,
    pub status: ClusterFlags,
    pub connected: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_seen: Option<OffsetDateTime>,
    pub version: Option<String>,
    pub kubernetes_version: Option<String>,
    pub mode: Option<FetchMode>,
    pub capabilities: Option<Vec<String>>,
    /// The newest executor's Kubernetes access: namespaces, Secrets, logs and metrics it may
    /// read, and whether it runs with a write identity (each executor's is under `executors`).
    pub access: Option<AccessView>,
    pub executors: Vec<ExecutorView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterFlags {
    /// Always true (upstream's per-cluster token; Kubently's executors authenticate to NATS).
    pub has_token: bool,
    /// A session or a recent command keeps the executor in fast mode.
    pub has_active_session: bool,
    pub executor_reporting: bool,
}

/// `GET /admin/agents`: every cluster with its connection state.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentList {
    pub count: usize,
    pub clusters: Vec<AgentSummary>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentSummary {
    pub id: String,
    pub connected: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_seen: Option<OffsetDateTime>,
}

fn status_of(state: &AppState, id: &str) -> ClusterStatus {
    let executors = state.registry.executors(id);
    let newest = executors.first();
    ClusterStatus {
        id: id.to_string(),
        connected: newest.is_some(),
        status: if newest.is_some() { "connected" } else { "disconnected" },
        last_seen: newest.map(|e| e.last_seen),
        version: newest.map(|e| e.version.clone()),
        kubernetes_version: newest.and_then(|e| e.kubernetes_version.clone()),
        capabilities: newest.map(|e| e.capabilities.clone()),
        mode: newest.map(|e| e.mode),
        access: newest.and_then(|e| e.access.as_ref()).map(AccessView::of),
        executors: executors.iter().map(ExecutorView::of).collect(),
    }
}

pub fn list(state: &AppState, caller: &Caller) -> ClusterList {
    let clusters = access::visible_clusters(state, caller);
    ClusterList { count: clusters.len(), clusters }
}

pub async fn detail(state: &AppState, caller: &Caller, id: &str) -> AppResult<ClusterDetail> {
    access::visible_cluster(state, caller, id, || {
        format!("Cluster '{id}' not found. No executor has ever connected for it.")
    })?;
    let has_active_session = match kubently_shared::names::validate_kv_key(id) {
        Ok(()) => state
            .buckets
            .cluster_active
            .get(id)
            .await
            .map_err(AppError::internal("reading cluster activity"))?
            .is_some(),
        Err(_) => false,
    };
    let s = status_of(state, id);
    Ok(ClusterDetail {
        cluster_id: s.id,
        status: ClusterFlags { has_token: true, has_active_session, executor_reporting: s.connected },
        connected: s.connected,
        last_seen: s.last_seen,
        version: s.version,
        kubernetes_version: s.kubernetes_version,
        mode: s.mode,
        capabilities: s.capabilities,
        access: s.access,
        executors: s.executors,
    })
}

/// Connected or not, last seen, versions, fetch mode.
pub fn status(state: &AppState, caller: &Caller, id: &str) -> AppResult<ClusterStatus> {
    access::visible_cluster(state, caller, id, || format!("No executor found for cluster '{id}'"))?;
    Ok(status_of(state, id))
}

/// Every cluster with its connection state (admin keys only).
pub fn agents(state: &AppState, caller: &Caller) -> AppResult<AgentList> {
    access::require_admin(caller)?;
    let clusters: Vec<AgentSummary> = state
        .registry
        .known_clusters()
        .iter()
        .map(|id| {
            let newest = state.registry.executors(id).into_iter().next();
            AgentSummary {
                id: id.clone(),
                connected: newest.is_some(),
                last_seen: newest.map(|e| e.last_seen),
            }
        })
        .collect();
    Ok(AgentList { count: clusters.len(), clusters })
}

/// One cluster's executor status (admin keys only).
pub fn agent_status(state: &AppState, caller: &Caller, id: &str) -> AppResult<ClusterStatus> {
    access::require_admin(caller)?;
    status(state, caller, id)
}

/// The clusters the caller may use with the newest executor's facts (MCP's `list_clusters`).
pub fn overview(state: &AppState, caller: &Caller) -> Vec<(String, Option<ExecutorInfo>)> {
    access::visible_clusters(state, caller)
        .into_iter()
        .map(|c| {
            let newest = state.registry.executors(&c).into_iter().next();
            (c, newest)
        })
        .collect()
}
