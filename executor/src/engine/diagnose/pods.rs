//! Pod analyzers: CrashLoopBackOff (exit code, reason, restarts, the previous run's last log
//! lines), OOMKilled (memory limit vs. request), image pull errors (image, the pull error),
//! Pending pods the scheduler cannot place (its FailedScheduling message), failing readiness and
//! liveness probes (the probe, the Unhealthy events), CreateContainerConfigError (the missing
//! ConfigMap/Secret/key as the kubelet names it — values are never read), volumes that cannot be
//! mounted (FailedMount), other container start errors, init containers that do not finish, and
//! failed or evicted pods.

use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod, Probe};

use super::facts::{Facts, cite, event_line, flag};
use super::finding::{Finding, Kind, LogExcerpt, ObjectRef, Severity, Suggestion};
use super::gather::LogKey;
use crate::engine::compact;

/// Log lines shown per excerpt (after folding).
const EXCERPT_LINES: usize = 6;
/// An init container running longer than this is reported as stuck.
const INIT_STUCK_SECONDS: i64 = 300;

const IMAGE_PULL_REASONS: &[&str] =
    &["ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable"];
const START_ERROR_REASONS: &[&str] =
    &["CreateContainerError", "RunContainerError", "ContainerCannotRun", "StartError"];

/// The container logs the pod analyzers want as evidence: the previous run of every crashing
/// container.
pub fn log_wants(pods: &[Pod]) -> Vec<LogKey> {
    let mut out = Vec::new();
    for pod in pods {
        let (Some(ns), Some(name)) = (pod.metadata.namespace.as_deref(), pod.metadata.name.as_deref()) else {
            continue;
        };
        let status = pod.status.as_ref();
        let statuses = status
            .and_then(|s| s.init_container_statuses.as_ref())
            .into_iter()
            .flatten()
            .chain(status.and_then(|s| s.container_statuses.as_ref()).into_iter().flatten());
        for cs in statuses {
            if waiting_reason(cs) == Some("CrashLoopBackOff") {
                out.push(LogKey {
                    namespace: ns.to_string(),
                    pod: name.to_string(),
                    container: cs.name.clone(),
                    previous: true,
                });
            }
        }
    }
    out
}

