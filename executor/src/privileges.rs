//! The privilege self-check at start: what the executor's Kubernetes identity may do, asked of
//! the API server, judged against what a read-only executor must never hold, and summarised as the
//! read access its presence record publishes ([`AccessReport`]).
//!
//! How it asks:
//! - SelfSubjectAccessReview probes, cluster wide: `*` on everything (a cluster-admin identity
//!   ends the review there), a fixed list of dangerous actions, and the read capabilities;
//! - a SelfSubjectRulesReview in every namespace it can list (plus `executor.namespaces` and
//!   the default namespace), which lists the RBAC rules granted there, so a RoleBinding that allows
//!   `delete pods` in one namespace is found too.
//!
//! Dangerous: `create`, `update`, `patch`, `delete`, `deletecollection` of anything (but the
//! self-reviews every identity may create), `get`/`create` on `pods/exec`, `pods/attach`,
//! `pods/portforward` and the proxy subresources (a websocket exec is a GET), and the verbs
//! `impersonate`, `escalate`, `bind`, `approve` and `sign`; `*` is all of them. RBAC matching
//! follows the API server's: `*` matches any verb, group or resource (subresources included),
//! `*/sub` any resource's subresource.
//!
//! One exception, on a cluster that runs commands as their caller (`[impersonation]` enabled):
//! `impersonate` is accepted exactly in the form that needs, and nothing wider
//! ([`permitted_impersonation`]): on `users` and `groups` of the core group restricted by
//! `resourceNames` that all carry the cluster's user or group prefix, and on
//! `userextras/kubently-command-id` and `userextras/kubently-session-id` of
//! `authentication.k8s.io`. Impersonating any user (no `resourceNames`), a name without the
//! prefix, service accounts, UIDs or other extras stays dangerous; so does any `impersonate` with
//! impersonation disabled.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, ResourceRule, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    SelfSubjectRulesReview, SelfSubjectRulesReviewSpec,
};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams, PostParams};
use kubently_shared::impersonation::{EXTRA_KEYS, EXTRAS_API_GROUP, EXTRAS_RESOURCE};
use kubently_shared::protocol::AccessReport;

use crate::impersonation::Impersonation;

/// Reviews at once.
const CONCURRENCY: usize = 8;

const WRITE_VERBS: [&str; 5] = ["create", "update", "patch", "delete", "deletecollection"];

/// Verbs that are dangerous on any resource, and what they let the identity do.
const ESCALATING_VERBS: [(&str, &str); 5] = [
    ("impersonate", "acts as another user, group or service account"),
    ("escalate", "grants roles more than it holds"),
    ("bind", "binds roles it does not hold"),
    ("approve", "approves certificate signing requests"),
    ("sign", "signs certificates"),
];

/// Subresources that open a session into a pod or node: reaching them is running code there.
const EXEC_SUBRESOURCES: [&str; 6] =
    ["pods/exec", "pods/attach", "pods/portforward", "pods/proxy", "nodes/proxy", "services/proxy"];

/// What every authenticated identity may create (`system:basic-user`): reviews of itself,
/// which change nothing.
const SELF_REVIEWS: [(&str, &str); 3] = [
    ("authorization.k8s.io", "selfsubjectaccessreviews"),
    ("authorization.k8s.io", "selfsubjectrulesreviews"),
    ("authentication.k8s.io", "selfsubjectreviews"),
];

/// Cluster-wide probes of dangerous actions: (verb, group, resource, subresource). They catch
/// grants from authorizers whose rules a rules review cannot list.
const PROBES: [(&str, &str, &str, &str); 20] = [
    ("create", "", "pods", ""),
    ("delete", "", "pods", ""),
    ("update", "apps", "deployments", ""),
    ("patch", "apps", "deployments", ""),
    ("delete", "apps", "deployments", ""),
    ("create", "", "secrets", ""),
    ("update", "", "configmaps", ""),
    ("delete", "", "namespaces", ""),
    ("create", "rbac.authorization.k8s.io", "clusterrolebindings", ""),
    ("create", "", "pods", "exec"),
    ("get", "", "pods", "exec"),
    ("create", "", "pods", "attach"),
    ("create", "", "pods", "portforward"),
    ("get", "", "nodes", "proxy"),
    ("impersonate", "", "users", ""),
    ("impersonate", "", "groups", ""),
    ("impersonate", "", "serviceaccounts", ""),
    ("escalate", "rbac.authorization.k8s.io", "clusterroles", ""),
    ("bind", "rbac.authorization.k8s.io", "clusterroles", ""),
    ("approve", "certificates.k8s.io", "signers", ""),
];

