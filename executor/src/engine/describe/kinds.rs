//! kubectl's describers for Secret, ConfigMap, Service, Namespace, Node and Deployment.

use std::collections::BTreeMap;

use serde_json::Value;

use super::pod;
use super::writer::{self, Writer, array, int, s, scalar, string_map};

fn header(w: &mut Writer, object: &Value, namespaced: bool) {
    w.line(0, &format!("Name:\t{}", s(object, "/metadata/name")));
    if namespaced {
        w.line(0, &format!("Namespace:\t{}", s(object, "/metadata/namespace")));
    }
    writer::labels_multiline(w, 0, "Labels", &string_map(object, "/metadata/labels"));
    writer::annotations_multiline(w, 0, "Annotations", &string_map(object, "/metadata/annotations"));
}

/// Keys and sizes only: the object was redacted when it was read, so sizes come from the
/// placeholders and no value is ever at hand here.
pub fn secret(w: &mut Writer, secret: &Value) {
    header(w, secret, true);
    w.line(0, "");
    w.line(0, &format!("Type:\t{}", s(secret, "/type")));
    w.line(0, "");
    w.line(0, "Data");
    w.line(0, "====");
    for (key, value) in string_map(secret, "/data") {
        w.line(0, &format!("{key}:\t{} bytes", redacted_size(&value)));
    }
}

/// `N` from `<redacted: N bytes>`.
fn redacted_size(placeholder: &str) -> usize {
    placeholder.trim_start_matches("<redacted: ").trim_end_matches(" bytes>").parse().unwrap_or_default()
}

pub fn config_map(w: &mut Writer, cm: &Value) {
    header(w, cm, true);
    w.line(0, "");
    w.line(0, "Data");
    w.line(0, "====");
    for (key, value) in string_map(cm, "/data") {
        w.line(0, &format!("{key}:"));
        w.line(0, "----");
        w.line(0, &value);
        w.line(0, "");
    }
    w.line(0, "");
    w.line(0, "BinaryData");
    w.line(0, "====");
    for (key, value) in string_map(cm, "/binaryData") {
        let symbols = value.bytes().filter(|b| !b.is_ascii_whitespace() && *b != b'=').count();
        w.line(0, &format!("{key}: {} bytes", symbols * 3 / 4));
    }
    w.line(0, "");
}

/// Where a Service's backends are read from: its EndpointSlices (`discovery.k8s.io/v1`, as
/// current kubectl reads them), or its Endpoints object on servers that do not serve that
/// version (before 1.21, as the kubectl of those releases read it).
pub enum Backends {
    Slices(Vec<Value>),
    Endpoints(Option<Value>),
}

