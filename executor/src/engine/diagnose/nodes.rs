//! Node and quota analyzers: NotReady nodes and pressure conditions (in a namespace scope, only
//! the nodes that run its pods), taints that none of the scope's pending pods tolerates, and
//! ResourceQuotas with a resource used up.

use k8s_openapi::api::core::v1::{Pod, Taint, Toleration};

use super::facts::{Facts, cite};
use super::finding::{Finding, Kind, ObjectRef, Severity, Suggestion};
use crate::engine::quantity;

const PRESSURES: &[&str] = &["MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable"];

/// Findings about nodes: all of them with `all_nodes`, else those running a pod of the scope.
pub fn nodes(facts: &Facts<'_>, all_nodes: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    for node in &facts.snapshot.nodes {
        let Some(name) = node.metadata.name.as_deref() else { continue };
        let runs_scope = facts
            .snapshot
            .pods
            .iter()
            .any(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(name));
        if !all_nodes && !runs_scope {
            continue;
        }
        let conditions = node.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
        let object = ObjectRef::new("node", None, name);
        let ready = conditions.iter().find(|c| c.type_ == "Ready");
        if ready.is_none_or(|c| c.status != "True") {
            let mut f = Finding::new(
                Kind::NodeNotReady,
                Severity::Critical,
                object.clone(),
                format!("node is NotReady (Ready={})", ready.map_or("missing", |c| c.status.as_str())),
                Suggestion::on("describe", &["node", name], None, &[]),
            );
            if let Some(c) = ready {
                let quoted = cite(&mut f, "node condition", c.message.as_deref().unwrap_or_default());
                let heartbeat = c
                    .last_heartbeat_time
                    .as_ref()
                    .map(|t| format!(", last heartbeat {} ago", facts.ago(t.0)))
                    .unwrap_or_default();
                f.evidence.push(format!(
                    "Ready={} ({}){heartbeat}: {quoted}",
                    c.status,
                    c.reason.as_deref().unwrap_or_default()
                ));
            }
            out.push(f);
        }
        let pressing: Vec<_> = conditions
            .iter()
            .filter(|c| PRESSURES.contains(&c.type_.as_str()) && c.status == "True")
            .collect();
        if !pressing.is_empty() {
            let names: Vec<&str> = pressing.iter().map(|c| c.type_.as_str()).collect();
            let mut f = Finding::new(
                Kind::NodePressure,
                Severity::Warning,
                object.clone(),
                format!("node reports {}", names.join(", ")),
                Suggestion::on("describe", &["node", name], None, &[]),
            );
            for c in pressing {
                let quoted = cite(&mut f, "node condition", c.message.as_deref().unwrap_or_default());
                f.evidence.push(format!("{}=True: {quoted}", c.type_));
            }
            out.push(f);
        }
    }
    out
}

fn pending_unscheduled(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending")
        && pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).is_none_or(str::is_empty)
}

/// Whether `toleration` tolerates `taint` (the scheduler's rule).
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    if let Some(effect) = toleration.effect.as_deref().filter(|e| !e.is_empty())
        && effect != taint.effect
    {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or("Equal") {
        "Exists" => toleration.key.as_deref().is_none_or(|k| k.is_empty() || k == taint.key),
        _ => {
            toleration.key.as_deref() == Some(taint.key.as_str())
                && toleration.value.as_deref().unwrap_or_default()
                    == taint.value.as_deref().unwrap_or_default()
        }
    }
}

fn taint_text(t: &Taint) -> String {
    match t.value.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => format!("{}={v}:{}", t.key, t.effect),
        None => format!("{}:{}", t.key, t.effect),
    }
}

/// Scheduling taints (`NoSchedule`, `NoExecute`) that none of the scope's pending, unscheduled
/// pods tolerates: each keeps those pods off that node.
pub fn taints(facts: &Facts<'_>) -> Vec<Finding> {
    let pending: Vec<&Pod> = facts.snapshot.pods.iter().filter(|p| pending_unscheduled(p)).collect();
    if pending.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for node in &facts.snapshot.nodes {
        let Some(name) = node.metadata.name.as_deref() else { continue };
        let taints = node.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default();
        for taint in taints.iter().filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute") {
            let tolerated = pending.iter().any(|p| {
                p.spec
                    .as_ref()
                    .and_then(|s| s.tolerations.as_ref())
                    .into_iter()
                    .flatten()
                    .any(|t| tolerates(t, taint))
            });
            if tolerated {
                continue;
            }
            let mut f = Finding::new(
                Kind::TaintNotTolerated,
                Severity::Warning,
                ObjectRef::new("node", None, name),
                format!("taint {} keeps all {} pending pods off this node", taint_text(taint), pending.len()),
                Suggestion::on("describe", &["node", name], None, &[]),
            );
            let names: Vec<String> = pending
                .iter()
                .take(5)
                .map(|p| format!("pod/{}", p.metadata.name.as_deref().unwrap_or_default()))
                .collect();
            f.evidence.push(format!("pending without a matching toleration: {}", names.join(", ")));
            out.push(f);
        }
    }
    out
}

/// ResourceQuotas with a resource whose use reached its hard limit.
pub fn quotas(facts: &Facts<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for q in &facts.snapshot.quotas {
        let (Some(name), ns) = (q.metadata.name.as_deref(), q.metadata.namespace.as_deref()) else {
            continue;
        };
        let Some(status) = q.status.as_ref() else { continue };
        let (hard, used) = (status.hard.clone().unwrap_or_default(), status.used.clone().unwrap_or_default());
        let exhausted: Vec<String> = hard
            .iter()
            .filter_map(|(resource, limit)| {
                let u = used.get(resource)?;
                let (l, n) = (quantity::parse(&limit.0)?, quantity::parse(&u.0)?);
                (n >= l).then(|| format!("{resource} {}/{}", u.0, limit.0))
            })
            .collect();
        if exhausted.is_empty() {
            continue;
        }
        let mut f = Finding::new(
            Kind::QuotaExhausted,
            Severity::Warning,
            ObjectRef::new("resourcequota", ns, name),
            format!("quota used up: {}", exhausted.join(", ")),
            Suggestion::on("describe", &["resourcequota", name], ns, &[]),
        );
        // What the quota already refused.
        let refused = facts
            .snapshot
            .events
            .iter()
            .filter(|e| e.metadata.namespace.as_deref() == ns)
            .filter(|e| {
                e.message.as_deref().is_some_and(|m| m.contains("exceeded quota") && m.contains(name))
            })
            .max_by_key(|e| super::facts::last_seen(e));
        if let Some(e) = refused {
            let line = super::facts::event_line(facts, &mut f, e, super::facts::count(e));
            let kind = e.involved_object.kind.as_deref().unwrap_or_default().to_lowercase();
            let object = e.involved_object.name.as_deref().unwrap_or_default();
            f.evidence.push(format!("{kind}/{object}: {line}"));
        }
        out.push(f);
    }
    out
}