/// A read capability: (verb, group, resource, subresource).
type Action = (&'static str, &'static str, &'static str, &'static str);
const LIST_PODS: Action = ("list", "", "pods", "");
const GET_SECRETS: Action = ("get", "", "secrets", "");
const GET_LOGS: Action = ("get", "", "pods", "log");
const LIST_METRICS: Action = ("list", "metrics.k8s.io", "pods", "");
const LIST_NAMESPACES: Action = ("list", "", "namespaces", "");

/// What the review found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivilegeReview {
    /// One readable line per dangerous permission; empty for a read-only identity.
    pub dangerous: Vec<String>,
    /// The read access (with `write_identity` false and no dangerous permissions: the caller
    /// decides whether the executor may run at all).
    pub access: AccessReport,
    /// How many namespaces' rules were reviewed.
    pub namespaces_reviewed: usize,
}

/// Asks the API server what `client`'s identity may do. `extra_namespaces` are reviewed even
/// when the identity may not list namespaces. With `impersonation`, the impersonation it needs
/// is not dangerous.
pub async fn review(
    client: &kube::Client,
    extra_namespaces: &[String],
    impersonation: Option<&Impersonation>,
) -> Result<PrivilegeReview, kube::Error> {
    if access_allowed(client, ("*", "*", "*", "")).await? {
        let everywhere = vec!["*".to_string()];
        return Ok(PrivilegeReview {
            dangerous: vec![
                "every verb on every resource in every API group and namespace (cluster-admin or equal): \
                 writes, exec, impersonate, escalate, bind and approve included"
                    .into(),
            ],
            access: AccessReport {
                namespaces: everywhere.clone(),
                secrets: everywhere.clone(),
                logs: everywhere.clone(),
                metrics: everywhere,
                complete: true,
                ..Default::default()
            },
            namespaces_reviewed: 0,
        });
    }
    let capabilities = [LIST_PODS, GET_SECRETS, GET_LOGS, LIST_METRICS, LIST_NAMESPACES];
    // A few dozen small reviews: all at once. (The futures are built before awaiting: a stream
    // mapping a closure over the tuples would make this future not provably `Send`.)
    let cluster_wide: Vec<bool> = futures::future::try_join_all(
        capabilities.iter().chain(PROBES.iter()).map(|action| access_allowed(client, *action)),
    )
    .await?;
    let (capable, probed) = cluster_wide.split_at(capabilities.len());

    let can_list_namespaces = capable[4];
    let mut namespaces: BTreeSet<String> = extra_namespaces.iter().cloned().collect();
    if can_list_namespaces {
        namespaces.extend(all_namespaces(client).await?);
    }
    let reviews: Vec<(String, RulesReview)> =
        futures::stream::iter(namespaces.iter().cloned().collect::<Vec<_>>())
            .map(|ns: String| async move { rules_review(client, &ns).await.map(|review| (ns, review)) })
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;

    let mut found: BTreeMap<(String, &str), BTreeSet<String>> = BTreeMap::new();
    for (ns, review) in &reviews {
        for rule in &review.rules {
            for finding in dangers(rule, impersonation) {
                found.entry(finding).or_default().insert(ns.clone());
            }
        }
    }
    let mut dangerous: Vec<String> = found
        .into_iter()
        .map(|((permission, why), where_)| {
            let place = if can_list_namespaces && where_.len() == reviews.len() && reviews.len() > 1 {
                format!("in every namespace ({})", where_.len())
            } else {
                format!("in namespace{} {}", if where_.len() == 1 { "" } else { "s" }, abbreviate(&where_))
            };
            format!("{permission} {place}: {why}")
        })
        .collect();
    for (probe, allowed) in PROBES.iter().zip(probed) {
        let covered = reviews.iter().any(|(_, r)| r.rules.iter().any(|rule| rule_allows(rule, *probe)));
        if *allowed && !covered {
            dangerous.push(format!(
                "{} on {} in every namespace: granted by an authorizer whose rules the rules review cannot list",
                probe.0,
                resource_label(probe.1, &combined(probe))
            ));
        }
    }

    let scope = |action: Action, cluster_wide: bool| -> Vec<String> {
        if cluster_wide {
            return vec!["*".into()];
        }
        reviews
            .iter()
            .filter(|(_, r)| r.rules.iter().any(|rule| rule_allows(rule, action)))
            .map(|(ns, _)| ns.clone())
            .collect()
    };
    let access = AccessReport {
        namespaces: scope(LIST_PODS, capable[0]),
        secrets: scope(GET_SECRETS, capable[1]),
        logs: scope(GET_LOGS, capable[2]),
        metrics: scope(LIST_METRICS, capable[3]),
        complete: reviews.iter().all(|(_, r)| !r.incomplete),
        ..Default::default()
    };
    Ok(PrivilegeReview { dangerous, access, namespaces_reviewed: reviews.len() })
}

