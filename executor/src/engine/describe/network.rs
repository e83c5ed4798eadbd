//! kubectl's Ingress (networking.k8s.io/v1 and the older v1beta1 shape) and
//! HorizontalPodAutoscaler (autoscaling/v1, and v2's resource metrics) describers.

use std::collections::HashMap;

use serde_json::Value;

use super::kinds;
use super::writer::{self, Writer, array, int, s, scalar, string_map};

/// A backend's Service and its Endpoints, looked up by service name.
pub type Backends = HashMap<String, (Option<Value>, Option<Value>)>;

/// The service names an Ingress points at (default backend and every path).
pub fn ingress_services(ing: &Value) -> Vec<String> {
    let mut names = Vec::new();
    let mut push = |b: &Value| {
        let name = backend_service(b).0;
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    };
    for ptr in ["/spec/defaultBackend", "/spec/backend"] {
        if let Some(b) = ing.pointer(ptr).filter(|v| !v.is_null()) {
            push(b);
        }
    }
    for rule in array(ing, "/spec/rules") {
        for path in array(rule, "/http/paths") {
            if let Some(b) = path.get("backend") {
                push(b);
            }
        }
    }
    names
}

/// (service name, port as text, port number, port name) for both API shapes.
fn backend_service(b: &Value) -> (String, String, i64, String) {
    if let Some(svc) = b.get("service") {
        let number = int(svc, "/port/number");
        let name = s(svc, "/port/name").to_string();
        let text = if name.is_empty() { number.to_string() } else { name.clone() };
        return (s(svc, "/name").to_string(), text, number, name);
    }
    let port = b.get("servicePort");
    let (number, name) = match port {
        Some(Value::Number(n)) => (n.as_i64().unwrap_or_default(), String::new()),
        Some(Value::String(t)) => (0, t.clone()),
        _ => (0, String::new()),
    };
    let text = if name.is_empty() { number.to_string() } else { name.clone() };
    (s(b, "/serviceName").to_string(), text, number, name)
}

fn describe_backend(b: &Value, backends: &Backends) -> String {
    let (service, port_text, number, port_name) = backend_service(b);
    if service.is_empty() {
        let kind = s(b, "/resource/kind");
        return if kind.is_empty() {
            "<default>".into()
        } else {
            format!(
                "APIGroup: {}, Kind: {kind}, Name: {}",
                s(b, "/resource/apiGroup"),
                s(b, "/resource/name")
            )
        };
    }
    let Some((Some(svc), endpoints)) = backends.get(&service) else {
        return format!("{service}:{port_text} (<error: services \"{service}\" not found>)");
    };
    let mut sp_name = "";
    for sp in array(svc, "/spec/ports") {
        if (number != 0 && int(sp, "/port") == number)
            || (!port_name.is_empty() && s(sp, "/name") == port_name)
        {
            sp_name = s(sp, "/name");
        }
    }
    format!("{service}:{port_text} ({})", kinds::format_endpoints(endpoints.as_ref(), sp_name))
}

pub fn ingress(w: &mut Writer, ing: &Value, backends: &Backends) {
    w.line(0, &format!("Name:\t{}", s(ing, "/metadata/name")));
    writer::labels_multiline(w, 0, "Labels", &string_map(ing, "/metadata/labels"));
    w.line(0, &format!("Namespace:\t{}", s(ing, "/metadata/namespace")));
    let address: Vec<&str> = array(ing, "/status/loadBalancer/ingress")
        .iter()
        .map(|i| if s(i, "/ip").is_empty() { s(i, "/hostname") } else { s(i, "/ip") })
        .collect();
    w.line(0, &format!("Address:\t{}", address.join(",")));
    w.line(0, &format!("Ingress Class:\t{}", writer::or_none(s(ing, "/spec/ingressClassName"))));
    let default =
        ing.pointer("/spec/defaultBackend").or_else(|| ing.pointer("/spec/backend")).filter(|v| !v.is_null());
    match default {
        None => w.line(0, "Default backend:\t<default>"),
        Some(b) => w.line(0, &format!("Default backend:\t{}", describe_backend(b, backends))),
    }
    let tls = array(ing, "/spec/tls");
    if !tls.is_empty() {
        w.line(0, "TLS:");
        for t in tls {
            let hosts: Vec<&str> = array(t, "/hosts").iter().filter_map(Value::as_str).collect();
            match s(t, "/secretName") {
                "" => w.line(1, &format!("SNI routes {}", hosts.join(","))),
                secret => w.line(1, &format!("{secret} terminates {}", hosts.join(","))),
            }
        }
    }
    w.line(0, "Rules:");
    w.line(1, "Host\tPath\tBackends");
    w.line(1, "----\t----\t--------");
    let mut count = 0;
    for rule in array(ing, "/spec/rules") {
        if rule.get("http").is_none_or(Value::is_null) {
            continue;
        }
        count += 1;
        w.line(1, &format!("{}\t", if s(rule, "/host").is_empty() { "*" } else { s(rule, "/host") }));
        for path in array(rule, "/http/paths") {
            let backend = path.get("backend").cloned().unwrap_or_default();
            w.line(2, &format!("\t{} \t{}", s(path, "/path"), describe_backend(&backend, backends)));
        }
    }
    if count == 0 {
        let backend = default.map_or_else(|| "<default>".to_string(), |b| describe_backend(b, backends));
        w.line(1, &format!("*\t*\t{backend}"));
    }
    writer::annotations_multiline(w, 0, "Annotations", &string_map(ing, "/metadata/annotations"));
}

