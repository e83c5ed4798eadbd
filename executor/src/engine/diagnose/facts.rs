//! The analyzers' view of a [`Snapshot`]: events by the object they are about, owners of pods
//! and jobs, and the cluster text helpers every analyzer uses to quote what the cluster said
//! (cleaned of control characters, one line, bounded) and to flag instruction-like text.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::jiff::Timestamp;
use kubently_shared::untrusted;

use super::finding::{Finding, ObjectRef};
use super::gather::Snapshot;

/// Longest quoted cluster message, in characters: a longer one keeps its start and its end
/// (where errors usually say what failed), with ` … ` between.
const MAX_QUOTE_CHARS: usize = 300;
const QUOTE_TAIL_CHARS: usize = 100;

pub struct Facts<'a> {
    pub snapshot: &'a Snapshot,
    pub now: Timestamp,
    /// `(namespace, kind, name)` → events about that object, newest first.
    events: HashMap<(String, String, String), Vec<&'a Event>>,
}

impl<'a> Facts<'a> {
    pub fn new(snapshot: &'a Snapshot, now: Timestamp) -> Self {
        let mut events: HashMap<(String, String, String), Vec<&'a Event>> = HashMap::new();
        for e in &snapshot.events {
            let o = &e.involved_object;
            let key = (
                o.namespace.clone().or_else(|| e.metadata.namespace.clone()).unwrap_or_default(),
                o.kind.clone().unwrap_or_default(),
                o.name.clone().unwrap_or_default(),
            );
            events.entry(key).or_default().push(e);
        }
        for list in events.values_mut() {
            list.sort_by_key(|e| std::cmp::Reverse(last_seen(e)));
        }
        Self { snapshot, now, events }
    }

    /// Events about `kind`/`name` in `namespace` (nodes: namespace `""` or `default`), newest first.
    pub fn events(&self, namespace: &str, kind: &str, name: &str) -> Vec<&'a Event> {
        let key = |ns: &str| (ns.to_string(), kind.to_string(), name.to_string());
        let mut out = self.events.get(&key(namespace)).cloned().unwrap_or_default();
        if kind == "Node" {
            out.extend(self.events.get(&key("default")).into_iter().flatten());
        }
        out
    }

    /// The newest event about the object with `reason`, and how many times events with that
    /// reason were seen.
    pub fn latest(&self, namespace: &str, kind: &str, name: &str, reason: &str) -> Option<(&'a Event, i32)> {
        let matching: Vec<&Event> = self
            .events(namespace, kind, name)
            .into_iter()
            .filter(|e| e.reason.as_deref() == Some(reason))
            .collect();
        let total = matching.iter().map(|e| count(e)).sum();
        matching.first().map(|e| (*e, total))
    }

    /// The workload a pod belongs to: its Deployment (through its ReplicaSet), StatefulSet,
    /// DaemonSet, Job (or that Job's CronJob), or bare ReplicaSet.
    pub fn pod_owner(&self, pod: &Pod) -> Option<ObjectRef> {
        let ns = pod.metadata.namespace.as_deref();
        let owner = controller(&pod.metadata)?;
        match owner.kind.as_str() {
            "ReplicaSet" => {
                let rs = self.snapshot.replicasets.iter().find(|rs| {
                    rs.metadata.name.as_deref() == Some(&owner.name) && rs.metadata.namespace.as_deref() == ns
                });
                match rs.and_then(|rs| controller(&rs.metadata)) {
                    Some(d) if d.kind == "Deployment" => Some(ObjectRef::new("deployment", ns, &d.name)),
                    _ => Some(ObjectRef::new("replicaset", ns, &owner.name)),
                }
            }
            "Job" => Some(
                self.job_owner(ns, &owner.name).unwrap_or_else(|| ObjectRef::new("job", ns, &owner.name)),
            ),
            "StatefulSet" => Some(ObjectRef::new("statefulset", ns, &owner.name)),
            "DaemonSet" => Some(ObjectRef::new("daemonset", ns, &owner.name)),
            _ => None,
        }
    }

    /// The CronJob that owns the Job `name`, if any.
    pub fn job_owner(&self, namespace: Option<&str>, name: &str) -> Option<ObjectRef> {
        let job = self.snapshot.jobs.iter().find(|j| {
            j.metadata.name.as_deref() == Some(name) && j.metadata.namespace.as_deref() == namespace
        })?;
        controller(&job.metadata)
            .filter(|o| o.kind == "CronJob")
            .map(|o| ObjectRef::new("cronjob", namespace, &o.name))
    }

    /// Pods whose controller is the object `kind`/`name`.
    pub fn pods_controlled_by(&self, namespace: Option<&str>, kind: &str, name: &str) -> Vec<&'a Pod> {
        self.snapshot
            .pods
            .iter()
            .filter(|p| p.metadata.namespace.as_deref() == namespace)
            .filter(|p| controller(&p.metadata).is_some_and(|o| o.kind == kind && o.name == name))
            .collect()
    }

    /// A human age (`5m`, `3h`) of `t`.
    pub fn ago(&self, t: Timestamp) -> String {
        let seconds = self.now.as_second().saturating_sub(t.as_second()).max(0);
        super::super::age::human_duration(time::Duration::seconds(seconds))
    }
}