/// A few names, then how many more.
fn abbreviate(names: &BTreeSet<String>) -> String {
    const SHOWN: usize = 5;
    let mut out = names.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > SHOWN {
        out.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    out
}

async fn access_allowed(
    client: &kube::Client,
    (verb, group, resource, sub): Action,
) -> Result<bool, kube::Error> {
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(verb.into()),
                group: Some(group.into()),
                resource: Some(resource.into()),
                subresource: (!sub.is_empty()).then(|| sub.to_string()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer =
        Api::<SelfSubjectAccessReview>::all(client.clone()).create(&PostParams::default(), &review).await?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

struct RulesReview {
    rules: Vec<ResourceRule>,
    incomplete: bool,
}

async fn rules_review(client: &kube::Client, namespace: &str) -> Result<RulesReview, kube::Error> {
    let review = SelfSubjectRulesReview {
        spec: SelfSubjectRulesReviewSpec { namespace: Some(namespace.into()) },
        ..Default::default()
    };
    let answer =
        Api::<SelfSubjectRulesReview>::all(client.clone()).create(&PostParams::default(), &review).await?;
    let status = answer.status.unwrap_or_default();
    if status.incomplete {
        tracing::warn!(
            namespace,
            reason = status.evaluation_error.as_deref().unwrap_or("none given"),
            "the API server's rules review is incomplete here; the cluster-wide probes still apply"
        );
    }
    Ok(RulesReview { rules: status.resource_rules, incomplete: status.incomplete })
}

async fn all_namespaces(client: &kube::Client) -> Result<Vec<String>, kube::Error> {
    let api = Api::<Namespace>::all(client.clone());
    let mut names = Vec::new();
    let mut params = ListParams::default().limit(500);
    loop {
        let page = api.list_metadata(&params).await?;
        names.extend(page.items.into_iter().filter_map(|n| n.metadata.name));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(names),
        }
    }
}

fn combined((_, _, resource, sub): &Action) -> String {
    if sub.is_empty() { resource.to_string() } else { format!("{resource}/{sub}") }
}

fn resource_label(group: &str, resource: &str) -> String {
    if group.is_empty() || group == "*" { resource.to_string() } else { format!("{resource}.{group}") }
}

fn has(list: &[String], item: &str) -> bool {
    list.iter().any(|x| x == item)
}

/// RBAC's `ResourceMatches`: `*`, the exact `resource[/sub]`, or `*/sub`.
fn resource_matches(rule: &ResourceRule, combined: &str) -> bool {
    let sub = combined.split_once('/').map(|(_, s)| s);
    rule.resources
        .iter()
        .flatten()
        .any(|r| r == "*" || r == combined || sub.is_some_and(|s| r.strip_prefix("*/") == Some(s)))
}

fn group_matches(rule: &ResourceRule, group: &str) -> bool {
    rule.api_groups.iter().flatten().any(|g| g == "*" || g == group)
}

/// Whether `rule` grants `action` on any object (not just named ones).
fn rule_allows(rule: &ResourceRule, action: Action) -> bool {
    let (verb, group, _, _) = action;
    (has(&rule.verbs, verb) || has(&rule.verbs, "*"))
        && group_matches(rule, group)
        && resource_matches(rule, &combined(&action))
        && rule.resource_names.as_ref().is_none_or(Vec::is_empty)
}

/// `verbs on resources (API groups) [named …]`.
fn describe_rule(verbs: &[&str], resources: &[String], rule: &ResourceRule) -> String {
    let groups: Vec<String> = rule
        .api_groups
        .iter()
        .flatten()
        .map(|g| if g.is_empty() { "\"\" (core)".to_string() } else { g.clone() })
        .collect();
    let mut out =
        format!("{} on {} (API group {})", verbs.join(", "), resources.join(", "), groups.join(", "));
    if let Some(names) = rule.resource_names.as_ref().filter(|n| !n.is_empty()) {
        out.push_str(&format!(" named {}", names.join(", ")));
    }
    out
}

/// Whether `rule` grants only the impersonation a cluster that runs commands as their caller
/// needs: `users`/`groups` (core group) named by `resourceNames` that all carry the cluster's
/// prefix for that resource (and a name after it), or the command and session id extras
/// (`authentication.k8s.io`, `userextras/<key>`). Other verbs of the rule are judged apart.
fn permitted_impersonation(rule: &ResourceRule, impersonation: &Impersonation) -> bool {
    let groups: Vec<&str> = rule.api_groups.iter().flatten().map(String::as_str).collect();
    let resources: Vec<&str> = rule.resources.iter().flatten().map(String::as_str).collect();
    let names: &[String] = rule.resource_names.as_deref().unwrap_or_default();
    let named_with = |prefix: &str| names.iter().all(|n| n.len() > prefix.len() && n.starts_with(prefix));
    match groups.as_slice() {
        [""] => {
            !names.is_empty()
                && !resources.is_empty()
                && resources.iter().all(|r| match *r {
                    "users" => named_with(impersonation.user_prefix()),
                    "groups" => named_with(impersonation.group_prefix()),
                    _ => false,
                })
        }
        [group] if *group == EXTRAS_API_GROUP => {
            !resources.is_empty()
                && resources.iter().all(|r| {
                    r.split_once('/')
                        .is_some_and(|(res, key)| res == EXTRAS_RESOURCE && EXTRA_KEYS.contains(&key))
                })
        }
        _ => false,
    }
}

/// The dangerous permissions one rule grants, one per kind of danger: (permission, what it allows).
fn dangers(rule: &ResourceRule, impersonation: Option<&Impersonation>) -> Vec<(String, &'static str)> {
    let resources: Vec<String> = rule.resources.clone().unwrap_or_default();
    if resources.is_empty() {
        return Vec::new();
    }
    if has(&rule.verbs, "*") {
        return vec![(
            describe_rule(&["*"], &resources, rule),
            "every verb, writes, exec, impersonate, escalate, bind and approve included",
        )];
    }
    let mut out = Vec::new();
    let writes: Vec<&str> = WRITE_VERBS.iter().copied().filter(|v| has(&rule.verbs, v)).collect();
    if !writes.is_empty() {
        // `create` of a self-review changes nothing; any other write of it is still reported.
        let harmless = |r: &String| {
            writes == ["create"]
                && rule
                    .api_groups
                    .iter()
                    .flatten()
                    .all(|g| SELF_REVIEWS.iter().any(|(sg, sr)| sg == g && sr == r))
        };
        let changed: Vec<String> = resources.iter().filter(|r| !harmless(r)).cloned().collect();
        if !changed.is_empty() {
            out.push((describe_rule(&writes, &changed, rule), "changes the cluster"));
        }
    }
    let entering: Vec<&str> = ["get", "create"].into_iter().filter(|v| has(&rule.verbs, v)).collect();
    if !entering.is_empty() && group_matches(rule, "") {
        let subs: Vec<String> =
            EXEC_SUBRESOURCES.iter().filter(|s| resource_matches(rule, s)).map(|s| s.to_string()).collect();
        if !subs.is_empty() {
            out.push((
                describe_rule(&entering, &subs, rule),
                "opens exec, attach, port-forward or proxy sessions into pods or nodes",
            ));
        }
    }
    let impersonation_permitted = impersonation.is_some_and(|i| permitted_impersonation(rule, i));
    for (verb, why) in ESCALATING_VERBS {
        if verb == "impersonate" && impersonation_permitted {
            continue;
        }
        if has(&rule.verbs, verb) {
            out.push((describe_rule(&[verb], &resources, rule), why));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> ResourceRule {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        ResourceRule {
            verbs: strings(verbs),
            api_groups: Some(strings(groups)),
            resources: Some(strings(resources)),
            resource_names: None,
        }
    }

    #[test]
    fn read_rules_and_self_reviews_are_harmless() {
        assert!(
            dangers(
                &rule(&["get", "list", "watch"], &["", "apps"], &["pods", "pods/log", "deployments"]),
                None
            )
            .is_empty()
        );
        assert!(
            dangers(
                &rule(
                    &["create"],
                    &["authorization.k8s.io"],
                    &["selfsubjectaccessreviews", "selfsubjectrulesreviews"]
                ),
                None
            )
            .is_empty()
        );
        assert!(dangers(&rule(&["get"], &["metrics.k8s.io"], &["pods", "nodes"]), None).is_empty());
    }

    #[test]
    fn writes_exec_and_escalation_are_named() {
        let delete = dangers(&rule(&["get", "delete"], &[""], &["pods"]), None);
        assert_eq!(
            delete,
            vec![("delete on pods (API group \"\" (core))".to_string(), "changes the cluster")]
        );
        let review_writes = dangers(
            &rule(&["create", "delete"], &["authorization.k8s.io"], &["selfsubjectrulesreviews"]),
            None,
        );
        assert_eq!(review_writes.len(), 1, "only a lone create of a self-review is harmless");
        let exec = dangers(&rule(&["create"], &[""], &["pods/exec"]), None);
        assert!(exec.iter().any(|d| d.1.contains("opens exec")), "{exec:?}");
        let websocket_exec = dangers(&rule(&["get"], &["*"], &["*"]), None);
        assert_eq!(websocket_exec.len(), 1);
        assert!(
            websocket_exec[0].0.starts_with("get on pods/exec, pods/attach, pods/portforward"),
            "{websocket_exec:?}"
        );
        let any_exec = dangers(&rule(&["get"], &[""], &["*/exec"]), None);
        assert!(any_exec[0].0.starts_with("get on pods/exec "), "{any_exec:?}");
        for verb in ["impersonate", "escalate", "bind", "approve", "sign"] {
            let d = dangers(&rule(&[verb], &["*"], &["*"]), None);
            assert_eq!(d.len(), 1, "{verb}: {d:?}");
            assert!(d[0].0.starts_with(&format!("{verb} on *")), "{d:?}");
        }
        let star = dangers(&rule(&["*"], &["*"], &["*"]), None);
        assert_eq!(star[0].0, "* on * (API group *)", "{star:?}");
        assert!(star[0].1.starts_with("every verb"), "{star:?}");
    }

    fn impersonating(user_prefix: &str, group_prefix: &str) -> Impersonation {
        let settings = crate::settings::ImpersonationSettings {
            enabled: true,
            user_prefix: user_prefix.into(),
            group_prefix: group_prefix.into(),
        };
        Impersonation::from_settings(&settings, "c").ok().flatten().expect("valid prefixes")
    }

    fn named(mut rule: ResourceRule, names: &[&str]) -> ResourceRule {
        rule.resource_names = Some(names.iter().map(|n| n.to_string()).collect());
        rule
    }

    #[test]
    fn the_impersonation_a_caller_cluster_needs_is_accepted_exactly() {
        let same = impersonating("kubently:", "kubently:");
        let split = impersonating("kubently:", "kubently-group:");
        let extras = rule(
            &["impersonate"],
            &["authentication.k8s.io"],
            &["userextras/kubently-command-id", "userextras/kubently-session-id"],
        );
        let accepted = [
            (&same, named(rule(&["impersonate"], &[""], &["users"]), &["kubently:alice", "kubently:bob"])),
            (
                &same,
                named(
                    rule(&["impersonate"], &[""], &["users", "groups"]),
                    &["kubently:alice", "kubently:sre"],
                ),
            ),
            (&split, named(rule(&["impersonate"], &[""], &["groups"]), &["kubently-group:sre"])),
            (&same, extras.clone()),
            (&same, named(extras.clone(), &["0198c0de-0000-7000-8000-000000000000"])),
        ];
        for (on, r) in &accepted {
            assert_eq!(dangers(r, Some(on)), vec![], "{r:?}");
        }
        // Users and groups in one rule: every name must carry both prefixes.
        let mixed = named(rule(&["impersonate"], &[""], &["users", "groups"]), &["kubently:alice"]);
        assert_eq!(dangers(&mixed, Some(&split)).len(), 1, "kubently:alice is no group name here");
        // With impersonation off, every impersonate stays refused.
        for (_, r) in &accepted {
            let d = dangers(r, None);
            assert_eq!(d.len(), 1, "{r:?}: {d:?}");
            assert!(d[0].0.starts_with("impersonate on "), "{d:?}");
            assert_eq!(d[0].1, "acts as another user, group or service account");
        }
    }

    #[test]
    fn unrestricted_impersonation_stays_refused() {
        let on = impersonating("kubently:", "kubently:");
        let on = Some(&on);
        let refused = [
            // Any user or group at all.
            rule(&["impersonate"], &[""], &["users"]),
            rule(&["impersonate"], &[""], &["users", "groups"]),
            named(rule(&["impersonate"], &[""], &["users"]), &[]),
            // Names without the prefix, or the bare prefix.
            named(rule(&["impersonate"], &[""], &["users"]), &["kubently:alice", "admin"]),
            named(rule(&["impersonate"], &[""], &["groups"]), &["system:masters"]),
            named(rule(&["impersonate"], &[""], &["users"]), &["kubently:"]),
            // Wider resources and groups.
            named(rule(&["impersonate"], &[""], &["*"]), &["kubently:alice"]),
            named(rule(&["impersonate"], &["*"], &["users"]), &["kubently:alice"]),
            named(rule(&["impersonate"], &["", "authentication.k8s.io"], &["users"]), &["kubently:alice"]),
            named(rule(&["impersonate"], &[""], &["users", "serviceaccounts"]), &["kubently:alice"]),
            named(rule(&["impersonate"], &[""], &["serviceaccounts"]), &["kubently:alice"]),
            rule(&["impersonate"], &["authentication.k8s.io"], &["uids"]),
            rule(&["impersonate"], &["authentication.k8s.io"], &["userextras/scopes"]),
            rule(&["impersonate"], &["authentication.k8s.io"], &["userextras/*"]),
            rule(&["impersonate"], &["authentication.k8s.io"], &["*"]),
            rule(&["impersonate"], &["authentication.k8s.io"], &["users"]),
            // Every verb is more than impersonation.
            named(rule(&["*"], &[""], &["users"]), &["kubently:alice"]),
        ];
        for r in &refused {
            let d = dangers(r, on);
            assert!(!d.is_empty(), "{r:?} must be dangerous");
        }
        // A permitted rule that also writes is still refused for the write.
        let writes = named(rule(&["impersonate", "delete"], &[""], &["users"]), &["kubently:alice"]);
        assert_eq!(dangers(&writes, on).iter().map(|d| d.1).collect::<Vec<_>>(), ["changes the cluster"]);
    }

    #[test]
    fn rules_match_like_rbac() {
        let logs = rule(&["get"], &[""], &["pods/log"]);
        assert!(rule_allows(&logs, GET_LOGS));
        assert!(!rule_allows(&logs, LIST_PODS));
        assert!(rule_allows(&rule(&["*"], &["*"], &["*"]), GET_SECRETS));
        assert!(rule_allows(&rule(&["get"], &[""], &["*/log"]), GET_LOGS));
        assert!(!rule_allows(&rule(&["get"], &["apps"], &["pods/log"]), GET_LOGS));
        let mut named = rule(&["get"], &[""], &["secrets"]);
        named.resource_names = Some(vec!["one".into()]);
        assert!(!rule_allows(&named, GET_SECRETS), "a named grant does not read every Secret");
        assert!(rule_allows(&rule(&["list"], &["metrics.k8s.io"], &["pods"]), LIST_METRICS));
    }
}