pub fn service(w: &mut Writer, svc: &Value, backends: &Backends) {
    header(w, svc, true);
    let selector: Vec<String> =
        string_map(svc, "/spec/selector").into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    w.line(
        0,
        &format!(
            "Selector:\t{}",
            if selector.is_empty() { "<none>".to_string() } else { selector.join(",") }
        ),
    );
    w.line(0, &format!("Type:\t{}", s(svc, "/spec/type")));
    if !s(svc, "/spec/ipFamilyPolicy").is_empty() {
        w.line(0, &format!("IP Family Policy:\t{}", s(svc, "/spec/ipFamilyPolicy")));
    }
    let join = |ptr: &str| array(svc, ptr).iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",");
    w.line(0, &format!("IP Families:\t{}", writer::or_none(&join("/spec/ipFamilies"))));
    w.line(0, &format!("IP:\t{}", s(svc, "/spec/clusterIP")));
    w.line(0, &format!("IPs:\t{}", writer::or_none(&join("/spec/clusterIPs"))));
    if !join("/spec/externalIPs").is_empty() {
        w.line(0, &format!("External IPs:\t{}", join("/spec/externalIPs")));
    }
    if !s(svc, "/spec/loadBalancerIP").is_empty() {
        w.line(0, &format!("Desired LoadBalancer IP:\t{}", s(svc, "/spec/loadBalancerIP")));
    }
    if !s(svc, "/spec/loadBalancerClass").is_empty() {
        w.line(0, &format!("LoadBalancer Class:\t{}", s(svc, "/spec/loadBalancerClass")));
    }
    let ingress: Vec<String> = array(svc, "/status/loadBalancer/ingress")
        .iter()
        .map(|i| if s(i, "/ip").is_empty() { s(i, "/hostname").to_string() } else { s(i, "/ip").to_string() })
        .collect();
    if !ingress.is_empty() {
        w.line(0, &format!("LoadBalancer Ingress:\t{}", ingress.join(", ")));
    }
    for p in array(svc, "/spec/ports") {
        let name = match s(p, "/name") {
            "" => "<unset>",
            n => n,
        };
        let proto = s(p, "/protocol");
        w.line(0, &format!("Port:\t{name}\t{}/{proto}", int(p, "/port")));
        w.line(0, &format!("TargetPort:\t{}/{proto}", scalar(p, "/targetPort")));
        if int(p, "/nodePort") != 0 {
            w.line(0, &format!("NodePort:\t{name}\t{}/{proto}", int(p, "/nodePort")));
        }
        let listed = match backends {
            Backends::Slices(slices) => format_endpoint_slices(slices, s(p, "/name")),
            Backends::Endpoints(endpoints) => format_endpoints(endpoints.as_ref(), s(p, "/name")),
        };
        w.line(0, &format!("Endpoints:\t{listed}"));
    }
    w.line(0, &format!("Session Affinity:\t{}", s(svc, "/spec/sessionAffinity")));
    if !s(svc, "/spec/externalTrafficPolicy").is_empty() {
        w.line(0, &format!("External Traffic Policy:\t{}", s(svc, "/spec/externalTrafficPolicy")));
    }
    if !s(svc, "/spec/internalTrafficPolicy").is_empty() {
        w.line(0, &format!("Internal Traffic Policy:\t{}", s(svc, "/spec/internalTrafficPolicy")));
    }
    if int(svc, "/spec/healthCheckNodePort") != 0 {
        w.line(0, &format!("HealthCheck NodePort:\t{}", int(svc, "/spec/healthCheckNodePort")));
    }
}

/// kubectl's `formatEndpointSlices` for one service port: the first address of each ready (or
/// unknown-readiness) endpoint with the slice port of that name, the first three listed and the rest counted
/// (with kubectl's quirks: `more` is noticed before readiness is, and a list of only unready
/// endpoints prints nothing).
pub fn format_endpoint_slices(slices: &[Value], port_name: &str) -> String {
    if slices.is_empty() {
        return "<none>".into();
    }
    const MAX: usize = 3;
    let (mut list, mut more, mut count) = (Vec::new(), false, 0usize);
    let ready = |e: &Value| e.pointer("/conditions/ready").and_then(Value::as_bool).unwrap_or(true);
    let first_address =
        |e: &Value| array(e, "/addresses").first().and_then(Value::as_str).unwrap_or_default().to_string();
    for slice in slices {
        let ports = array(slice, "/ports");
        let endpoints = array(slice, "/endpoints");
        if ports.is_empty() {
            for e in endpoints {
                if list.len() == MAX {
                    more = true;
                }
                if !ready(e) {
                    continue;
                }
                if !more {
                    list.push(first_address(e));
                }
                count += 1;
            }
        } else {
            for port in ports.iter().filter(|p| s(p, "/name") == port_name) {
                for e in endpoints {
                    if list.len() == MAX {
                        more = true;
                    }
                    if !ready(e) {
                        continue;
                    }
                    if !more {
                        let addr = first_address(e);
                        let host = if addr.contains(':') { format!("[{addr}]") } else { addr };
                        list.push(format!("{host}:{}", int(port, "/port")));
                    }
                    count += 1;
                }
            }
        }
    }
    let joined = list.join(",");
    if more { format!("{joined} + {} more...", count.saturating_sub(MAX)) } else { joined }
}

/// kubectl's `formatEndpoints` for one service port (the Endpoints object; servers before 1.21).
pub fn format_endpoints(endpoints: Option<&Value>, port_name: &str) -> String {
    let subsets = endpoints.map(|e| array(e, "/subsets")).unwrap_or_default();
    if subsets.is_empty() {
        return "<none>".into();
    }
    const MAX: usize = 3;
    let mut list = Vec::new();
    let mut count = 0;
    for ss in subsets {
        let addresses = array(ss, "/addresses");
        let ports = array(ss, "/ports");
        if ports.is_empty() {
            for a in addresses {
                if list.len() < MAX {
                    list.push(s(a, "/ip").to_string());
                }
                count += 1;
            }
        } else {
            for p in ports.iter().filter(|p| s(p, "/name") == port_name) {
                for a in addresses {
                    if list.len() < MAX {
                        let ip = s(a, "/ip");
                        list.push(if ip.contains(':') {
                            format!("[{ip}]:{}", int(p, "/port"))
                        } else {
                            format!("{ip}:{}", int(p, "/port"))
                        });
                    }
                    count += 1;
                }
            }
        }
    }
    if list.is_empty() {
        "<none>".into()
    } else if count > MAX {
        format!("{} + {} more...", list.join(","), count - MAX)
    } else {
        list.join(",")
    }
}

