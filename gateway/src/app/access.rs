//! Every ownership and scope decision of the gateway, in one place, so no door can decide
//! differently: which clusters a caller may use, and whose records (sessions, results, audit
//! entries, webhook subscriptions, A2A tasks) it may see or change. A record belongs to the
//! caller that made it; an admin key sees every record and every cluster.

use kubently_shared::protocol::SessionRecord;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::webhooks::store::{self, Audience, Subscription};

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
        .filter(|r| may_see(caller, &r.owner) && may_use_cluster(caller, &r.cluster_id))
        .ok_or_else(|| AppError::NotFound("Session not found".into()))
}

/// A stored result is the caller's, on a cluster it may (still) use.
pub fn may_read_result(caller: &Caller, owner: Option<&str>, cluster_id: &str) -> bool {
    owner.is_some_and(|o| may_see(caller, o)) && may_use_cluster(caller, cluster_id)
}

/// Whose audit entries the caller reads, and on which clusters: its own on the clusters its key
/// may use (`Some`), or everyone's everywhere (admin: `None`).
pub fn audit_scope(caller: &Caller) -> Option<(String, Vec<String>)> {
    (!caller.admin).then(|| (caller.service.clone(), caller.clusters.clone()))
}

/// Cluster-labelled metrics (command counts and latencies per cluster) are for admin keys only:
/// they show every tenant's activity.
pub fn may_see_cluster_metrics(caller: &Caller) -> bool {
    caller.admin
}

/// A subscription hears about the clusters its key may use now: an unscoped subscription (every
/// cluster) is visible to an unscoped key only.
fn subscription_in_scope(caller: &Caller, sub: &Subscription) -> bool {
    caller.admin
        || if sub.clusters.is_empty() {
            caller.clusters.is_empty()
        } else {
            sub.clusters.iter().all(|c| may_use_cluster(caller, c))
        }
}

/// Whose session and command events a new subscription of the caller receives: its own, or
/// every caller's for an admin key (no event carries another tenant's caller name, session id,
/// correlation id or error text to a tenant).
pub fn subscription_audience(caller: &Caller) -> Audience {
    if caller.admin { Audience::Everyone } else { Audience::Owner }
}

/// The caller's subscriptions among `all`.
pub fn own_subscriptions(caller: &Caller, all: Vec<Subscription>) -> Vec<Subscription> {
    all.into_iter().filter(|s| may_see(caller, &s.owner) && subscription_in_scope(caller, s)).collect()
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
    if !may_see(caller, &sub.owner) || !subscription_in_scope(caller, &sub) {
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

#[cfg(test)]
mod tests {
    use kubently_shared::protocol::{Event, EventType};
    use serde_json::json;

    use super::*;

    fn caller(service: &str, clusters: &[&str], admin: bool) -> Caller {
        Caller::key(service, clusters.iter().map(|c| c.to_string()).collect(), admin)
    }

    fn subscription(owner: &Caller, clusters: &[&str]) -> Subscription {
        Subscription {
            id: store::new_subscription_id(),
            owner: owner.service.clone(),
            url: "http://127.0.0.1:9/".into(),
            events: vec!["*".into()],
            clusters: clusters.iter().map(|c| c.to_string()).collect(),
            description: None,
            secret: String::new(),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            audience: subscription_audience(owner),
        }
    }

    #[test]
    fn records_are_their_owners_on_clusters_the_key_may_use() {
        let (ops, scoped, admin) =
            (caller("ops", &[], false), caller("ci", &["staging"], false), caller("root", &[], true));
        assert!(may_read_result(&ops, Some("ops"), "prod") && !may_read_result(&ops, Some("ci"), "prod"));
        assert!(may_read_result(&scoped, Some("ci"), "staging"));
        assert!(
            !may_read_result(&scoped, Some("ci"), "prod"),
            "a result on a cluster the key may no longer use"
        );
        assert!(!may_read_result(&ops, None, "prod"), "a result without an owner is nobody's");
        assert!(may_read_result(&admin, Some("ops"), "prod"));
        assert_eq!(audit_scope(&scoped), Some(("ci".into(), vec!["staging".into()])));
        assert_eq!(audit_scope(&admin), None);
        assert!(may_see_cluster_metrics(&admin) && !may_see_cluster_metrics(&ops));
    }

    #[test]
    fn subscriptions_stay_in_their_keys_scope() {
        let (ops, scoped) = (caller("ops", &[], false), caller("ci", &["staging"], false));
        let everywhere = subscription(&ops, &[]);
        assert_eq!(own_subscriptions(&ops, vec![everywhere.clone()]).len(), 1);
        let mine = subscription(&scoped, &["staging"]);
        let widened = subscription(&scoped, &[]);
        assert_eq!(
            own_subscriptions(&scoped, vec![mine, widened]).len(),
            1,
            "an every-cluster subscription outgrew the key"
        );
        assert!(matches!(subscription_clusters(&scoped, vec!["prod".into()]), Err(AppError::Forbidden(_))));
        assert_eq!(subscription_clusters(&scoped, vec![]).expect("scope"), vec!["staging".to_string()]);
    }

    #[test]
    fn tenants_hear_only_their_own_sessions_and_commands() {
        let (ops, ci, admin) =
            (caller("ops", &[], false), caller("ci", &[], false), caller("root", &[], true));
        let event = |t: EventType, who: Option<&str>| {
            let e = Event::new(t, "prod", json!({}), time::OffsetDateTime::UNIX_EPOCH);
            match who {
                Some(w) => e.by(w),
                None => e,
            }
        };
        let (ops_sub, admin_sub) = (subscription(&ops, &[]), subscription(&admin, &[]));
        for t in [EventType::SessionCreated, EventType::CommandCompleted, EventType::CommandTimeout] {
            assert!(ops_sub.receives(&event(t, Some("ops"))), "{t}");
            assert!(!ops_sub.receives(&event(t, Some(&ci.service))), "{t} of another tenant");
            assert!(!ops_sub.receives(&event(t, None)), "{t} of nobody in particular");
            assert!(admin_sub.receives(&event(t, Some(&ci.service))), "{t} for an admin subscription");
        }
        assert!(ops_sub.receives(&event(EventType::ClusterDisconnected, None)));
    }
}
