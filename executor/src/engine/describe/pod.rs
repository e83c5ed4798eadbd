//! kubectl's Pod describer, and the container/volume parts the workload describers share.

use std::collections::HashMap;

use serde_json::Value;

use super::writer::{self, Writer, array, boolean, int, or_none, s, scalar, string_map, title_bool};

pub fn describe(w: &mut Writer, pod: &Value) {
    w.line(0, &format!("Name:\t{}", s(pod, "/metadata/name")));
    w.line(0, &format!("Namespace:\t{}", s(pod, "/metadata/namespace")));
    if pod.pointer("/spec/priority").is_some_and(|p| !p.is_null()) {
        w.line(0, &format!("Priority:\t{}", int(pod, "/spec/priority")));
    }
    if !s(pod, "/spec/priorityClassName").is_empty() {
        w.line(0, &format!("Priority Class Name:\t{}", s(pod, "/spec/priorityClassName")));
    }
    if !s(pod, "/spec/runtimeClassName").is_empty() {
        w.line(0, &format!("Runtime Class Name:\t{}", s(pod, "/spec/runtimeClassName")));
    }
    if !s(pod, "/spec/serviceAccountName").is_empty() {
        w.line(0, &format!("Service Account:\t{}", s(pod, "/spec/serviceAccountName")));
    }
    match s(pod, "/spec/nodeName") {
        "" => w.line(0, "Node:\t<none>"),
        node => w.line(0, &format!("Node:\t{node}/{}", s(pod, "/status/hostIP"))),
    }
    if !s(pod, "/status/startTime").is_empty() {
        w.line(0, &format!("Start Time:\t{}", writer::rfc1123z(s(pod, "/status/startTime"))));
    }
    writer::labels_multiline(w, 0, "Labels", &string_map(pod, "/metadata/labels"));
    writer::annotations_multiline(w, 0, "Annotations", &string_map(pod, "/metadata/annotations"));
    let phase = s(pod, "/status/phase");
    if !s(pod, "/metadata/deletionTimestamp").is_empty() && phase != "Failed" && phase != "Succeeded" {
        let since = writer::since(s(pod, "/metadata/deletionTimestamp"), time::OffsetDateTime::now_utc());
        w.line(0, &format!("Status:\tTerminating (lasts {since})"));
        w.line(
            0,
            &format!("Termination Grace Period:\t{}s", int(pod, "/metadata/deletionGracePeriodSeconds")),
        );
    } else {
        w.line(0, &format!("Status:\t{phase}"));
    }
    if !s(pod, "/status/reason").is_empty() {
        w.line(0, &format!("Reason:\t{}", s(pod, "/status/reason")));
    }
    if !s(pod, "/status/message").is_empty() {
        w.line(0, &format!("Message:\t{}", s(pod, "/status/message")));
    }
    if !s(pod, "/spec/securityContext/seccompProfile/type").is_empty() {
        w.line(0, &format!("SeccompProfile:\t{}", s(pod, "/spec/securityContext/seccompProfile/type")));
    }
    w.line(0, &format!("IP:\t{}", s(pod, "/status/podIP")));
    let ips = array(pod, "/status/podIPs");
    if ips.is_empty() {
        w.line(0, "IPs:\t<none>");
    } else {
        w.line(0, "IPs:");
        for ip in ips {
            w.line(1, &format!("IP:\t{}", s(ip, "/ip")));
        }
    }
    if let Some(c) = writer::controller(pod) {
        w.line(0, &format!("Controlled By:\t{c}"));
    }
    if !s(pod, "/status/nominatedNodeName").is_empty() {
        w.line(0, &format!("NominatedNodeName:\t{}", s(pod, "/status/nominatedNodeName")));
    }
    if !array(pod, "/spec/initContainers").is_empty() {
        containers(
            w,
            "Init Containers",
            array(pod, "/spec/initContainers"),
            array(pod, "/status/initContainerStatuses"),
            "",
        );
    }
    containers(w, "Containers", array(pod, "/spec/containers"), array(pod, "/status/containerStatuses"), "");
    let gates = array(pod, "/spec/readinessGates");
    if !gates.is_empty() {
        w.line(0, "Readiness Gates:");
        w.line(1, "Type\tStatus");
        for g in gates {
            let kind = s(g, "/conditionType");
            let status = array(pod, "/status/conditions")
                .iter()
                .find(|c| s(c, "/type") == kind)
                .map(|c| s(c, "/status"))
                .unwrap_or("<none>");
            w.line(1, &format!("{kind} \t{status} "));
        }
    }
    let conditions = array(pod, "/status/conditions");
    if !conditions.is_empty() {
        w.line(0, "Conditions:");
        w.line(1, "Type\tStatus");
        for c in conditions {
            w.line(1, &format!("{} \t{} ", s(c, "/type"), s(c, "/status")));
        }
    }
    volumes(w, array(pod, "/spec/volumes"), "");
    let qos = match s(pod, "/status/qosClass") {
        "" => qos_class(pod),
        q => q.to_string(),
    };
    w.line(0, &format!("QoS Class:\t{qos}"));
    writer::labels_multiline(w, 0, "Node-Selectors", &string_map(pod, "/spec/nodeSelector"));
    writer::tolerations_multiline(w, 0, "Tolerations", array(pod, "/spec/tolerations"));
    let spread = array(pod, "/spec/topologySpreadConstraints");
    if !spread.is_empty() {
        w.write(0, "Topology Spread Constraints:\t");
        for (i, c) in spread.iter().enumerate() {
            if i != 0 {
                w.write(0, "\t");
            }
            w.line(
                0,
                &format!(
                    "{}:{} when max skew {} is exceeded for selector {}",
                    s(c, "/topologyKey"),
                    s(c, "/whenUnsatisfiable"),
                    int(c, "/maxSkew"),
                    selector_text(c.pointer("/labelSelector"))
                ),
            );
        }
    }
}