pub fn namespace(w: &mut Writer, ns: &Value, quotas: &[Value], limits: &[Value]) {
    header(w, ns, false);
    w.line(0, &format!("Status:\t{}", s(ns, "/status/phase")));
    w.line(0, "");
    if quotas.is_empty() {
        w.line(0, "No resource quota.");
    } else {
        w.line(0, "Resource Quotas");
        for q in quotas {
            w.line(1, &format!("Name:\t{}", s(q, "/metadata/name")));
            let scopes: Vec<&str> = array(q, "/spec/scopes").iter().filter_map(Value::as_str).collect();
            if !scopes.is_empty() {
                w.line(1, &format!("Scopes:\t{}", scopes.join(", ")));
            }
            w.line(1, "Resource\tUsed\tHard");
            w.line(1, "--------\t---\t---");
            let used = string_map(q, "/status/used");
            for (res, hard) in string_map(q, "/status/hard") {
                w.line(1, &format!("{res}\t{}\t{hard}", used.get(&res).map_or("0", String::as_str)));
            }
        }
    }
    w.line(0, "");
    if limits.is_empty() {
        w.line(0, "No LimitRange resource.");
    } else {
        w.line(0, "Resource Limits");
        w.line(0, " Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio");
        w.line(0, " ----\t--------\t---\t---\t---------------\t-------------\t-----------------------");
        for lr in limits {
            for item in array(lr, "/spec/limits") {
                let fields = ["/min", "/max", "/defaultRequest", "/default", "/maxLimitRequestRatio"]
                    .map(|f| string_map(item, f));
                let mut names: Vec<&String> = fields.iter().flat_map(|m| m.keys()).collect();
                names.sort();
                names.dedup();
                for name in names {
                    let cells: Vec<&str> =
                        fields.iter().map(|m| m.get(name).map_or("-", String::as_str)).collect();
                    w.line(0, &format!(" {}\t{name}\t{}", s(item, "/type"), cells.join("\t")));
                }
            }
        }
    }
}

pub fn deployment(w: &mut Writer, d: &Value, replica_sets: &[Value]) {
    w.line(0, &format!("Name:\t{}", s(d, "/metadata/name")));
    w.line(0, &format!("Namespace:\t{}", s(d, "/metadata/namespace")));
    w.line(0, &format!("CreationTimestamp:\t{}", writer::rfc1123z(s(d, "/metadata/creationTimestamp"))));
    writer::labels_multiline(w, 0, "Labels", &string_map(d, "/metadata/labels"));
    writer::annotations_multiline(w, 0, "Annotations", &string_map(d, "/metadata/annotations"));
    w.line(0, &format!("Selector:\t{}", pod::selector_text(d.pointer("/spec/selector"))));
    w.line(
        0,
        &format!(
            "Replicas:\t{} desired | {} updated | {} total | {} available | {} unavailable",
            d.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1),
            int(d, "/status/updatedReplicas"),
            int(d, "/status/replicas"),
            int(d, "/status/availableReplicas"),
            int(d, "/status/unavailableReplicas")
        ),
    );
    w.line(0, &format!("StrategyType:\t{}", s(d, "/spec/strategy/type")));
    w.line(0, &format!("MinReadySeconds:\t{}", int(d, "/spec/minReadySeconds")));
    if let Some(ru) = d.pointer("/spec/strategy/rollingUpdate").filter(|v| !v.is_null()) {
        w.line(
            0,
            &format!(
                "RollingUpdateStrategy:\t{} max unavailable, {} max surge",
                scalar(ru, "/maxUnavailable"),
                scalar(ru, "/maxSurge")
            ),
        );
    }
    pod::template(w, d.pointer("/spec/template"));
    super::workloads::conditions(w, d);
    let revision = s(d, "/metadata/annotations/deployment.kubernetes.io~1revision");
    let (new, old): (Vec<&Value>, Vec<&Value>) = replica_sets.iter().partition(|rs| {
        !revision.is_empty() && s(rs, "/metadata/annotations/deployment.kubernetes.io~1revision") == revision
    });
    let old: Vec<&Value> = old.into_iter().filter(|rs| int(rs, "/spec/replicas") != 0).collect();
    w.line(0, &format!("OldReplicaSets:\t{}", replica_sets_text(&old)));
    w.line(0, &format!("NewReplicaSet:\t{}", replica_sets_text(&new[..new.len().min(1)])));
}

