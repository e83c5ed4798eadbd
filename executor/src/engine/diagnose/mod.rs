//! `diagnose`: Kubently's own read-only verb. Deterministic analyzers (no LLM) over what the API
//! server says about a namespace, all namespaces, or one pod or workload, answering "what is
//! broken here and why" in one call: findings ranked by severity, each with the evidence an agent
//! would otherwise gather call by call (statuses, exit codes, event messages, the crashed run's
//! last log lines) and the next command worth running.
//!
//! | module | what |
//! |---|---|
//! | [`gather`] | every list at once, bounded by the deadline; failures become "could not check" |
//! | [`facts`] | events by object, owners, quoting and flagging of cluster text |
//! | [`pods`], [`workloads`], [`network`], [`nodes`] | the analyzers, by the objects they look at |
//! | [`finding`] | findings and the report (`-o json`'s shape) |
//! | [`render`] | text or JSON within the output budget |
//!
//! Only GET requests are made (lists, and `pods/log` of crashed containers); Secrets are never
//! read — a missing Secret or key is reported as the kubelet names it.

pub mod facts;
pub mod finding;
pub mod gather;
pub mod network;
pub mod nodes;
pub mod pods;
pub mod render;
pub mod workloads;

use kubently_shared::policy::{DiagnoseOutput, DiagnoseRequest, DiagnoseTarget, canonical_resource};

use super::context::Context;
use super::{EngineError, Output};
use facts::Facts;
use finding::{Finding, ObjectRef, Report};
use gather::Snapshot;

pub(super) async fn run(ctx: &Context<'_>, req: &DiagnoseRequest) -> Result<Output, EngineError> {
    let namespace = ctx.namespaces(&req.namespace);
    let until = gather::patience(ctx);
    let exists = async {
        match namespace.as_deref() {
            Some(ns) => gather::namespace_exists(ctx, ns, until).await,
            None => None,
        }
    };
    let (mut snapshot, exists) = futures::join!(gather::read(ctx, namespace.as_deref(), until), exists);
    if exists == Some(false) {
        return Err(EngineError::Api {
            code: 404,
            reason: "NotFound".into(),
            message: format!("namespaces \"{}\" not found", namespace.unwrap_or_default()),
        });
    }
    let target = match &req.target {
        Some(t) => Some(target_of(&snapshot, t, namespace.as_deref().unwrap_or_default())?),
        None => None,
    };
    let now = k8s_openapi::jiff::Timestamp::now();
    let wanted = {
        let facts = Facts::new(&snapshot, now);
        let mut wanted = pods::log_wants(&snapshot.pods);
        wanted.extend(workloads::log_wants(&facts));
        if let Some(t) = &target {
            let in_scope = |pod: &str| {
                snapshot
                    .pods
                    .iter()
                    .find(|p| p.metadata.name.as_deref() == Some(pod))
                    .is_some_and(|p| belongs(&facts, p, t))
            };
            wanted.retain(|k| in_scope(&k.pod));
        }
        wanted
    };
    gather::read_logs(ctx, &mut snapshot, wanted, until).await;
    let facts = Facts::new(&snapshot, now);
    let findings = analyze(&facts, namespace.is_none(), target.as_ref());
    let scope = match (&target, &namespace) {
        (Some(t), Some(ns)) => format!("{t} in namespace {ns}"),
        (_, Some(ns)) => format!("namespace {ns}"),
        (_, None) => "all namespaces".to_string(),
    };
    let report = Report {
        scope,
        findings,
        omitted: 0,
        checked: snapshot.checked.clone(),
        could_not_check: snapshot.gaps.clone(),
    };
    let rows = report.findings.len() as u64;
    let text = match req.output {
        DiagnoseOutput::Text => render::text(&report, ctx.opts.output_budget),
        DiagnoseOutput::Json => render::json(&report, ctx.opts.output_budget),
    };
    Ok(Output { text, kind: Some("Diagnosis".into()), rows: Some(rows), notices: Vec::new() })
}

/// Runs every analyzer, keeps what concerns `target` (when given), and ranks: severity, then
/// the kind's order, then namespace and name.
pub fn analyze(facts: &Facts<'_>, all_namespaces: bool, target: Option<&ObjectRef>) -> Vec<Finding> {
    let s = facts.snapshot;
    let mut findings: Vec<Finding> = s.pods.iter().flat_map(|p| pods::analyze(facts, p)).collect();
    let (mut controller_findings, short) = workloads::controllers(facts);
    findings.append(&mut controller_findings);
    workloads::annotate_pod_findings(&mut findings, short);
    findings.extend(workloads::jobs(facts));
    findings.extend(workloads::hpas(facts));
    findings.extend(network::services(facts));
    findings.extend(network::ingresses(facts));
    findings.extend(network::pvcs(facts));
    findings.extend(nodes::nodes(facts, all_namespaces && target.is_none()));
    findings.extend(nodes::taints(facts));
    findings.extend(nodes::quotas(facts));
    if let Some(t) = target {
        let target_pods: Vec<_> = s.pods.iter().filter(|p| belongs(facts, p, t)).collect();
        let target_nodes: Vec<&str> =
            target_pods.iter().filter_map(|p| p.spec.as_ref()?.node_name.as_deref()).collect();
        findings.retain(|f| {
            f.object == *t
                || f.owner.as_ref() == Some(t)
                || (f.object.kind == "node" && target_nodes.contains(&f.object.name.as_str()))
        });
    }
    findings.sort_by(|a, b| {
        (a.severity, a.kind as u8, &a.object.namespace, &a.object.name).cmp(&(
            b.severity,
            b.kind as u8,
            &b.object.namespace,
            &b.object.name,
        ))
    });
    findings
}