/// `metav1.FormatLabelSelector` for the common (matchLabels/matchExpressions) shapes.
pub fn selector_text(selector: Option<&Value>) -> String {
    let Some(sel) = selector.filter(|v| !v.is_null()) else { return "<none>".into() };
    let mut parts: Vec<String> =
        string_map(sel, "/matchLabels").into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    for e in array(sel, "/matchExpressions") {
        let values: Vec<String> =
            array(e, "/values").iter().filter_map(Value::as_str).map(str::to_string).collect();
        let key = s(e, "/key");
        parts.push(match s(e, "/operator") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            op => format!("{key} {op} ({})", values.join(",")),
        });
    }
    if parts.is_empty() { "<none>".into() } else { parts.join(",") }
}

/// `qos.GetPodQOS`, for servers that do not report `status.qosClass`.
fn qos_class(pod: &Value) -> String {
    let all: Vec<&Value> =
        array(pod, "/spec/containers").iter().chain(array(pod, "/spec/initContainers")).collect();
    let mut any = false;
    let mut guaranteed = true;
    for c in &all {
        let requests = string_map(c, "/resources/requests");
        let limits = string_map(c, "/resources/limits");
        if !requests.is_empty() || !limits.is_empty() {
            any = true;
        }
        for r in ["cpu", "memory"] {
            match (requests.get(r), limits.get(r)) {
                (_, None) => guaranteed = false,
                (Some(q), Some(l)) if q != l => guaranteed = false,
                _ => {}
            }
        }
    }
    if !any {
        "BestEffort".into()
    } else if guaranteed {
        "Guaranteed".into()
    } else {
        "Burstable".into()
    }
}