/// The controller owner reference.
pub fn controller(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references.as_ref()?.iter().find(|o| o.controller == Some(true))
}

/// When the event was last seen.
pub fn last_seen(e: &Event) -> Option<Timestamp> {
    e.last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.series.as_ref().and_then(|s| s.last_observed_time.as_ref()).map(|t| t.0))
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.first_timestamp.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// How many times the event happened.
pub fn count(e: &Event) -> i32 {
    e.series.as_ref().and_then(|s| s.count).or(e.count).unwrap_or(1).max(1)
}

/// Cluster text made safe to show: control characters and escape sequences stripped, line
/// breaks shown as ` ⏎ ` (so it can never start a line of our own), bounded, in double quotes.
pub fn quote(text: &str) -> String {
    let cleaned = untrusted::clean(text);
    let one_line = cleaned.trim().replace('\n', " ⏎ ").replace('\t', " ");
    let mut out = String::from("\"");
    let chars = one_line.chars().count();
    if chars > MAX_QUOTE_CHARS {
        out.extend(one_line.chars().take(MAX_QUOTE_CHARS - QUOTE_TAIL_CHARS));
        out.push_str(" … ");
        out.extend(one_line.chars().skip(chars - QUOTE_TAIL_CHARS));
    } else {
        out.push_str(&one_line);
    }
    out.push('"');
    out
}

/// `text` (an event message, a status message) as quoted evidence; flagged on `finding` when it
/// reads like an instruction to an AI.
pub fn cite(finding: &mut Finding, source: &str, text: &str) -> String {
    let quoted = quote(text);
    flag(finding, source, text);
    quoted
}

/// Records on `finding` that `text` (from `source`) reads like an instruction to an AI.
pub fn flag(finding: &mut Finding, source: &str, text: &str) {
    if let Some(phrase) = untrusted::instruction_like(text) {
        finding.flagged.push(format!("{source} contains {phrase:?}: {}", quote(text)));
    }
}

/// An event as evidence: `<reason> ×<count> (last <age> ago): "<message>"`.
pub fn event_line(facts: &Facts<'_>, finding: &mut Finding, e: &Event, total: i32) -> String {
    let reason = e.reason.as_deref().unwrap_or("event");
    let message = e.message.as_deref().unwrap_or_default();
    let times = if total > 1 { format!(" ×{total}") } else { String::new() };
    let when = last_seen(e).map(|t| format!(" (last {} ago)", facts.ago(t))).unwrap_or_default();
    let source = format!("event {reason}");
    format!("event {reason}{times}{when}: {}", cite(finding, &source, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_one_clean_bounded_line() {
        assert_eq!(quote("a\nb\u{1b}[31m c\t"), "\"a ⏎ b c\"");
        let long = format!("{}: not found", "x".repeat(1000));
        let quoted = quote(&long);
        assert_eq!(quoted.chars().count(), MAX_QUOTE_CHARS + 5);
        assert!(quoted.ends_with("x: not found\"") && quoted.contains("x … x"), "{quoted}");
    }
}
