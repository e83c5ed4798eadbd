//! Workload analyzers: Deployments, StatefulSets and DaemonSets with unavailable replicas or a
//! stuck rollout, failed Jobs (BackoffLimitExceeded, DeadlineExceeded, with the failed pod's last
//! log lines), CronJobs whose last runs failed, and HPAs that cannot scale.
//!
//! A workload whose pods already have findings is not reported again: its availability is added
//! to those findings instead (see [`annotate_pod_findings`]).

use k8s_openapi::api::batch::v1::Job;
use serde_json::Value;

use super::facts::{Facts, cite, controller, event_line};
use super::finding::{Finding, Kind, ObjectRef, Severity, Suggestion};
use super::gather::LogKey;
use super::pods::attach_log_of;

/// A workload short of replicas: its availability line (evidence for its pods' findings), and
/// the finding it is when none of its pods has one (with why its controller could not create
/// pods, when an event says).
pub struct Availability {
    pub object: ObjectRef,
    pub line: String,
    pub finding: Finding,
}

impl Availability {
    fn new(facts: &Facts<'_>, object: ObjectRef, line: String, creators: &[(&str, &str)]) -> Self {
        let words = format!("{}/{}", object.kind, object.name);
        let ns = object.namespace.clone();
        let mut finding = Finding::new(
            Kind::WorkloadUnavailable,
            Severity::Warning,
            object.clone(),
            "fewer replicas available than desired".into(),
            Suggestion::on("describe", &[&words], ns.as_deref(), &[]),
        );
        finding.evidence.push(line.clone());
        // The controllers' newest FailedCreate (quota, admission webhooks, security policy).
        let refused = creators
            .iter()
            .filter_map(|(kind, name)| {
                facts
                    .latest(ns.as_deref().unwrap_or_default(), kind, name, "FailedCreate")
                    .map(|e| (kind, name, e))
            })
            .max_by_key(|(_, _, (e, _))| super::facts::last_seen(e));
        if let Some((kind, name, (e, total))) = refused {
            finding.severity = Severity::Critical;
            finding.summary = "its controller cannot create pods".into();
            let event = event_line(facts, &mut finding, e, total);
            finding.evidence.push(format!("{}/{name}: {event}", kind.to_lowercase()));
        }
        Self { object, line, finding }
    }
}

/// Findings about Deployments, StatefulSets and DaemonSets, and the availability of those that
/// are short of replicas (used to annotate their pods' findings).
pub fn controllers(facts: &Facts<'_>) -> (Vec<Finding>, Vec<Availability>) {
    let mut findings = Vec::new();
    let mut short = Vec::new();
    let s = facts.snapshot;
    for d in &s.deployments {
        let (Some(name), ns) = (d.metadata.name.as_deref(), d.metadata.namespace.as_deref()) else {
            continue;
        };
        let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let st = d.status.clone().unwrap_or_default();
        let available = st.available_replicas.unwrap_or(0);
        let object = ObjectRef::new("deployment", ns, name);
        let conditions = st.conditions.unwrap_or_default();
        let stuck = conditions.iter().find(|c| c.type_ == "Progressing" && c.status == "False");
        let replica_failure = conditions.iter().find(|c| c.type_ == "ReplicaFailure" && c.status == "True");
        let line = format!(
            "deployment/{name}: {available}/{desired} available, {} updated",
            st.updated_replicas.unwrap_or(0)
        );
        if let Some(c) = stuck.or(replica_failure) {
            let kind = if stuck.is_some() { Kind::RolloutStuck } else { Kind::WorkloadUnavailable };
            let mut f = Finding::new(
                kind,
                Severity::Critical,
                object.clone(),
                format!(
                    "{} ({})",
                    if stuck.is_some() { "rollout is stuck" } else { "cannot create its pods" },
                    c.reason.as_deref().unwrap_or_default()
                ),
                Suggestion::on("rollout", &["status", &format!("deployment/{name}")], ns, &["--watch=false"]),
            );
            f.evidence.push(line.clone());
            let quoted = cite(&mut f, "deployment condition", c.message.as_deref().unwrap_or_default());
            f.evidence.push(format!("{}={}: {quoted}", c.type_, c.status));
            findings.push(f);
        } else if available < desired {
            let replicasets: Vec<&str> = s
                .replicasets
                .iter()
                .filter(|rs| rs.metadata.namespace.as_deref() == ns)
                .filter(|rs| {
                    controller(&rs.metadata).is_some_and(|o| o.kind == "Deployment" && o.name == name)
                })
                .filter_map(|rs| rs.metadata.name.as_deref())
                .collect();
            let creators: Vec<(&str, &str)> = replicasets.iter().map(|rs| ("ReplicaSet", *rs)).collect();
            short.push(Availability::new(facts, object, line, &creators));
        }
    }
    for sts in &s.statefulsets {
        let (Some(name), ns) = (sts.metadata.name.as_deref(), sts.metadata.namespace.as_deref()) else {
            continue;
        };
        let desired = sts.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let st = sts.status.clone().unwrap_or_default();
        let ready = st.ready_replicas.unwrap_or(0);
        if ready < desired {
            let mut line = format!("statefulset/{name}: {ready}/{desired} ready");
            if st.update_revision.is_some() && st.update_revision != st.current_revision {
                line.push_str(&format!(
                    ", rollout in progress ({} updated)",
                    st.updated_replicas.unwrap_or(0)
                ));
            }
            let object = ObjectRef::new("statefulset", ns, name);
            short.push(Availability::new(facts, object, line, &[("StatefulSet", name)]));
        }
    }
    for ds in &s.daemonsets {
        let (Some(name), ns) = (ds.metadata.name.as_deref(), ds.metadata.namespace.as_deref()) else {
            continue;
        };
        let st = ds.status.clone().unwrap_or_default();
        let unavailable = st.number_unavailable.unwrap_or(0);
        if unavailable > 0 || st.number_ready < st.desired_number_scheduled {
            let mut line = format!(
                "daemonset/{name}: {}/{} ready, {unavailable} unavailable",
                st.number_ready, st.desired_number_scheduled
            );
            if st.number_misscheduled > 0 {
                line.push_str(&format!(", {} misscheduled", st.number_misscheduled));
            }
            let object = ObjectRef::new("daemonset", ns, name);
            short.push(Availability::new(facts, object, line, &[("DaemonSet", name)]));
        }
    }
    (findings, short)
}