/// `describeContainers`; `space` indents (pod templates use two extra spaces).
pub fn containers(w: &mut Writer, label: &str, specs: &[Value], statuses: &[Value], space: &str) {
    let by_name: HashMap<&str, &Value> = statuses.iter().map(|st| (s(st, "/name"), st)).collect();
    let none = if specs.is_empty() { " <none>" } else { "" };
    w.line(0, &format!("{space}{label}:{none}"));
    for c in specs {
        let status = by_name.get(s(c, "/name")).copied();
        let name_indent = if space.is_empty() { "" } else { " " };
        w.line(1, &format!("{name_indent}{}:", s(c, "/name")));
        if let Some(st) = status {
            w.line(2, &format!("Container ID:\t{}", s(st, "/containerID")));
        }
        w.line(2, &format!("Image:\t{}", s(c, "/image")));
        if let Some(st) = status {
            w.line(2, &format!("Image ID:\t{}", s(st, "/imageID")));
        }
        let ports: Vec<String> = array(c, "/ports")
            .iter()
            .map(|p| format!("{}/{}", int(p, "/containerPort"), s(p, "/protocol")))
            .collect();
        let host_ports: Vec<String> = array(c, "/ports")
            .iter()
            .map(|p| format!("{}/{}", int(p, "/hostPort"), s(p, "/protocol")))
            .collect();
        for (single, plural, list) in [("Port", "Ports", ports), ("Host Port", "Host Ports", host_ports)] {
            let text = list.join(", ");
            if text.contains(',') {
                w.line(2, &format!("{plural}:\t{text}"));
            } else {
                w.line(2, &format!("{single}:\t{}", or_none(&text)));
            }
        }
        if !s(c, "/restartPolicy").is_empty() {
            w.line(2, &format!("Restart Policy:\t{}", s(c, "/restartPolicy")));
        }
        for (title, field) in [("Command", "/command"), ("Args", "/args")] {
            let items = array(c, field);
            if !items.is_empty() {
                w.line(2, &format!("{title}:"));
                for item in items {
                    for part in item.as_str().unwrap_or_default().split('\n') {
                        w.line(3, part);
                    }
                }
            }
        }
        if let Some(st) = status {
            state(w, "State", st.pointer("/state"));
            if st.pointer("/lastState/terminated").is_some_and(|t| !t.is_null()) {
                state(w, "Last State", st.pointer("/lastState"));
            }
            w.line(2, &format!("Ready:\t{}", title_bool(boolean(st, "/ready"))));
            w.line(2, &format!("Restart Count:\t{}", int(st, "/restartCount")));
        }
        for (title, field) in [("Limits", "/resources/limits"), ("Requests", "/resources/requests")] {
            let map = string_map(c, field);
            if !map.is_empty() {
                w.line(2, &format!("{title}:"));
            }
            for (k, v) in map {
                w.line(3, &format!("{k}:\t{v}"));
            }
        }
        for (title, field) in
            [("Liveness", "/livenessProbe"), ("Readiness", "/readinessProbe"), ("Startup", "/startupProbe")]
        {
            if let Some(p) = c.pointer(field).filter(|p| !p.is_null()) {
                w.line(2, &format!("{title}:\t{}", probe(p)));
            }
        }
        let env_from = array(c, "/envFrom");
        if !env_from.is_empty() {
            w.line(2, "Environment Variables from:");
            for e in env_from {
                let (from, r) = if e.pointer("/configMapRef").is_some() {
                    ("ConfigMap", "/configMapRef")
                } else {
                    ("Secret", "/secretRef")
                };
                let name = s(e, &format!("{r}/name"));
                let optional = boolean(e, &format!("{r}/optional"));
                match s(e, "/prefix") {
                    "" => w.line(3, &format!("{name}\t{from}\tOptional: {optional}")),
                    prefix => {
                        w.line(3, &format!("{name}\t{from} with prefix '{prefix}'\tOptional: {optional}"))
                    }
                }
            }
        }
        env(w, c);
        let mut mounts: Vec<&Value> = array(c, "/volumeMounts").iter().collect();
        if mounts.is_empty() {
            w.line(2, "Mounts:\t<none>");
        } else {
            w.line(2, "Mounts:");
        }
        mounts.sort_by(|a, b| s(a, "/mountPath").cmp(s(b, "/mountPath")));
        for m in mounts {
            let mut flags = vec![if boolean(m, "/readOnly") { "ro".to_string() } else { "rw".to_string() }];
            if !s(m, "/subPath").is_empty() {
                flags.push(format!("path={:?}", s(m, "/subPath")));
            }
            w.line(3, &format!("{} from {} ({})", s(m, "/mountPath"), s(m, "/name"), flags.join(",")));
        }
        let devices = array(c, "/volumeDevices");
        if !devices.is_empty() {
            w.line(2, "Devices:");
            for d in devices {
                w.line(3, &format!("{} from {}", s(d, "/devicePath"), s(d, "/name")));
            }
        }
    }
}