/// Whether `pod` is the target or one of its pods.
fn belongs(facts: &Facts<'_>, pod: &k8s_openapi::api::core::v1::Pod, target: &ObjectRef) -> bool {
    let me = ObjectRef::new(
        "pod",
        pod.metadata.namespace.as_deref(),
        pod.metadata.name.as_deref().unwrap_or_default(),
    );
    if me == *target {
        return true;
    }
    if facts.pod_owner(pod).as_ref() == Some(target) {
        return true;
    }
    // A Job's pods also belong to the job when a CronJob owns it, and a ReplicaSet's to it.
    facts::controller(&pod.metadata).is_some_and(|o| {
        o.name == target.name && o.kind.eq_ignore_ascii_case(target.kind) && target.namespace == me.namespace
    })
}

/// Where a bare name is looked for, in order, with the kind it names.
const NAMED_ORDER: [(&str, &str); 7] = [
    ("deployments.apps", "deployment"),
    ("statefulsets.apps", "statefulset"),
    ("daemonsets.apps", "daemonset"),
    ("cronjobs.batch", "cronjob"),
    ("jobs.batch", "job"),
    ("replicasets.apps", "replicaset"),
    ("pods", "pod"),
];

/// The names of the snapshot's objects of `canonical` type, and the list they came from (`None`
/// when the type is not one diagnose can target).
fn names_of<'s>(snapshot: &'s Snapshot, canonical: &str) -> Option<(&'static str, Vec<&'s str>)> {
    fn names<T: k8s_openapi::Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>>(
        list: &[T],
    ) -> Vec<&str> {
        list.iter().filter_map(|o| o.metadata().name.as_deref()).collect()
    }
    Some(match canonical {
        "pods" => ("pods", names(&snapshot.pods)),
        "deployments.apps" => ("deployments", names(&snapshot.deployments)),
        "statefulsets.apps" => ("statefulsets", names(&snapshot.statefulsets)),
        "daemonsets.apps" => ("daemonsets", names(&snapshot.daemonsets)),
        "replicasets.apps" => ("replicasets", names(&snapshot.replicasets)),
        "jobs.batch" => ("jobs", names(&snapshot.jobs)),
        "cronjobs.batch" => ("cronjobs", names(&snapshot.cronjobs)),
        _ => return None,
    })
}

/// The target as an object of the snapshot, or kubectl's NotFound.
fn target_of(
    snapshot: &Snapshot,
    target: &DiagnoseTarget,
    namespace: &str,
) -> Result<ObjectRef, EngineError> {
    let listed = |resource: &str| snapshot.checked.iter().any(|c| c.resource == resource);
    match target {
        DiagnoseTarget::Object(r) => {
            let name = r.names.first().cloned().unwrap_or_default();
            let canonical = canonical_resource(&r.resource).unwrap_or_default();
            let kind = NAMED_ORDER.iter().find(|(c, _)| *c == canonical).map(|(_, k)| *k);
            let (Some(kind), Some((list, names))) = (kind, names_of(snapshot, canonical)) else {
                return Err(EngineError::Invalid(format!(
                    "diagnose cannot look at {:?}: give a pod or a pod-owning workload",
                    r.resource
                )));
            };
            if listed(list) && !names.contains(&name.as_str()) {
                return Err(EngineError::Api {
                    code: 404,
                    reason: "NotFound".into(),
                    message: format!("{canonical} \"{name}\" not found"),
                });
            }
            Ok(ObjectRef::new(kind, Some(namespace), &name))
        }
        DiagnoseTarget::Named(name) => {
            for (canonical, kind) in NAMED_ORDER {
                if names_of(snapshot, canonical).is_some_and(|(_, names)| names.contains(&name.as_str())) {
                    return Ok(ObjectRef::new(kind, Some(namespace), name));
                }
            }
            Err(EngineError::Invalid(format!(
                "no deployment, statefulset, daemonset, cronjob, job, replicaset or pod named {name:?} in namespace {namespace} (name one as TYPE/NAME, or diagnose the whole namespace)"
            )))
        }
    }
}

#[cfg(test)]
mod tests;
