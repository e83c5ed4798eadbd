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

/// `metav1.FormatLabelSelector`: requirements sorted by key (`k=v`, `k in (a,b)`,
/// `k notin (a,b)`, `k`, `!k`; values sorted), `<none>` for a selector that selects everything.
pub(super) fn format_label_selector(selector: &Value) -> String {
    let mut requirements: Vec<(String, String)> = string_map(selector, "/matchLabels")
        .into_iter()
        .map(|(k, v)| (k.clone(), format!("{k}={v}")))
        .collect();
    for expr in array(selector, "/matchExpressions") {
        let key = s(expr, "/key");
        let mut values: Vec<&str> = array(expr, "/values").iter().filter_map(Value::as_str).collect();
        values.sort_unstable();
        values.dedup();
        let text = match s(expr, "/operator") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            _ => return "<error>".into(),
        };
        requirements.push((key.to_string(), text));
    }
    requirements.sort_by(|a, b| a.0.cmp(&b.0));
    let text = requirements.into_iter().map(|(_, t)| t).collect::<Vec<_>>().join(",");
    if text.is_empty() { "<none>".into() } else { text }
}

/// Go's `time.Time.String()` of an API timestamp (`2026-01-02 03:04:05 +0000 UTC`).
fn go_time(timestamp: &str) -> String {
    match timestamp.strip_suffix('Z') {
        Some(t) => format!("{} +0000 UTC", t.replacen('T', " ", 1)),
        None => timestamp.to_string(),
    }
}

/// kubectl's NetworkPolicy describer (no events).
pub fn network_policy(w: &mut Writer, np: &Value) {
    w.line(0, &format!("Name:\t{}", s(np, "/metadata/name")));
    w.line(0, &format!("Namespace:\t{}", s(np, "/metadata/namespace")));
    w.line(0, &format!("Created on:\t{}", go_time(s(np, "/metadata/creationTimestamp"))));
    writer::labels_multiline(w, 0, "Labels", &string_map(np, "/metadata/labels"));
    writer::annotations_multiline(w, 0, "Annotations", &string_map(np, "/metadata/annotations"));
    w.line(0, "Spec:");
    w.write(1, "PodSelector: ");
    let pod_selector = np.pointer("/spec/podSelector").cloned().unwrap_or(Value::Null);
    if string_map(&pod_selector, "/matchLabels").is_empty()
        && array(&pod_selector, "/matchExpressions").is_empty()
    {
        w.line(2, "<none> (Allowing the specific traffic to all pods in this namespace)");
    } else {
        w.line(2, &format_label_selector(&pod_selector));
    }
    let types: Vec<&str> = array(np, "/spec/policyTypes").iter().filter_map(Value::as_str).collect();
    if types.contains(&"Ingress") {
        w.line(1, "Allowing ingress traffic:");
        peer_rules(w, array(np, "/spec/ingress"), Direction::Ingress);
    } else {
        w.line(1, "Not affecting ingress traffic");
    }
    if types.contains(&"Egress") {
        w.line(1, "Allowing egress traffic:");
        peer_rules(w, array(np, "/spec/egress"), Direction::Egress);
    } else {
        w.line(1, "Not affecting egress traffic");
    }
    w.line(1, &format!("Policy Types: {}", types.join(", ")));
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Ingress,
    Egress,
}

/// kubectl's `printNetworkPolicySpecIngressFrom` / `…EgressTo` (initial indent four blanks).
fn peer_rules(w: &mut Writer, rules: &[Value], direction: Direction) {
    const INDENT: &str = "    ";
    let (peers_key, peer_title, none, any_peer) = match direction {
        Direction::Ingress => (
            "/from",
            "From:",
            "<none> (Selected pods are isolated for ingress connectivity)",
            "From: <any> (traffic not restricted by source)",
        ),
        Direction::Egress => (
            "/to",
            "To:",
            "<none> (Selected pods are isolated for egress connectivity)",
            "To: <any> (traffic not restricted by destination)",
        ),
    };
    if rules.is_empty() {
        w.line(0, &format!("{INDENT}{none}"));
        return;
    }
    for (i, rule) in rules.iter().enumerate() {
        let ports = array(rule, "/ports");
        if ports.is_empty() {
            w.line(0, &format!("{INDENT}To Port: <any> (traffic allowed to all ports)"));
        }
        for port in ports {
            let proto = match s(port, "/protocol") {
                "" => "TCP",
                p => p,
            };
            let number = match port.get("port") {
                None | Some(Value::Null) => "<nil>".to_string(),
                Some(Value::String(name)) => name.clone(),
                Some(other) => other.to_string(),
            };
            match port.get("endPort").and_then(Value::as_i64) {
                Some(end) => w.line(0, &format!("{INDENT}To Port Range: {number}-{end}/{proto}")),
                None => w.line(0, &format!("{INDENT}To Port: {number}/{proto}")),
            }
        }
        let peers = array(rule, peers_key);
        if peers.is_empty() {
            w.line(0, &format!("{INDENT}{any_peer}"));
        }
        for peer in peers {
            w.line(0, &format!("{INDENT}{peer_title}"));
            let pods = peer.get("podSelector").filter(|v| !v.is_null());
            let namespaces = peer.get("namespaceSelector").filter(|v| !v.is_null());
            match (pods, namespaces) {
                (Some(p), Some(n)) => {
                    w.line(1, &format!("{INDENT}NamespaceSelector: {}", format_label_selector(n)));
                    w.line(1, &format!("{INDENT}PodSelector: {}", format_label_selector(p)));
                }
                (Some(p), None) => w.line(1, &format!("{INDENT}PodSelector: {}", format_label_selector(p))),
                (None, Some(n)) => {
                    w.line(1, &format!("{INDENT}NamespaceSelector: {}", format_label_selector(n)))
                }
                (None, None) => {
                    if let Some(block) = peer.get("ipBlock").filter(|v| !v.is_null()) {
                        w.line(1, &format!("{INDENT}IPBlock:"));
                        w.line(2, &format!("{INDENT}CIDR: {}", s(block, "/cidr")));
                        let except: Vec<&str> =
                            array(block, "/except").iter().filter_map(Value::as_str).collect();
                        w.line(2, &format!("{INDENT}Except: {}", except.join(", ")));
                    }
                }
            }
        }
        if i + 1 != rules.len() {
            w.line(0, &format!("{INDENT}----------"));
        }
    }
}