/// `describeContainerEnvVars`: values from Secrets are shown as references, never read.
fn env(w: &mut Writer, c: &Value) {
    let vars = array(c, "/env");
    if vars.is_empty() {
        w.line(2, "Environment:\t<none>");
        return;
    }
    w.line(2, "Environment:");
    for e in vars {
        let name = s(e, "/name");
        let Some(from) = e.pointer("/valueFrom").filter(|v| !v.is_null()) else {
            for (i, part) in s(e, "/value").split('\n').enumerate() {
                if i == 0 {
                    w.line(3, &format!("{name}:\t{part}"));
                } else {
                    w.line(3, &format!("\t{part}"));
                }
            }
            continue;
        };
        if let Some(f) = from.get("fieldRef") {
            w.line(3, &format!("{name}:\t ({}:{})", s(f, "/apiVersion"), s(f, "/fieldPath")));
        } else if let Some(r) = from.get("resourceFieldRef") {
            w.line(3, &format!("{name}:\t ({})", s(r, "/resource")));
        } else if let Some(r) = from.get("secretKeyRef") {
            w.line(
                3,
                &format!(
                    "{name}:\t<set to the key '{}' in secret '{}'>\tOptional: {}",
                    s(r, "/key"),
                    s(r, "/name"),
                    boolean(r, "/optional")
                ),
            );
        } else if let Some(r) = from.get("configMapKeyRef") {
            w.line(
                3,
                &format!(
                    "{name}:\t<set to the key '{}' of config map '{}'>\tOptional: {}",
                    s(r, "/key"),
                    s(r, "/name"),
                    boolean(r, "/optional")
                ),
            );
        }
    }
}

/// `describeStatus`.
fn state(w: &mut Writer, title: &str, st: Option<&Value>) {
    let get = |k: &str| st.and_then(|v| v.get(k)).filter(|v| !v.is_null());
    if let Some(r) = get("running") {
        w.line(2, &format!("{title}:\tRunning"));
        w.line(3, &format!("Started:\t{}", writer::rfc1123z(s(r, "/startedAt"))));
    } else if let Some(r) = get("waiting") {
        w.line(2, &format!("{title}:\tWaiting"));
        if !s(r, "/reason").is_empty() {
            w.line(3, &format!("Reason:\t{}", s(r, "/reason")));
        }
    } else if let Some(t) = get("terminated") {
        w.line(2, &format!("{title}:\tTerminated"));
        if !s(t, "/reason").is_empty() {
            w.line(3, &format!("Reason:\t{}", s(t, "/reason")));
        }
        if !s(t, "/message").is_empty() {
            w.line(3, &format!("Message:\t{}", s(t, "/message")));
        }
        w.line(3, &format!("Exit Code:\t{}", int(t, "/exitCode")));
        if int(t, "/signal") > 0 {
            w.line(3, &format!("Signal:\t{}", int(t, "/signal")));
        }
        w.line(3, &format!("Started:\t{}", writer::rfc1123z(s(t, "/startedAt"))));
        w.line(3, &format!("Finished:\t{}", writer::rfc1123z(s(t, "/finishedAt"))));
    } else {
        w.line(2, &format!("{title}:\tWaiting"));
    }
}

/// `DescribeProbe`.
fn probe(p: &Value) -> String {
    let attrs = format!(
        "delay={}s timeout={}s period={}s #success={} #failure={}",
        int(p, "/initialDelaySeconds"),
        int(p, "/timeoutSeconds"),
        int(p, "/periodSeconds"),
        int(p, "/successThreshold"),
        int(p, "/failureThreshold")
    );
    if let Some(e) = p.get("exec") {
        let cmd: Vec<&str> = array(e, "/command").iter().filter_map(Value::as_str).collect();
        format!("exec [{}] {attrs}", cmd.join(" "))
    } else if let Some(h) = p.get("httpGet") {
        let port = scalar(h, "/port");
        let host = s(h, "/host");
        let host = if port.is_empty() {
            host.to_string()
        } else if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        format!("http-get {}://{host}{} {attrs}", s(h, "/scheme").to_lowercase(), s(h, "/path"))
    } else if let Some(t) = p.get("tcpSocket") {
        format!("tcp-socket {}:{} {attrs}", s(t, "/host"), scalar(t, "/port"))
    } else if let Some(g) = p.get("grpc") {
        format!("grpc <pod>:{} {} {attrs}", int(g, "/port"), s(g, "/service"))
    } else {
        format!("unknown {attrs}")
    }
}

