//! Networking and storage analyzers: Services whose selector matches no pod or only unready
//! pods (naming them), Ingresses whose backends name Services that do not exist, and PVCs stuck
//! Pending (with the provisioner's or binder's reason).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;

use super::facts::{Facts, event_line};
use super::finding::{Finding, Kind, ObjectRef, Severity, Suggestion};

/// Pods shown by name in a finding at most.
const MAX_NAMED_PODS: usize = 5;

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

fn matches(selector: &BTreeMap<String, String>, pod: &Pod) -> bool {
    let labels = pod.metadata.labels.as_ref();
    selector.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

fn selector_text(selector: &BTreeMap<String, String>) -> String {
    selector.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

fn named(pods: &[&Pod]) -> String {
    let mut names: Vec<String> = pods
        .iter()
        .take(MAX_NAMED_PODS)
        .map(|p| format!("pod/{}", p.metadata.name.as_deref().unwrap_or_default()))
        .collect();
    if pods.len() > MAX_NAMED_PODS {
        names.push(format!("and {} more", pods.len() - MAX_NAMED_PODS));
    }
    names.join(", ")
}

/// Services with a selector that no pod, or no ready pod, matches.
pub fn services(facts: &Facts<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for svc in &facts.snapshot.services {
        let (Some(name), ns) = (svc.metadata.name.as_deref(), svc.metadata.namespace.as_deref()) else {
            continue;
        };
        let Some(spec) = svc.spec.as_ref() else { continue };
        if spec.type_.as_deref() == Some("ExternalName") {
            continue;
        }
        let Some(selector) = spec.selector.as_ref().filter(|s| !s.is_empty()) else { continue };
        let pods: Vec<&Pod> = facts
            .snapshot
            .pods
            .iter()
            .filter(|p| p.metadata.namespace.as_deref() == ns && matches(selector, p))
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Succeeded"))
            .collect();
        let object = ObjectRef::new("service", ns, name);
        let sel = selector_text(selector);
        if pods.is_empty() {
            let mut f = Finding::new(
                Kind::ServiceWithoutPods,
                Severity::Warning,
                object,
                format!("selector {sel} matches no pod: the service has no endpoints"),
                Suggestion::on("get", &["pods"], ns, &["--show-labels"]),
            );
            // The pods that share a label with the selector, and how they differ.
            let near: Vec<String> = facts
                .snapshot
                .pods
                .iter()
                .filter(|p| p.metadata.namespace.as_deref() == ns)
                .filter_map(|p| {
                    let labels = p.metadata.labels.as_ref()?;
                    let shared = selector.iter().filter(|(k, v)| labels.get(*k) == Some(v)).count();
                    (shared > 0).then(|| {
                        let missing: Vec<String> = selector
                            .iter()
                            .filter(|(k, v)| labels.get(*k) != Some(v))
                            .map(|(k, v)| match labels.get(k) {
                                Some(has) => format!("{k}={has} (not {v})"),
                                None => format!("no {k} label"),
                            })
                            .collect();
                        format!(
                            "pod/{}: {}",
                            p.metadata.name.as_deref().unwrap_or_default(),
                            missing.join(", ")
                        )
                    })
                })
                .take(MAX_NAMED_PODS)
                .collect();
            if near.is_empty() {
                f.evidence
                    .push(format!("no pod in namespace {} has any of these labels", ns.unwrap_or_default()));
            } else {
                f.evidence.push(format!("closest: {}", near.join("; ")));
            }
            out.push(f);
        } else if !pods.iter().any(|p| is_ready(p)) {
            let first = pods[0].metadata.name.as_deref().unwrap_or_default();
            let mut f = Finding::new(
                Kind::ServiceWithoutReadyPods,
                Severity::Warning,
                object,
                format!("all {} pods behind it are unready: no ready endpoints", pods.len()),
                Suggestion::on("describe", &["pod", first], ns, &[]),
            );
            f.evidence.push(format!("selector {sel} → {}", named(&pods)));
            out.push(f);
        }
    }
    out
}

/// Ingresses whose rules or default backend name a Service that does not exist.
pub fn ingresses(facts: &Facts<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for ing in &facts.snapshot.ingresses {
        let name = ing.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
        let ns = ing.pointer("/metadata/namespace").and_then(Value::as_str);
        if name.is_empty() {
            continue;
        }
        let mut backends: Vec<(String, String)> = Vec::new();
        // v1: backend.service.name; v1beta1: backend.serviceName.
        let service_of = |backend: &Value| {
            backend
                .pointer("/service/name")
                .or_else(|| backend.get("serviceName"))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        for key in ["/spec/defaultBackend", "/spec/backend"] {
            if let Some(svc) = ing.pointer(key).and_then(service_of) {
                backends.push((svc, "default backend".into()));
            }
        }
        for rule in ing.pointer("/spec/rules").and_then(Value::as_array).into_iter().flatten() {
            let host = rule.get("host").and_then(Value::as_str).unwrap_or("*");
            for path in rule.pointer("/http/paths").and_then(Value::as_array).into_iter().flatten() {
                if let Some(svc) = path.get("backend").and_then(service_of) {
                    let p = path.get("path").and_then(Value::as_str).unwrap_or("/");
                    backends.push((svc, format!("{host}{p}")));
                }
            }
        }
        let missing: Vec<String> = backends
            .iter()
            .filter(|(svc, _)| {
                !facts.snapshot.services.iter().any(|s| {
                    s.metadata.name.as_deref() == Some(svc.as_str()) && s.metadata.namespace.as_deref() == ns
                })
            })
            .map(|(svc, route)| format!("service/{svc} (for {route})"))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let mut f = Finding::new(
            Kind::IngressMissingService,
            Severity::Warning,
            ObjectRef::new("ingress", ns, name),
            "routes to services that do not exist".into(),
            Suggestion::on("get", &["services"], ns, &[]),
        );
        f.evidence.push(format!("missing: {}", missing.join(", ")));
        out.push(f);
    }
    out
}

/// PVCs still Pending, with the newest event's reason (a PVC waiting for its first consumer is
/// not a problem and is skipped).
pub fn pvcs(facts: &Facts<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for pvc in &facts.snapshot.pvcs {
        let (Some(name), ns) = (pvc.metadata.name.as_deref(), pvc.metadata.namespace.as_deref()) else {
            continue;
        };
        if pvc.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Pending") {
            continue;
        }
        let events = facts.events(ns.unwrap_or_default(), "PersistentVolumeClaim", name);
        if events.first().and_then(|e| e.reason.as_deref()) == Some("WaitForFirstConsumer") {
            continue;
        }
        let class = pvc
            .spec
            .as_ref()
            .and_then(|s| s.storage_class_name.as_deref())
            .unwrap_or("<none: the default class, if any>");
        let mut f = Finding::new(
            Kind::PvcPending,
            Severity::Warning,
            ObjectRef::new("persistentvolumeclaim", ns, name),
            "Pending: no volume is bound to it".into(),
            Suggestion::on("describe", &["pvc", name], ns, &[]),
        );
        f.evidence.push(format!("storageClassName: {class}"));
        if let Some(e) = events.first() {
            let line = event_line(facts, &mut f, e, super::facts::count(e));
            f.evidence.push(line);
        }
        out.push(f);
    }
    out
}