/// Adds each short workload's availability to its pods' findings; a short workload without any
/// pod finding becomes a finding of its own.
pub fn annotate_pod_findings(findings: &mut Vec<Finding>, short: Vec<Availability>) {
    for a in short {
        let mut told = false;
        for f in findings.iter_mut().filter(|f| f.owner.as_ref() == Some(&a.object)) {
            if !f.evidence.contains(&a.line) {
                f.evidence.insert(0, a.line.clone());
            }
            told = true;
        }
        if !told {
            findings.push(a.finding);
        }
    }
}

/// Log reads the job analyzer wants: the newest failed pod of every failed Job.
pub fn log_wants(facts: &Facts<'_>) -> Vec<LogKey> {
    facts
        .snapshot
        .jobs
        .iter()
        .filter(|j| failed_condition(j).is_some())
        .filter_map(|j| newest_failed_pod(facts, j))
        .collect()
}

fn failed_condition(job: &Job) -> Option<&k8s_openapi::api::batch::v1::JobCondition> {
    job.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "Failed" && c.status == "True")
}

fn newest_failed_pod(facts: &Facts<'_>, job: &Job) -> Option<LogKey> {
    let ns = job.metadata.namespace.as_deref();
    let name = job.metadata.name.as_deref()?;
    let mut pods = facts.pods_controlled_by(ns, "Job", name);
    pods.retain(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Failed"));
    pods.sort_by_key(|p| std::cmp::Reverse(p.metadata.creation_timestamp.as_ref().map(|t| t.0)));
    let pod = pods.first()?;
    let container = pod.spec.as_ref()?.containers.first()?.name.clone();
    Some(LogKey {
        namespace: ns.unwrap_or_default().to_string(),
        pod: pod.metadata.name.clone()?,
        container,
        previous: false,
    })
}

/// Failed Jobs (those a CronJob owns are its finding) and CronJobs whose last runs failed.
pub fn jobs(facts: &Facts<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for job in &facts.snapshot.jobs {
        let (Some(name), ns) = (job.metadata.name.as_deref(), job.metadata.namespace.as_deref()) else {
            continue;
        };
        let Some(c) = failed_condition(job) else { continue };
        if controller(&job.metadata).is_some_and(|o| o.kind == "CronJob") {
            continue;
        }
        let reason = c.reason.as_deref().unwrap_or("Failed");
        let mut f = Finding::new(
            Kind::JobFailed,
            Severity::Critical,
            ObjectRef::new("job", ns, name),
            format!("job failed ({reason})"),
            Suggestion::on("logs", &[&format!("job/{name}")], ns, &["--tail=100"]),
        );
        let st = job.status.clone().unwrap_or_default();
        let limit = job.spec.as_ref().and_then(|s| s.backoff_limit).unwrap_or(6);
        f.evidence.push(format!(
            "{} failed, {} succeeded pods (backoffLimit {limit})",
            st.failed.unwrap_or(0),
            st.succeeded.unwrap_or(0)
        ));
        if let Some(m) = c.message.as_deref() {
            let quoted = cite(&mut f, "job condition", m);
            f.evidence.push(format!("Failed: {quoted}"));
        }
        let mut exits: Vec<String> = Vec::new();
        for pod in facts.pods_controlled_by(ns, "Job", name) {
            for cs in pod.status.as_ref().and_then(|s| s.container_statuses.as_ref()).into_iter().flatten() {
                if let Some(t) =
                    cs.state.as_ref().and_then(|s| s.terminated.as_ref()).filter(|t| t.exit_code != 0)
                {
                    exits.push(format!(
                        "pod/{} exit code {} ({})",
                        pod.metadata.name.as_deref().unwrap_or_default(),
                        t.exit_code,
                        t.reason.as_deref().unwrap_or("Error")
                    ));
                }
            }
        }
        exits.sort();
        if !exits.is_empty() {
            f.evidence.push(exits.join("; "));
        }
        if let Some(key) = newest_failed_pod(facts, job) {
            let source = format!("log of pod/{} (the newest failed)", key.pod);
            attach_log_of(facts, &mut f, &key, &source);
        }
        out.push(f);
    }
    for cj in &facts.snapshot.cronjobs {
        let (Some(name), ns) = (cj.metadata.name.as_deref(), cj.metadata.namespace.as_deref()) else {
            continue;
        };
        let mut runs: Vec<&Job> = facts
            .snapshot
            .jobs
            .iter()
            .filter(|j| j.metadata.namespace.as_deref() == ns)
            .filter(|j| controller(&j.metadata).is_some_and(|o| o.kind == "CronJob" && o.name == name))
            .filter(|j| {
                j.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .into_iter()
                    .flatten()
                    .any(|c| (c.type_ == "Failed" || c.type_ == "Complete") && c.status == "True")
            })
            .collect();
        runs.sort_by_key(|j| std::cmp::Reverse(j.metadata.creation_timestamp.as_ref().map(|t| t.0)));
        let Some(latest) = runs.first() else { continue };
        let Some(c) = failed_condition(latest) else { continue };
        let failed = runs.iter().take_while(|j| failed_condition(j).is_some()).count();
        let latest_name = latest.metadata.name.as_deref().unwrap_or_default();
        let mut f = Finding::new(
            Kind::CronJobFailing,
            Severity::Critical,
            ObjectRef::new("cronjob", ns, name),
            format!("the last {failed} of its {} finished runs failed", runs.len()),
            Suggestion::on("logs", &[&format!("job/{latest_name}")], ns, &["--tail=100"]),
        );
        let quoted = cite(&mut f, "job condition", c.message.as_deref().unwrap_or_default());
        f.evidence.push(format!(
            "latest run job/{latest_name}: {} {quoted}",
            c.reason.as_deref().unwrap_or("Failed")
        ));
        let st = cj.status.clone().unwrap_or_default();
        let success = st
            .last_successful_time
            .map_or("never (as far as the API server says)".into(), |t| format!("{} ago", facts.ago(t.0)));
        f.evidence.push(format!("last successful run: {success}"));
        if cj.spec.as_ref().and_then(|s| s.suspend) == Some(true) {
            f.evidence.push("the CronJob is suspended".into());
        }
        out.push(f);
    }
    out
}

/// HPAs whose `AbleToScale` or `ScalingActive` condition is False (`autoscaling/v2`/`v2beta2`
/// status, or `v1`'s conditions annotation).
pub fn hpas(facts: &Facts<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for hpa in &facts.snapshot.hpas {
        let name = hpa.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
        let ns = hpa.pointer("/metadata/namespace").and_then(Value::as_str);
        if name.is_empty() {
            continue;
        }
        let conditions: Vec<Value> = match hpa.pointer("/status/conditions").and_then(Value::as_array) {
            Some(list) => list.clone(),
            None => hpa
                .pointer("/metadata/annotations/autoscaling.alpha.kubernetes.io~1conditions")
                .and_then(Value::as_str)
                .and_then(|text| serde_json::from_str::<Vec<Value>>(text).ok())
                .unwrap_or_default(),
        };
        let failing: Vec<&Value> = conditions
            .iter()
            .filter(|c| {
                matches!(c.get("type").and_then(Value::as_str), Some("AbleToScale" | "ScalingActive"))
                    && c.get("status").and_then(Value::as_str) == Some("False")
            })
            .collect();
        if failing.is_empty() {
            continue;
        }
        let target = hpa.pointer("/spec/scaleTargetRef/name").and_then(Value::as_str).unwrap_or_default();
        let target_kind =
            hpa.pointer("/spec/scaleTargetRef/kind").and_then(Value::as_str).unwrap_or_default();
        let mut f = Finding::new(
            Kind::HpaCannotScale,
            Severity::Warning,
            ObjectRef::new("horizontalpodautoscaler", ns, name),
            format!("cannot scale {}/{target}", target_kind.to_lowercase()),
            Suggestion::on("describe", &["hpa", name], ns, &[]),
        );
        for c in failing {
            let text = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            let quoted = cite(&mut f, "HPA condition", &text("message"));
            f.evidence.push(format!("{}=False ({}): {quoted}", text("type"), text("reason")));
        }
        let replicas = |p: &str| hpa.pointer(p).and_then(Value::as_i64).unwrap_or(0);
        f.evidence.push(format!(
            "replicas {} (desired {}, min {}, max {})",
            replicas("/status/currentReplicas"),
            replicas("/status/desiredReplicas"),
            hpa.pointer("/spec/minReplicas").and_then(Value::as_i64).unwrap_or(1),
            replicas("/spec/maxReplicas")
        ));
        if let Some((e, total)) = facts
            .events(ns.unwrap_or_default(), "HorizontalPodAutoscaler", name)
            .first()
            .map(|e| (*e, super::facts::count(e)))
        {
            let line = event_line(facts, &mut f, e, total);
            f.evidence.push(line);
        }
        out.push(f);
    }
    out
}