pub fn hpa(w: &mut Writer, hpa: &Value) {
    w.line(0, &format!("Name:\t{}", s(hpa, "/metadata/name")));
    w.line(0, &format!("Namespace:\t{}", s(hpa, "/metadata/namespace")));
    writer::labels_multiline(w, 0, "Labels", &string_map(hpa, "/metadata/labels"));
    writer::annotations_multiline(w, 0, "Annotations", &string_map(hpa, "/metadata/annotations"));
    w.line(0, &format!("CreationTimestamp:\t{}", writer::rfc1123z(s(hpa, "/metadata/creationTimestamp"))));
    let kind = s(hpa, "/spec/scaleTargetRef/kind");
    w.line(0, &format!("Reference:\t{kind}/{}", s(hpa, "/spec/scaleTargetRef/name")));
    if let Some(metrics) = hpa.pointer("/spec/metrics").and_then(Value::as_array) {
        w.line(0, "Metrics:\t( current / target )");
        let current = array(hpa, "/status/currentMetrics");
        for (i, m) in metrics.iter().enumerate() {
            if s(m, "/type") != "Resource" {
                w.line(1, &format!("\"{}\" metric:\t<see the object with -o yaml>", s(m, "/type")));
                continue;
            }
            let name = s(m, "/resource/name");
            let cur = current.get(i).and_then(|c| c.get("resource"));
            if !scalar(m, "/resource/target/averageValue").is_empty() {
                let now = cur
                    .map(|c| scalar(c, "/current/averageValue"))
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| "<unknown>".into());
                w.line(
                    1,
                    &format!(
                        "resource {name} on pods:\t{now} / {}",
                        scalar(m, "/resource/target/averageValue")
                    ),
                );
            } else {
                let now = cur.filter(|c| c.pointer("/current/averageUtilization").is_some()).map_or_else(
                    || "<unknown>".to_string(),
                    |c| {
                        format!(
                            "{}% ({})",
                            int(c, "/current/averageUtilization"),
                            scalar(c, "/current/averageValue")
                        )
                    },
                );
                let target = m
                    .pointer("/resource/target/averageUtilization")
                    .and_then(Value::as_i64)
                    .map_or_else(|| "<auto>".to_string(), |t| format!("{t}%"));
                w.line(
                    1,
                    &format!("resource {name} on pods  (as a percentage of request):\t{now} / {target}"),
                );
            }
        }
    } else if let Some(target) = hpa.pointer("/spec/targetCPUUtilizationPercentage").and_then(Value::as_i64) {
        w.line(0, &format!("Target CPU utilization:\t{target}%"));
        let current = hpa
            .pointer("/status/currentCPUUtilizationPercentage")
            .and_then(Value::as_i64)
            .map_or_else(|| "<unknown>".to_string(), |c| c.to_string());
        w.line(0, &format!("Current CPU utilization:\t{current}%"));
    }
    let min = hpa
        .pointer("/spec/minReplicas")
        .and_then(Value::as_i64)
        .map_or_else(|| "<unset>".to_string(), |m| m.to_string());
    w.line(0, &format!("Min replicas:\t{min}"));
    w.line(0, &format!("Max replicas:\t{}", int(hpa, "/spec/maxReplicas")));
    w.line(
        0,
        &format!(
            "{kind} pods:\t{} current / {} desired",
            int(hpa, "/status/currentReplicas"),
            int(hpa, "/status/desiredReplicas")
        ),
    );
    let conditions = array(hpa, "/status/conditions");
    if !conditions.is_empty() {
        w.line(0, "Conditions:");
        w.line(1, "Type\tStatus\tReason\tMessage");
        w.line(1, "----\t------\t------\t-------");
        for c in conditions {
            w.line(
                1,
                &format!("{}\t{}\t{}\t{}", s(c, "/type"), s(c, "/status"), s(c, "/reason"), s(c, "/message")),
            );
        }
    }
}