/// Every finding about `pod`.
pub fn analyze(facts: &Facts<'_>, pod: &Pod) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(name) = pod.metadata.name.as_deref() else { return out };
    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    let object = ObjectRef::new("pod", Some(ns), name);
    let owner = facts.pod_owner(pod);
    let status = pod.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or_default();
    let spec = pod.spec.as_ref();

    if phase == "Succeeded" {
        return out;
    }
    if phase == "Failed" {
        // A Job's failed pods are the Job's finding.
        if owner.as_ref().is_some_and(|o| matches!(o.kind, "job" | "cronjob")) {
            return out;
        }
        let reason = status.and_then(|s| s.reason.as_deref()).unwrap_or("Failed");
        let mut f = Finding::new(
            Kind::PodFailed,
            Severity::Warning,
            object.clone(),
            format!("pod {reason}"),
            Suggestion::on("describe", &["pod", name], Some(ns), &[]),
        )
        .owned_by(owner);
        if let Some(message) = status.and_then(|s| s.message.as_deref()) {
            let quoted = cite(&mut f, "pod status message", message);
            f.evidence.push(format!("status message: {quoted}"));
        }
        out.push(f);
        return out;
    }

    // Not placed on a node.
    let scheduled = spec.and_then(|s| s.node_name.as_deref()).is_some_and(|n| !n.is_empty());
    if !scheduled {
        let condition = status
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .find(|c| c.type_ == "PodScheduled" && c.status == "False");
        let scheduling = facts.latest(ns, "Pod", name, "FailedScheduling");
        if condition.is_some() || scheduling.is_some() {
            let mut f = Finding::new(
                Kind::Unschedulable,
                Severity::Critical,
                object.clone(),
                "Pending: the scheduler cannot place it".into(),
                Suggestion::on("events", &[], Some(ns), &[&format!("--for=pod/{name}")]),
            )
            .owned_by(owner.clone());
            match scheduling {
                Some((e, total)) => {
                    let line = event_line(facts, &mut f, e, total);
                    f.evidence.push(line);
                }
                None => {
                    if let Some(c) = condition {
                        let message = c.message.as_deref().unwrap_or_default();
                        let quoted = cite(&mut f, "PodScheduled condition", message);
                        f.evidence.push(format!(
                            "PodScheduled=False ({}): {quoted}",
                            c.reason.as_deref().unwrap_or("Unschedulable")
                        ));
                    }
                }
            }
            if let Some(spec) = spec {
                let requests = total_requests(&spec.containers);
                if !requests.is_empty() {
                    f.evidence.push(format!("requests: {requests}"));
                }
                if let Some(sel) = spec.node_selector.as_ref().filter(|s| !s.is_empty()) {
                    let sel: Vec<String> = sel.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    f.evidence.push(format!("nodeSelector: {}", sel.join(",")));
                }
                if spec.affinity.as_ref().and_then(|a| a.node_affinity.as_ref()).is_some() {
                    f.evidence.push("has node affinity rules".into());
                }
            }
            out.push(f);
        }
        return out;
    }

    // A volume that cannot be attached or mounted (a missing Secret or ConfigMap volume, a claim
    // that is not bound): the pod stays ContainerCreating, its containers never get a status.
    if phase == "Pending" {
        let mount = ["FailedMount", "FailedAttachVolume"]
            .into_iter()
            .filter_map(|reason| facts.latest(ns, "Pod", name, reason))
            .max_by_key(|(e, _)| super::facts::last_seen(e));
        if let Some((e, total)) = mount {
            let mut f = Finding::new(
                Kind::VolumeMountFailed,
                Severity::Critical,
                object.clone(),
                "cannot start: a volume cannot be attached or mounted".into(),
                Suggestion::on("events", &[], Some(ns), &[&format!("--for=pod/{name}")]),
            )
            .owned_by(owner);
            let line = event_line(facts, &mut f, e, total);
            f.evidence.push(line);
            out.push(f);
            return out;
        }
    }

    // Init containers that have not all finished.
    let init_statuses = status.and_then(|s| s.init_container_statuses.as_ref()).cloned().unwrap_or_default();
    let init_specs = spec.and_then(|s| s.init_containers.clone()).unwrap_or_default();
    let total_init = init_specs.len().max(init_statuses.len());
    for (i, cs) in init_statuses.iter().enumerate() {
        let done = cs.state.as_ref().and_then(|s| s.terminated.as_ref()).is_some_and(|t| t.exit_code == 0);
        if done {
            continue;
        }
        if let Some(f) = init_finding(facts, pod, cs, i + 1, total_init, &object, owner.clone()) {
            out.push(f);
        }
        // Later init containers and the main ones wait for this one.
        return out;
    }

    for cs in status.and_then(|s| s.container_statuses.as_ref()).into_iter().flatten() {
        let container = spec.and_then(|s| s.containers.iter().find(|c| c.name == cs.name));
        if let Some(f) = container_finding(facts, pod, cs, container, &object, owner.clone()) {
            out.push(f);
        }
    }
    out
}

fn waiting_reason(cs: &ContainerStatus) -> Option<&str> {
    cs.state.as_ref()?.waiting.as_ref()?.reason.as_deref()
}

fn waiting_message(cs: &ContainerStatus) -> Option<&str> {
    cs.state.as_ref()?.waiting.as_ref()?.message.as_deref()
}