fn replica_sets_text(sets: &[&Value]) -> String {
    if sets.is_empty() {
        return "<none>".into();
    }
    sets.iter()
        .map(|rs| {
            format!(
                "{} ({}/{} replicas created)",
                s(rs, "/metadata/name"),
                int(rs, "/status/replicas"),
                int(rs, "/spec/replicas")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `lease` is the node's Lease in `kube-node-lease`, or why it could not be read.
pub fn node(
    w: &mut Writer,
    node: &Value,
    lease: Result<&Value, &str>,
    pods: &[Value],
    now: time::OffsetDateTime,
) {
    w.line(0, &format!("Name:\t{}", s(node, "/metadata/name")));
    let labels = string_map(node, "/metadata/labels");
    let mut roles: Vec<String> = labels
        .iter()
        .filter_map(|(k, v)| match k.strip_prefix("node-role.kubernetes.io/") {
            Some(role) if !role.is_empty() => Some(role.to_string()),
            _ if k == "kubernetes.io/role" && !v.is_empty() => Some(v.clone()),
            _ => None,
        })
        .collect();
    roles.sort();
    roles.dedup();
    w.line(0, &format!("Roles:\t{}", if roles.is_empty() { "<none>".to_string() } else { roles.join(",") }));
    writer::labels_multiline(w, 0, "Labels", &labels);
    writer::annotations_multiline(w, 0, "Annotations", &string_map(node, "/metadata/annotations"));
    w.line(0, &format!("CreationTimestamp:\t{}", writer::rfc1123z(s(node, "/metadata/creationTimestamp"))));
    let taints = array(node, "/spec/taints");
    w.write(0, "Taints:\t");
    if taints.is_empty() {
        w.line(0, "<none>");
    }
    for (i, t) in taints.iter().enumerate() {
        if i != 0 {
            w.write(0, "\t");
        }
        let value = if s(t, "/value").is_empty() { String::new() } else { format!("={}", s(t, "/value")) };
        w.line(0, &format!("{}{value}:{}", s(t, "/key"), s(t, "/effect")));
    }
    w.line(0, &format!("Unschedulable:\t{}", writer::boolean(node, "/spec/unschedulable")));
    match lease {
        Err(why) => w.line(0, &format!("Lease:\tFailed to get lease: {why}")),
        Ok(lease) => {
            let or_unset = |ptr: &str, time: bool| match s(lease, ptr) {
                "" => "<unset>".to_string(),
                v if time => writer::rfc1123z(v),
                v => v.to_string(),
            };
            w.line(0, "Lease:");
            w.line(1, &format!("HolderIdentity:\t{}", or_unset("/spec/holderIdentity", false)));
            w.line(1, &format!("AcquireTime:\t{}", or_unset("/spec/acquireTime", true)));
            w.line(1, &format!("RenewTime:\t{}", or_unset("/spec/renewTime", true)));
        }
    }
    let conditions = array(node, "/status/conditions");
    if !conditions.is_empty() {
        w.line(0, "Conditions:");
        w.line(1, "Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage");
        w.line(1, "----\t------\t-----------------\t------------------\t------\t-------");
        for c in conditions {
            w.line(
                1,
                &format!(
                    "{} \t{} \t{} \t{} \t{} \t{}",
                    s(c, "/type"),
                    s(c, "/status"),
                    writer::rfc1123z(s(c, "/lastHeartbeatTime")),
                    writer::rfc1123z(s(c, "/lastTransitionTime")),
                    s(c, "/reason"),
                    s(c, "/message")
                ),
            );
        }
    }
    w.line(0, "Addresses:");
    for a in array(node, "/status/addresses") {
        w.line(1, &format!("{}:\t{}", s(a, "/type"), s(a, "/address")));
    }
    for (title, field) in [("Capacity", "/status/capacity"), ("Allocatable", "/status/allocatable")] {
        let list = string_map(node, field);
        if !list.is_empty() {
            w.line(0, &format!("{title}:"));
            for (k, v) in list {
                w.line(1, &format!("{k}:\t{v}"));
            }
        }
    }
    w.line(0, "System Info:");
    for (title, field) in [
        ("Machine ID", "machineID"),
        ("System UUID", "systemUUID"),
        ("Boot ID", "bootID"),
        ("Kernel Version", "kernelVersion"),
        ("OS Image", "osImage"),
        ("Operating System", "operatingSystem"),
        ("Architecture", "architecture"),
        ("Container Runtime Version", "containerRuntimeVersion"),
        ("Kubelet Version", "kubeletVersion"),
        ("Kube-Proxy Version", "kubeProxyVersion"),
    ] {
        w.line(1, &format!("{title}:\t{}", s(node, &format!("/status/nodeInfo/{field}"))));
    }
    if !s(node, "/spec/podCIDR").is_empty() {
        w.line(0, &format!("PodCIDR:\t{}", s(node, "/spec/podCIDR")));
    }
    let cidrs: Vec<&str> = array(node, "/spec/podCIDRs").iter().filter_map(Value::as_str).collect();
    if !cidrs.is_empty() {
        w.line(0, &format!("PodCIDRs:\t{}", cidrs.join(",")));
    }
    if !s(node, "/spec/providerID").is_empty() {
        w.line(0, &format!("ProviderID:\t{}", s(node, "/spec/providerID")));
    }
    node_resources(w, node, pods, now);
}

/// kubectl's `describeNodeResource`.
fn node_resources(w: &mut Writer, node: &Value, pods: &[Value], now: time::OffsetDateTime) {
    let mut allocatable = string_map(node, "/status/allocatable");
    if allocatable.is_empty() {
        allocatable = string_map(node, "/status/capacity");
    }
    let alloc =
        |name: &str| allocatable.get(name).and_then(|q| Quantity::parse(q)).map_or(0.0, |q| q.milli as f64);
    let pct = |q: &Quantity, name: &str| {
        let total = alloc(name);
        if total > 0.0 { (q.milli as f64 / total * 100.0) as i64 } else { 0 }
    };
    w.line(0, &format!("Non-terminated Pods:\t({} in total)", pods.len()));
    w.line(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge");
    w.line(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---");
    let mut total_req: BTreeMap<String, Quantity> = BTreeMap::new();
    let mut total_lim: BTreeMap<String, Quantity> = BTreeMap::new();
    for p in pods {
        let (req, lim) = pod_requests_and_limits(p);
        let get = |m: &BTreeMap<String, Quantity>, k: &str| m.get(k).cloned().unwrap_or_default();
        let (cr, cl, mr, ml) = (get(&req, "cpu"), get(&lim, "cpu"), get(&req, "memory"), get(&lim, "memory"));
        w.line(
            1,
            &format!(
                "{}\t{}\t\t{} ({}%)\t{} ({}%)\t{} ({}%)\t{} ({}%)\t{}",
                s(p, "/metadata/namespace"),
                s(p, "/metadata/name"),
                cr,
                pct(&cr, "cpu"),
                cl,
                pct(&cl, "cpu"),
                mr,
                pct(&mr, "memory"),
                ml,
                pct(&ml, "memory"),
                writer::since(s(p, "/metadata/creationTimestamp"), now)
            ),
        );
        for (totals, part) in [(&mut total_req, req), (&mut total_lim, lim)] {
            for (k, q) in part {
                totals.entry(k).and_modify(|t| t.add(&q)).or_insert(q);
            }
        }
    }
    w.line(0, "Allocated resources:");
    w.line(1, "(Total limits may be over 100 percent, i.e., overcommitted.)");
    w.line(1, "Resource\tRequests\tLimits");
    w.line(1, "--------\t--------\t------");
    let mut names: Vec<String> = vec!["cpu".into(), "memory".into(), "ephemeral-storage".into()];
    names.extend(allocatable.keys().filter(|k| k.starts_with("hugepages-")).cloned());
    for name in &names {
        let r = total_req.get(name).cloned().unwrap_or_default();
        let l = total_lim.get(name).cloned().unwrap_or_default();
        w.line(1, &format!("{name}\t{r} ({}%)\t{l} ({}%)", pct(&r, name), pct(&l, name)));
    }
    let standard = |k: &str| {
        matches!(k, "cpu" | "memory" | "ephemeral-storage" | "pods" | "storage")
            || k.starts_with("hugepages-")
            || k.starts_with("requests.")
            || k.starts_with("limits.")
    };
    for ext in allocatable.keys().filter(|k| !standard(k)) {
        let r = total_req.get(ext).cloned().unwrap_or_default();
        let l = total_lim.get(ext).cloned().unwrap_or_default();
        w.line(1, &format!("{ext}\t{r}\t{l}"));
    }
}

/// Containers summed, each init container as a floor (kubectl's `PodRequestsAndLimits`, overhead added).
fn pod_requests_and_limits(p: &Value) -> (BTreeMap<String, Quantity>, BTreeMap<String, Quantity>) {
    let mut out = (BTreeMap::new(), BTreeMap::new());
    for (i, field) in ["/resources/requests", "/resources/limits"].into_iter().enumerate() {
        let acc: &mut BTreeMap<String, Quantity> = if i == 0 { &mut out.0 } else { &mut out.1 };
        for c in array(p, "/spec/containers") {
            for (k, v) in string_map(c, field) {
                if let Some(q) = Quantity::parse(&v) {
                    acc.entry(k).and_modify(|t| t.add(&q)).or_insert(q);
                }
            }
        }
        for c in array(p, "/spec/initContainers") {
            for (k, v) in string_map(c, field) {
                if let Some(q) = Quantity::parse(&v) {
                    let entry = acc.entry(k).or_insert_with(|| Quantity { milli: 0, binary: q.binary });
                    if q.milli > entry.milli {
                        entry.milli = q.milli;
                    }
                }
            }
        }
        for (k, v) in string_map(p, "/spec/overhead") {
            if let Some(q) = Quantity::parse(&v) {
                acc.entry(k).and_modify(|t| t.add(&q)).or_insert(q);
            }
        }
    }
    out
}

/// Just enough of `resource.Quantity` to sum requests and print them canonically.
#[derive(Debug, Clone, Default)]
struct Quantity {
    /// Thousandths of the base unit.
    milli: i128,
    /// Printed with binary suffixes (`Mi`).
    binary: bool,
}

impl Quantity {
    fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
            .unwrap_or(text.len());
        let (number, suffix) = text.split_at(split);
        // value = mantissa / 10^scale, exactly.
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let mantissa: i128 = format!("{whole}{fraction}").parse().ok()?;
        let scale = u32::try_from(fraction.len()).ok()?;
        // milli = value × 1000 × num / den
        let (binary, num, den): (bool, i128, i128) = match suffix {
            "" => (false, 1, 1),
            "m" => (false, 1, 1000),
            "k" => (false, 1_000, 1),
            "M" => (false, 1_000_000, 1),
            "G" => (false, 1_000_000_000, 1),
            "T" => (false, 1_000_000_000_000, 1),
            "P" => (false, 1_000_000_000_000_000, 1),
            "E" => (false, 1_000_000_000_000_000_000, 1),
            "Ki" => (true, 1 << 10, 1),
            "Mi" => (true, 1 << 20, 1),
            "Gi" => (true, 1 << 30, 1),
            "Ti" => (true, 1 << 40, 1),
            "Pi" => (true, 1 << 50, 1),
            "Ei" => (true, 1 << 60, 1),
            e if e.starts_with(['e', 'E']) => {
                let exp: i32 = e[1..].parse().ok().filter(|x: &i32| x.abs() <= 18)?;
                if exp >= 0 {
                    (false, 10i128.pow(exp.unsigned_abs()), 1)
                } else {
                    (false, 1, 10i128.pow(exp.unsigned_abs()))
                }
            }
            _ => return None,
        };
        let numerator = mantissa.checked_mul(1000)?.checked_mul(num)?;
        let denominator = 10i128.checked_pow(scale)?.checked_mul(den)?;
        // Rounded up, as Quantity does when it drops precision.
        let milli = numerator.div_euclid(denominator) + i128::from(numerator.rem_euclid(denominator) != 0);
        Some(Self { milli, binary })
    }

    fn add(&mut self, other: &Self) {
        self.milli += other.milli;
    }
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.milli == 0 {
            return write!(f, "0");
        }
        if self.milli % 1000 != 0 {
            return write!(f, "{}m", self.milli);
        }
        let base = self.milli / 1000;
        let suffixes: &[(&str, i128)] = if self.binary {
            &[
                ("Ei", 1 << 60),
                ("Pi", 1 << 50),
                ("Ti", 1 << 40),
                ("Gi", 1 << 30),
                ("Mi", 1 << 20),
                ("Ki", 1 << 10),
            ]
        } else {
            &[
                ("E", 1_000_000_000_000_000_000),
                ("P", 1_000_000_000_000_000),
                ("T", 1_000_000_000_000),
                ("G", 1_000_000_000),
                ("M", 1_000_000),
                ("k", 1000),
            ]
        };
        for (suffix, size) in suffixes {
            if base % size == 0 {
                return write!(f, "{}{suffix}", base / size);
            }
        }
        write!(f, "{base}")
    }
}

/// kubectl's `labels.FormatLabels`: `k=v,k2=v2` sorted, `<none>` when empty.
fn format_labels(v: &Value, pointer: &str) -> String {
    let map = string_map(v, pointer);
    if map.is_empty() {
        return "<none>".into();
    }
    map.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// kubectl's StorageClass describer (its events follow, as kubectl's).
pub fn storage_class(w: &mut Writer, sc: &Value) {
    w.line(0, &format!("Name:\t{}", s(sc, "/metadata/name")));
    let annotations = string_map(sc, "/metadata/annotations");
    let default =
        ["storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"]
            .iter()
            .any(|k| annotations.get(*k).is_some_and(|v| v == "true"));
    w.line(0, &format!("IsDefaultClass:\t{}", if default { "Yes" } else { "No" }));
    w.line(0, &format!("Annotations:\t{}", format_labels(sc, "/metadata/annotations")));
    w.line(0, &format!("Provisioner:\t{}", s(sc, "/provisioner")));
    w.line(0, &format!("Parameters:\t{}", format_labels(sc, "/parameters")));
    let expansion = match sc.get("allowVolumeExpansion").and_then(Value::as_bool) {
        Some(b) => writer::title_bool(b),
        None => "<unset>",
    };
    w.line(0, &format!("AllowVolumeExpansion:\t{expansion}"));
    let options = array(sc, "/mountOptions");
    if options.is_empty() {
        w.line(0, "MountOptions:\t<none>");
    } else {
        w.line(0, "MountOptions:");
        for o in options {
            w.line(1, o.as_str().unwrap_or_default());
        }
    }
    if !s(sc, "/reclaimPolicy").is_empty() {
        w.line(0, &format!("ReclaimPolicy:\t{}", s(sc, "/reclaimPolicy")));
    }
    if !s(sc, "/volumeBindingMode").is_empty() {
        w.line(0, &format!("VolumeBindingMode:\t{}", s(sc, "/volumeBindingMode")));
    }
    if let Some(terms) = sc.get("allowedTopologies").and_then(Value::as_array) {
        w.write(0, "AllowedTopologies:\t");
        if terms.is_empty() {
            w.line(0, "<none>");
        } else {
            w.line(0, "");
            for (i, term) in terms.iter().enumerate() {
                w.write(1, &format!("Term {i}:\t"));
                let reqs = array(term, "/matchLabelExpressions");
                if reqs.is_empty() {
                    w.line(0, "<none>");
                }
                for (j, req) in reqs.iter().enumerate() {
                    if j != 0 {
                        w.write(1, "\t");
                    }
                    let values: Vec<&str> = array(req, "/values").iter().filter_map(Value::as_str).collect();
                    let mut expr = format!("{} in", s(req, "/key"));
                    if !values.is_empty() {
                        expr = format!("{expr} [{}]", values.join(", "));
                    }
                    w.line(0, &expr);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Quantity;

    #[test]
    fn quantities_sum_and_print() {
        let mut q = Quantity::parse("250m").unwrap_or_default();
        q.add(&Quantity::parse("700m").unwrap_or_default());
        assert_eq!(q.to_string(), "950m");
        let mut m = Quantity::parse("576Mi").unwrap_or_default();
        m.add(&Quantity::parse("512Mi").unwrap_or_default());
        assert_eq!(m.to_string(), "1088Mi");
        assert_eq!(Quantity::parse("4").unwrap_or_default().to_string(), "4");
        assert_eq!(Quantity::parse("1Gi").unwrap_or_default().to_string(), "1Gi");
        assert_eq!(Quantity::parse("0.5").unwrap_or_default().to_string(), "500m");
        assert_eq!(Quantity::parse("7680Mi").unwrap_or_default().to_string(), "7680Mi");
        assert_eq!(Quantity::parse("1e3").unwrap_or_default().to_string(), "1k");
    }
}