/// `describeVolumes`.
pub fn volumes(w: &mut Writer, vols: &[Value], space: &str) {
    if vols.is_empty() {
        w.line(0, &format!("{space}Volumes:\t<none>"));
        return;
    }
    w.line(0, &format!("{space}Volumes:"));
    let name_indent = if space.is_empty() { "" } else { " " };
    for v in vols {
        w.line(1, &format!("{name_indent}{}:", s(v, "/name")));
        if let Some(h) = v.get("hostPath") {
            w.line(2, "Type:\tHostPath (bare host directory volume)");
            w.line(2, &format!("Path:\t{}", s(h, "/path")));
            w.line(2, &format!("HostPathType:\t{}", or_none(s(h, "/type"))));
        } else if let Some(e) = v.get("emptyDir") {
            w.line(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)");
            w.line(2, &format!("Medium:\t{}", s(e, "/medium")));
            let limit = scalar(e, "/sizeLimit");
            w.line(
                2,
                &format!(
                    "SizeLimit:\t{}",
                    if limit.is_empty() || limit == "0" { "<unset>".to_string() } else { limit }
                ),
            );
        } else if let Some(c) = v.get("configMap") {
            w.line(2, "Type:\tConfigMap (a volume populated by a ConfigMap)");
            w.line(2, &format!("Name:\t{}", s(c, "/name")));
            w.line(2, &format!("Optional:\t{}", boolean(c, "/optional")));
        } else if let Some(c) = v.get("secret") {
            w.line(2, "Type:\tSecret (a volume populated by a Secret)");
            w.line(2, &format!("SecretName:\t{}", s(c, "/secretName")));
            w.line(2, &format!("Optional:\t{}", boolean(c, "/optional")));
        } else if let Some(c) = v.get("persistentVolumeClaim") {
            w.line(
                2,
                "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)",
            );
            w.line(2, &format!("ClaimName:\t{}", s(c, "/claimName")));
            w.line(2, &format!("ReadOnly:\t{}", boolean(c, "/readOnly")));
        } else if let Some(p) = v.get("projected") {
            w.line(2, "Type:\tProjected (a volume that contains injected data from multiple sources)");
            for src in array(p, "/sources") {
                let opt = |k: &str| {
                    src.pointer(k)
                        .and_then(Value::as_bool)
                        .map_or_else(|| "<nil>".to_string(), |b| b.to_string())
                };
                if let Some(sec) = src.get("secret") {
                    w.line(2, &format!("SecretName:\t{}", s(sec, "/name")));
                    w.line(2, &format!("SecretOptionalName:\t{}", opt("/secret/optional")));
                } else if src.get("downwardAPI").is_some() {
                    w.line(2, "DownwardAPI:\ttrue");
                } else if let Some(cm) = src.get("configMap") {
                    w.line(2, &format!("ConfigMapName:\t{}", s(cm, "/name")));
                    w.line(2, &format!("ConfigMapOptional:\t{}", opt("/configMap/optional")));
                } else if let Some(t) = src.get("serviceAccountToken") {
                    w.line(2, &format!("TokenExpirationSeconds:\t{}", int(t, "/expirationSeconds")));
                }
            }
        } else if v.get("downwardAPI").is_some() {
            w.line(2, "Type:\tDownwardAPI (a volume populated by information about the pod)");
        } else {
            w.line(1, "<unknown>");
        }
    }
}

/// `DescribePodTemplate` (Deployments, ReplicaSets, Jobs, …).
pub fn template(w: &mut Writer, template: Option<&Value>) {
    w.line(0, "Pod Template:");
    let Some(t) = template.filter(|t| !t.is_null()) else {
        w.line(1, "<unset>");
        return;
    };
    let space = "  ";
    writer::labels_multiline(w, 1, "Labels", &string_map(t, "/metadata/labels"));
    let annotations = string_map(t, "/metadata/annotations");
    if !annotations.is_empty() {
        writer::annotations_multiline(w, 1, "Annotations", &annotations);
    }
    if !s(t, "/spec/serviceAccountName").is_empty() {
        w.line(1, &format!("Service Account:\t{}", s(t, "/spec/serviceAccountName")));
    }
    if !array(t, "/spec/initContainers").is_empty() {
        containers(w, "Init Containers", array(t, "/spec/initContainers"), &[], space);
    }
    containers(w, "Containers", array(t, "/spec/containers"), &[], space);
    volumes(w, array(t, "/spec/volumes"), space);
    if !s(t, "/spec/priorityClassName").is_empty() {
        w.line(1, &format!("Priority Class Name:\t{}", s(t, "/spec/priorityClassName")));
    }
    writer::labels_multiline(w, 1, "Node-Selectors", &string_map(t, "/spec/nodeSelector"));
    writer::tolerations_multiline(w, 1, "Tolerations", array(t, "/spec/tolerations"));
}