/// The finding for one main container, if it is unwell.
fn container_finding(
    facts: &Facts<'_>,
    pod: &Pod,
    cs: &ContainerStatus,
    container: Option<&Container>,
    object: &ObjectRef,
    owner: Option<ObjectRef>,
) -> Option<Finding> {
    let ns = object.namespace.as_deref().unwrap_or_default();
    let pod_name = object.name.as_str();
    let c = cs.name.as_str();
    let waiting = waiting_reason(cs);
    let terminated = cs.state.as_ref().and_then(|s| s.terminated.as_ref());
    let last = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
    let oom = terminated.is_some_and(|t| t.reason.as_deref() == Some("OOMKilled"))
        || last.is_some_and(|t| t.reason.as_deref() == Some("OOMKilled"));
    let liveness_failures = probe_failures(facts, ns, pod_name, "Liveness");

    let mut f = if oom {
        // Running and ready again since: it recovered, for now.
        let recovered = cs.ready && cs.state.as_ref().and_then(|s| s.running.as_ref()).is_some();
        let mut f = Finding::new(
            Kind::OomKilled,
            if recovered { Severity::Warning } else { Severity::Critical },
            object.clone(),
            format!("container {c} was OOMKilled (exceeded its memory limit)"),
            Suggestion::on("describe", &["pod", pod_name], Some(ns), &[]),
        );
        let t = terminated.filter(|t| t.reason.as_deref() == Some("OOMKilled")).or(last);
        if let Some(t) = t {
            f.evidence.push(format!("exit code {}, {} restarts", t.exit_code, cs.restart_count));
        }
        let resources = container.and_then(|c| c.resources.as_ref());
        let memory =
            |list: Option<
                &std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
            >| { list.and_then(|l| l.get("memory")).map_or("none".to_string(), |q| q.0.clone()) };
        f.evidence.push(format!(
            "memory limit {}, request {}",
            memory(resources.and_then(|r| r.limits.as_ref())),
            memory(resources.and_then(|r| r.requests.as_ref()))
        ));
        f
    } else if waiting == Some("CrashLoopBackOff") {
        let mut f = Finding::new(
            Kind::CrashLoopBackOff,
            Severity::Critical,
            object.clone(),
            format!("container {c} is crash-looping ({} restarts)", cs.restart_count),
            Suggestion::on("logs", &[pod_name], Some(ns), &["-c", c, "--previous", "--tail=100"]),
        );
        if let Some(t) = last {
            let reason = t.reason.as_deref().unwrap_or("unknown");
            let when =
                t.finished_at.as_ref().map(|at| format!(", {} ago", facts.ago(at.0))).unwrap_or_default();
            f.evidence.push(format!("last exit code {} ({reason}){when}", t.exit_code));
            if let Some(message) = t.message.as_deref().filter(|m| !m.is_empty()) {
                let quoted = cite(&mut f, "termination message", message);
                f.evidence.push(format!("termination message: {quoted}"));
            }
        }
        f
    } else if let Some(reason) = waiting.filter(|r| IMAGE_PULL_REASONS.contains(r)) {
        let mut f = Finding::new(
            Kind::ImagePull,
            Severity::Critical,
            object.clone(),
            format!("container {c} cannot pull its image ({reason})"),
            Suggestion::on("events", &[], Some(ns), &[&format!("--for=pod/{pod_name}")]),
        );
        let image = container.and_then(|c| c.image.as_deref()).unwrap_or(cs.image.as_str());
        f.evidence.push(format!("image: {}", super::facts::quote(image)));
        let pull_error = facts.events(ns, "Pod", pod_name).into_iter().find(|e| {
            e.reason.as_deref() == Some("Failed")
                && e.message.as_deref().is_some_and(|m| m.starts_with("Failed to pull image"))
        });
        match pull_error {
            Some(e) => {
                let line = event_line(facts, &mut f, e, super::facts::count(e));
                f.evidence.push(line);
            }
            None => {
                if let Some(m) = waiting_message(cs) {
                    let quoted = cite(&mut f, "waiting message", m);
                    f.evidence.push(format!("waiting: {quoted}"));
                }
            }
        }
        return Some(f.owned_by(owner));
    } else if waiting == Some("CreateContainerConfigError") {
        let mut f = Finding::new(
            Kind::ContainerConfigError,
            Severity::Critical,
            object.clone(),
            format!("container {c} cannot be created: a ConfigMap, Secret or key it references is missing"),
            Suggestion::on("events", &[], Some(ns), &[&format!("--for=pod/{pod_name}")]),
        );
        // The kubelet's message names the object and key ("secret \"x\" not found", "couldn't
        // find key k in Secret ns/x"); values are never read.
        if let Some(m) = waiting_message(cs) {
            let quoted = cite(&mut f, "waiting message", m);
            f.evidence.push(format!("kubelet: {quoted}"));
        }
        return Some(f.owned_by(owner));
    } else if let Some(reason) = waiting.filter(|r| START_ERROR_REASONS.contains(r)) {
        let mut f = Finding::new(
            Kind::ContainerError,
            Severity::Critical,
            object.clone(),
            format!("container {c} cannot start ({reason})"),
            Suggestion::on("describe", &["pod", pod_name], Some(ns), &[]),
        );
        if let Some(m) = waiting_message(cs) {
            let quoted = cite(&mut f, "waiting message", m);
            f.evidence.push(format!("waiting: {quoted}"));
        }
        return Some(f.owned_by(owner));
    } else if let Some((e, total)) = liveness_failures.filter(|_| cs.restart_count > 0) {
        let mut f = Finding::new(
            Kind::LivenessProbeFailing,
            Severity::Critical,
            object.clone(),
            format!(
                "container {c} is restarted by its failing liveness probe ({} restarts)",
                cs.restart_count
            ),
            Suggestion::on("describe", &["pod", pod_name], Some(ns), &[]),
        );
        if let Some(p) = container.and_then(|c| c.liveness_probe.as_ref()) {
            f.evidence.push(format!("liveness probe: {}", describe_probe(p)));
        }
        let line = event_line(facts, &mut f, e, total);
        f.evidence.push(line);
        return Some(f.owned_by(owner));
    } else if cs.state.as_ref().and_then(|s| s.running.as_ref()).is_some() && !cs.ready {
        let probe = container.and_then(|c| c.readiness_probe.as_ref());
        let failures = probe_failures(facts, ns, pod_name, "Readiness");
        if probe.is_none() && failures.is_none() {
            return None;
        }
        let mut f = Finding::new(
            Kind::ReadinessProbeFailing,
            Severity::Warning,
            object.clone(),
            format!("container {c} is running but not ready: its readiness probe fails"),
            Suggestion::on("logs", &[pod_name], Some(ns), &["-c", c, "--tail=50"]),
        );
        if let Some(p) = probe {
            f.evidence.push(format!("readiness probe: {}", describe_probe(p)));
        }
        if let Some((e, total)) = failures {
            let line = event_line(facts, &mut f, e, total);
            f.evidence.push(line);
        }
        return Some(f.owned_by(owner));
    } else {
        return None;
    };

    // Crash loops and OOM kills: the restart back-off, liveness failures and the previous run's log.
    if let Some((e, total)) = facts.latest(ns, "Pod", pod_name, "BackOff") {
        let line = event_line(facts, &mut f, e, total);
        f.evidence.push(line);
    }
    if let Some((e, total)) = liveness_failures {
        let line = event_line(facts, &mut f, e, total);
        f.evidence.push(line);
    }
    attach_log(facts, &mut f, pod, c, "previous log of container");
    Some(f.owned_by(owner))
}

