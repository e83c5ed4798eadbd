//! Every ownership and scope decision of the gateway, in one place, so no door can decide
//! differently: which clusters a caller may use, and whose records (sessions, results, audit
//! entries, webhook subscriptions, A2A tasks) it may see or change. A record belongs to the
//! caller that made it; an admin key sees every record and every cluster.

use kubently_shared::protocol::SessionRecord;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::webhooks::store::{self, Subscription};

/// The key's cluster scope allows `cluster_id` (an empty scope allows every cluster).
pub fn may_use_cluster(caller: &Caller, cluster_id: &str) -> bool {
    caller.admin || caller.clusters.is_empty() || caller.clusters.iter().any(|c| c == cluster_id)
}

/// A record owned by `owner` is the caller's to see or change.
pub fn may_see(caller: &Caller, owner: &str) -> bool {
    caller.admin || caller.service == owner
}

/// Every known cluster the caller may use.
pub fn visible_clusters(state: &AppState, caller: &Caller) -> Vec<String> {
    state.registry.known_clusters().into_iter().filter(|c| may_use_cluster(caller, c)).collect()
}

/// The caller may use the cluster and an executor has served it at some point (else 404 with the
/// known clusters).
pub fn ensure_cluster(state: &AppState, caller: &Caller, cluster_id: &str) -> AppResult<()> {
    if !may_use_cluster(caller, cluster_id) {
        return Err(AppError::Forbidden(format!(
            "API key of service '{}' may not use cluster '{cluster_id}'; it may use: {}",
            caller.service,
            caller.clusters.join(", ")
        )));
    }
    if state.registry.is_known(cluster_id) {
        return Ok(());
    }
    let known = state.registry.known_clusters();
    Err(AppError::NotFound(if known.is_empty() {
        format!(
            "Cluster '{cluster_id}' not found. No clusters are currently registered (no executor has connected yet)."
        )
    } else {
        format!("Cluster '{cluster_id}' not found. Available clusters: {}", known.join(", "))
    }))
}

/// A cluster the caller may see (unknown and out-of-scope clusters look the same: 404).
pub fn visible_cluster(
    state: &AppState,
    caller: &Caller,
    cluster_id: &str,
    not_found: impl FnOnce() -> String,
) -> AppResult<()> {
    if state.registry.is_known(cluster_id) && may_use_cluster(caller, cluster_id) {
        Ok(())
    } else {
        Err(AppError::NotFound(not_found()))
    }
}

/// The one cluster the caller may use, for doors where naming it is optional (MCP, A2A).
pub fn only_cluster(state: &AppState, caller: &Caller) -> AppResult<String> {
    match visible_clusters(state, caller).as_slice() {
        [only] => Ok(only.clone()),
        [] => Err(AppError::NotFound(
            "No cluster is available to this key yet (no executor has connected)".into(),
        )),
        many => Err(AppError::BadRequest(format!(
            "This key may use several clusters; say which one (cluster_id): {}",
            many.join(", ")
        ))),
    }
}

pub fn require_admin(caller: &Caller) -> AppResult<()> {
    if caller.admin {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "the admin endpoints need an admin API key; service '{}' is not an admin",
            caller.service
        )))
    }
}

/// The caller's session `id` (404 for another caller's).
pub async fn session(state: &AppState, caller: &Caller, id: &str) -> AppResult<SessionRecord> {
    state
        .sessions
        .get(id)
        .await
        .map_err(AppError::internal("reading the session"))?
        .filter(|r| may_see(caller, &r.owner))
        .ok_or_else(|| AppError::NotFound("Session not found".into()))
}

/// A stored result's owner lets the caller read it.
pub fn may_read_result(caller: &Caller, owner: Option<&str>) -> bool {
    owner.is_some_and(|o| may_see(caller, o))
}

/// Whose audit entries the caller reads: its own (`Some(service)`), or everyone's (admin).
pub fn audit_scope(caller: &Caller) -> Option<String> {
    (!caller.admin).then(|| caller.service.clone())
}

/// The caller's subscription `id` (404 for another caller's, or an id no subscription can have).
pub async fn subscription(state: &AppState, caller: &Caller, id: &str) -> AppResult<Subscription> {
    if !store::is_subscription_id(id) {
        // Not an id this gateway hands out (and not to be echoed or sent to NATS: it may be huge).
        return Err(AppError::NotFound(
            "No such webhook subscription (ids look like wh_ and 32 hex digits)".into(),
        ));
    }
    let not_found = || AppError::NotFound(format!("No webhook subscription {id}"));
    let sub: Subscription = store::read(state.webhooks.subscriptions(), id)
        .await
        .map_err(AppError::internal("reading the subscription"))?
        .ok_or_else(not_found)?;
    if !may_see(caller, &sub.owner) {
        return Err(not_found());
    }
    Ok(sub)
}

/// The clusters a new subscription hears about: those asked for (each must be in the key's
/// scope), or, when none are named, the key's scope (every cluster for an unscoped key).
pub fn subscription_clusters(caller: &Caller, asked: Vec<String>) -> AppResult<Vec<String>> {
    if let Some(c) = asked.iter().find(|c| !may_use_cluster(caller, c)) {
        return Err(AppError::Forbidden(format!("Your API key may not use cluster '{c}'")));
    }
    if asked.is_empty() && !caller.admin {
        return Ok(caller.clusters.clone());
    }
    Ok(asked)
}

/// An A2A task recorded as owned by `owner` is the caller's.
pub fn owns_task(caller: &Caller, owner: Option<&str>) -> bool {
    owner.is_some_and(|o| may_see(caller, o))
}
