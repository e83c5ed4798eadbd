//! `/debug/clusters…`, `/cluster/{id}/status`, `/admin/agents…`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use super::PathParam;
use crate::AppState;
use crate::app::clusters::{self, AgentList, ClusterDetail, ClusterList, ClusterStatus};
use crate::auth::Caller;
use crate::error::AppResult;

/// Every cluster ever seen that this key may use.
#[utoipa::path(get, path = "/debug/clusters", tag = "clusters", responses((status = 200, body = ClusterList)), security(("api_key" = [])))]
pub async fn list(State(state): State<Arc<AppState>>, caller: Caller) -> Json<ClusterList> {
    Json(clusters::list(&state, &caller))
}

/// One cluster: connected executors, active-session flag, versions.
#[utoipa::path(get, path = "/debug/clusters/{cluster_id}", tag = "clusters", params(("cluster_id" = String, Path, description = "A cluster id; one no cluster can have is a 404", pattern = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", max_length = 100)),
    responses((status = 200, body = ClusterDetail), (status = 404, description = "unknown cluster, or one the key may not use", body = super::models::ErrorBody)), security(("api_key" = [])))]
pub async fn detail(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<String>,
) -> AppResult<Json<ClusterDetail>> {
    Ok(Json(clusters::detail(&state, &caller, &id).await?))
}

/// Connected or not, last seen, versions, fetch mode.
#[utoipa::path(get, path = "/cluster/{cluster_id}/status", tag = "clusters", params(("cluster_id" = String, Path, description = "A cluster id; one no cluster can have is a 404", pattern = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", max_length = 100)),
    responses((status = 200, body = ClusterStatus), (status = 404, description = "unknown cluster, or one the key may not use", body = super::models::ErrorBody)), security(("api_key" = [])))]
pub async fn status(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<String>,
) -> AppResult<Json<ClusterStatus>> {
    Ok(Json(clusters::status(&state, &caller, &id)?))
}

/// Every cluster with its connection state (admin keys only).
#[utoipa::path(get, path = "/admin/agents", tag = "admin", responses((status = 200, body = AgentList), (status = 403, description = "not an admin key", body = super::models::ErrorBody)), security(("api_key" = [])))]
pub async fn agents(State(state): State<Arc<AppState>>, caller: Caller) -> AppResult<Json<AgentList>> {
    Ok(Json(clusters::agents(&state, &caller)?))
}

/// One cluster's executor status (admin keys only).
#[utoipa::path(get, path = "/admin/agents/{cluster_id}/status", tag = "admin", params(("cluster_id" = String, Path, description = "A cluster id; one no cluster can have is a 404", pattern = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", max_length = 100)),
    responses((status = 200, body = ClusterStatus), (status = 403, description = "not an admin key", body = super::models::ErrorBody), (status = 404, description = "unknown cluster, or one the key may not use", body = super::models::ErrorBody)), security(("api_key" = [])))]
pub async fn agent_status(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathParam(id): PathParam<String>,
) -> AppResult<Json<ClusterStatus>> {
    Ok(Json(clusters::agent_status(&state, &caller, &id)?))
}