/// The finding for an init container that has not finished (`index` of `total`).
fn init_finding(
    facts: &Facts<'_>,
    pod: &Pod,
    cs: &ContainerStatus,
    index: usize,
    total: usize,
    object: &ObjectRef,
    owner: Option<ObjectRef>,
) -> Option<Finding> {
    let ns = object.namespace.as_deref().unwrap_or_default();
    let pod_name = object.name.as_str();
    let c = cs.name.as_str();
    let waiting = waiting_reason(cs);
    let state = cs.state.as_ref();
    let (severity, what) = if waiting == Some("CrashLoopBackOff") {
        (Severity::Critical, format!("crash-looping ({} restarts)", cs.restart_count))
    } else if let Some(reason) = waiting.filter(|r| *r != "PodInitializing") {
        (Severity::Critical, format!("waiting: {reason}"))
    } else if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
        (
            Severity::Critical,
            format!("exited with code {} ({})", t.exit_code, t.reason.as_deref().unwrap_or("Error")),
        )
    } else if let Some(started) = state.and_then(|s| s.running.as_ref()).and_then(|r| r.started_at.as_ref()) {
        if facts.now.as_second() - started.0.as_second() < INIT_STUCK_SECONDS {
            return None;
        }
        (Severity::Warning, format!("still running after {}", facts.ago(started.0)))
    } else {
        return None;
    };
    let mut f = Finding::new(
        Kind::InitContainerStuck,
        severity,
        object.clone(),
        format!("init container {c} ({index}/{total}) has not finished: {what}"),
        Suggestion::on("logs", &[pod_name], Some(ns), &["-c", c, "--tail=100"]),
    );
    if let Some(m) = waiting_message(cs).filter(|_| waiting != Some("CrashLoopBackOff")) {
        let quoted = cite(&mut f, "waiting message", m);
        f.evidence.push(format!("waiting: {quoted}"));
    }
    if let Some(t) = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref()) {
        f.evidence.push(format!(
            "last exit code {} ({})",
            t.exit_code,
            t.reason.as_deref().unwrap_or("unknown")
        ));
    }
    if waiting == Some("CrashLoopBackOff") {
        f.suggested = Suggestion::on("logs", &[pod_name], Some(ns), &["-c", c, "--previous", "--tail=100"]);
        attach_log(facts, &mut f, pod, c, "previous log of init container");
    }
    Some(f.owned_by(owner))
}

