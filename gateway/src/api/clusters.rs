//! Clusters and their executors, from the executors registry (heartbeats with per-key TTL).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use kubently_shared::protocol::ExecutorInfo;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// Every known cluster `caller` may use.
pub fn visible(state: &AppState, caller: &Caller) -> Vec<String> {
    state.registry.known_clusters().into_iter().filter(|c| caller.may_use_cluster(c)).collect()
}

fn require_known(state: &AppState, caller: &Caller, id: &str, not_found: impl FnOnce() -> String) -> ApiResult<()> {
    if state.registry.is_known(id) && caller.may_use_cluster(id) { Ok(()) } else { Err(ApiError::NotFound(not_found())) }
}

fn executor_json(e: &ExecutorInfo) -> Value {
    json!({
        "executorId": e.executor_id, "version": e.version, "hostname": e.hostname, "pod": e.pod,
        "kubernetesVersion": e.kubernetes_version, "mode": e.mode, "inFlight": e.in_flight,
        "startedAt": rfc3339(e.started_at), "lastSeen": rfc3339(e.last_seen), "capabilities": e.capabilities,
    })
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Upstream's agent-status shape, from the newest heartbeat.
fn status_json(state: &AppState, id: &str) -> Value {
    let executors = state.registry.executors(id);
    let newest = executors.first();
    let connected = newest.is_some();
    json!({
        "id": id,
        "connected": connected,
        "status": if connected { "connected" } else { "disconnected" },
        "lastSeen": newest.map(|e| rfc3339(e.last_seen)),
        "version": newest.map(|e| e.version.clone()),
        "kubernetesVersion": newest.and_then(|e| e.kubernetes_version.clone()),
        "capabilities": newest.map(|e| e.capabilities.clone()),
        "mode": newest.map(|e| e.mode),
        "executors": executors.iter().map(executor_json).collect::<Vec<_>>(),
    })
}

/// Every cluster ever seen that this key may use.
#[utoipa::path(get, path = "/debug/clusters", tag = "clusters", responses((status = 200, description = "`{clusters, count}`")), security(("api_key" = [])))]
pub async fn list(State(state): State<Arc<AppState>>, caller: Caller) -> Json<Value> {
    let clusters = visible(&state, &caller);
    Json(json!({"count": clusters.len(), "clusters": clusters}))
}

/// One cluster: connected executors, active-session flag, versions.
#[utoipa::path(get, path = "/debug/clusters/{cluster_id}", tag = "clusters", params(("cluster_id" = String, Path)),
    responses((status = 200, description = "cluster detail"), (status = 404, description = "unknown cluster")), security(("api_key" = [])))]
pub async fn detail(State(state): State<Arc<AppState>>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    require_known(&state, &caller, &id, || format!("Cluster '{id}' not found. No executor has ever connected for it."))?;
    let active = match kubently_shared::names::validate_kv_key(&id) {
        Ok(()) => state.buckets.cluster_active.get(&id).await.map_err(|e| ApiError::internal("reading cluster activity", e))?.is_some(),
        Err(_) => false,
    };
    let status = status_json(&state, &id);
    Ok(Json(json!({
        "clusterId": id,
        "status": {"hasToken": true, "hasActiveSession": active, "executorReporting": status["connected"]},
        "connected": status["connected"], "lastSeen": status["lastSeen"], "version": status["version"],
        "kubernetesVersion": status["kubernetesVersion"], "mode": status["mode"],
        "capabilities": status["capabilities"], "executors": status["executors"],
    })))
}

/// Connected or not, last seen, versions, fetch mode.
#[utoipa::path(get, path = "/cluster/{cluster_id}/status", tag = "clusters", params(("cluster_id" = String, Path)),
    responses((status = 200, description = "executor status"), (status = 404, description = "unknown cluster")), security(("api_key" = [])))]
pub async fn status(State(state): State<Arc<AppState>>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    require_known(&state, &caller, &id, || format!("No executor found for cluster '{id}'"))?;
    Ok(Json(status_json(&state, &id)))
}

fn require_admin(caller: &Caller) -> ApiResult<()> {
    if caller.admin { Ok(()) } else { Err(ApiError::Forbidden(format!("the admin endpoints need an admin API key; service '{}' is not an admin", caller.service))) }
}

/// Every cluster with its connection state (admin keys only).
#[utoipa::path(get, path = "/admin/agents", tag = "admin", responses((status = 200, description = "`{clusters: [{id, connected, lastSeen}], count}`"), (status = 403, description = "not an admin key")), security(("api_key" = [])))]
pub async fn agents(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    require_admin(&caller)?;
    let clusters: Vec<Value> = state
        .registry
        .known_clusters()
        .iter()
        .map(|id| {
            let s = status_json(&state, id);
            json!({"id": id, "connected": s["connected"], "lastSeen": s["lastSeen"]})
        })
        .collect();
    Ok(Json(json!({"count": clusters.len(), "clusters": clusters})))
}

/// One cluster's executor status (admin keys only).
#[utoipa::path(get, path = "/admin/agents/{cluster_id}/status", tag = "admin", params(("cluster_id" = String, Path)),
    responses((status = 200, description = "executor status"), (status = 403, description = "not an admin key"), (status = 404, description = "unknown cluster")), security(("api_key" = [])))]
pub async fn agent_status(State(state): State<Arc<AppState>>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    require_admin(&caller)?;
    require_known(&state, &caller, &id, || format!("No executor found for cluster '{id}'"))?;
    Ok(Json(status_json(&state, &id)))
}