/// The newest `Unhealthy` event of the pod whose message starts with `<probe> probe failed`, and
/// how many times such events were seen.
fn probe_failures<'a>(
    facts: &Facts<'a>,
    ns: &str,
    pod: &str,
    probe: &str,
) -> Option<(&'a k8s_openapi::api::core::v1::Event, i32)> {
    let prefix = format!("{probe} probe failed");
    let matching: Vec<_> = facts
        .events(ns, "Pod", pod)
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("Unhealthy"))
        .filter(|e| e.message.as_deref().is_some_and(|m| m.starts_with(&prefix)))
        .collect();
    let total = matching.iter().map(|e| super::facts::count(e)).sum();
    matching.first().map(|e| (*e, total))
}

/// `HTTP GET :8080/ready every 5s, fails after 3`
fn describe_probe(p: &Probe) -> String {
    let port = |p: &k8s_openapi::apimachinery::pkg::util::intstr::IntOrString| match p {
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i) => i.to_string(),
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => s.clone(),
    };
    let how = if let Some(h) = &p.http_get {
        format!("HTTP GET :{}{}", port(&h.port), h.path.as_deref().unwrap_or("/"))
    } else if let Some(t) = &p.tcp_socket {
        format!("TCP :{}", port(&t.port))
    } else if let Some(e) = &p.exec {
        format!("exec {}", super::facts::quote(&e.command.clone().unwrap_or_default().join(" ")))
    } else if let Some(g) = &p.grpc {
        format!("gRPC :{}", g.port)
    } else {
        "unknown".into()
    };
    format!(
        "{how} every {}s, fails after {}",
        p.period_seconds.unwrap_or(10),
        p.failure_threshold.unwrap_or(3)
    )
}

/// `cpu 64, memory 1Gi` summed over the containers (as written when one container).
fn total_requests(containers: &[Container]) -> String {
    let mut parts = Vec::new();
    for resource in ["cpu", "memory"] {
        let values: Vec<&str> = containers
            .iter()
            .filter_map(|c| c.resources.as_ref()?.requests.as_ref()?.get(resource))
            .map(|q| q.0.as_str())
            .collect();
        match values.as_slice() {
            [] => {}
            [one] => parts.push(format!("{resource} {one}")),
            many => parts.push(format!("{resource} {}", many.join("+"))),
        }
    }
    parts.join(", ")
}

/// The compacted last lines of the container's log read for evidence, or why it is missing.
fn attach_log(facts: &Facts<'_>, f: &mut Finding, pod: &Pod, container: &str, what: &str) {
    let key = LogKey {
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        pod: pod.metadata.name.clone().unwrap_or_default(),
        container: container.to_string(),
        previous: true,
    };
    attach_log_of(facts, f, &key, &format!("{what} {container}"));
}

/// The compacted last lines of the log `key`, as `f`'s excerpt (instruction-like lines flagged).
pub fn attach_log_of(facts: &Facts<'_>, f: &mut Finding, key: &LogKey, source: &str) {
    match facts.snapshot.logs.get(key) {
        Some(Ok(text)) => {
            let cleaned = kubently_shared::untrusted::clean(text);
            for line in cleaned.lines() {
                flag(f, source, line);
            }
            let entries = compact::select(compact::fold(&cleaned), EXCERPT_LINES);
            let lines: Vec<String> = compact::render(&entries).lines().map(str::to_string).collect();
            if !lines.is_empty() {
                f.log = Some(LogExcerpt { source: source.to_string(), lines });
            }
        }
        Some(Err(reason)) => f.evidence.push(format!("{source}: not available ({reason})")),
        None => {}
    }
}
