//! `cluster-info`, as kubectl prints it: the control plane at the API server URL the executor's
//! client really uses (its kubeconfig's server, or in a pod the in-cluster address from
//! `KUBERNETES_SERVICE_HOST`/`_PORT`), then each `kubernetes.io/cluster-service=true` service of
//! `kube-system` (its load balancer's `http://ip:port ` per port, else its proxy URL under that
//! address), then kubectl's closing hint. Without a known URL (an engine built from a bare
//! client) the control plane line names the `default/kubernetes` service's address instead.

use serde_json::Value;

use super::http::{self, ACCEPT_JSON, Query};
use super::{EngineError, Output};

/// kubectl's last line (after a blank one).
pub const DUMP_HINT: &str =
    "To further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.";

pub(super) async fn run(client: &kube::Client, server_url: Option<&str>) -> Result<Output, EngineError> {
    let (base, mut text) = match server_url {
        Some(url) => (Some(url.to_string()), format!("Kubernetes control plane is running at {url}\n")),
        None => {
            let version = http::get_json(client, "/version", ACCEPT_JSON).await?;
            let git_version = version.get("gitVersion").and_then(Value::as_str).unwrap_or("unknown");
            let service =
                http::get_json(client, "/api/v1/namespaces/default/services/kubernetes", ACCEPT_JSON)
                    .await
                    .ok();
            let base = service.as_ref().and_then(service_url);
            let line = match &base {
                Some(url) => format!(
                    "Kubernetes control plane is running at {url} (in-cluster address of service default/kubernetes, kube-apiserver {git_version})\n"
                ),
                None => format!("Kubernetes control plane is running (kube-apiserver {git_version})\n"),
            };
            (base, line)
        }
    };
    let mut rows = 1;
    let mut query = Query::default();
    query.push("labelSelector", "kubernetes.io/cluster-service=true");
    // kube-system may be unreadable for the executor's identity; the control plane line stands.
    if let Ok(list) =
        http::get_json(client, &query.on("/api/v1/namespaces/kube-system/services"), ACCEPT_JSON).await
    {
        for svc in list.get("items").and_then(Value::as_array).into_iter().flatten() {
            text.push_str(&service_line(svc, base.as_deref()));
            rows += 1;
        }
    }
    text.push('\n');
    text.push_str(DUMP_HINT);
    text.push('\n');
    Ok(Output { text, kind: Some("ClusterInfo".into()), rows: Some(rows), ..Output::default() })
}

/// One cluster service's line, as kubectl's `printService` writes it.
fn service_line(svc: &Value, base: Option<&str>) -> String {
    let name = svc.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    let display = svc
        .pointer("/metadata/labels/kubernetes.io~1name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .unwrap_or(name);
    let ports = svc.pointer("/spec/ports").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let ingress = svc.pointer("/status/loadBalancer/ingress/0").map(|i| {
        match i.get("ip").and_then(Value::as_str).filter(|ip| !ip.is_empty()) {
            Some(ip) => ip,
            None => i.get("hostname").and_then(Value::as_str).unwrap_or_default(),
        }
    });
    let link = match (ingress, base) {
        (Some(ip), _) => ports
            .iter()
            .map(|p| format!("http://{ip}:{} ", p.get("port").and_then(Value::as_i64).unwrap_or_default()))
            .collect::<String>(),
        (None, Some(url)) => {
            let target = match ports.first() {
                Some(port) => {
                    let port_name = port.get("name").and_then(Value::as_str).unwrap_or_default();
                    let https = port_name == "https" || port.get("port").and_then(Value::as_i64) == Some(443);
                    match (https, port_name.is_empty()) {
                        (true, _) => format!("https:{name}:{port_name}"),
                        (false, false) => format!("{name}:{port_name}"),
                        (false, true) => name.to_string(),
                    }
                }
                None => name.to_string(),
            };
            format!("{url}/api/v1/namespaces/kube-system/services/{target}/proxy")
        }
        (None, None) => format!("service kube-system/{name}"),
    };
    format!("{display} is running at {link}\n")
}

/// `https://10.96.0.1:443` from the `kubernetes` service.
fn service_url(service: &Value) -> Option<String> {
    let ip = service
        .pointer("/spec/clusterIP")
        .and_then(Value::as_str)
        .filter(|ip| !ip.is_empty() && *ip != "None")?;
    let port = service.pointer("/spec/ports/0/port").and_then(Value::as_i64).unwrap_or(443);
    let host = if ip.contains(':') { format!("[{ip}]") } else { ip.to_string() };
    Some(format!("https://{host}:{port}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn cluster_services_link_as_kubectl_links_them() {
        let base = Some("https://10.0.0.1:6443");
        let dns = json!({"metadata": {"name": "kube-dns", "labels": {"kubernetes.io/name": "CoreDNS"}},
            "spec": {"ports": [{"name": "dns", "port": 53}, {"name": "dns-tcp", "port": 53}]}});
        assert_eq!(
            service_line(&dns, base),
            "CoreDNS is running at https://10.0.0.1:6443/api/v1/namespaces/kube-system/services/kube-dns:dns/proxy\n"
        );
        let metrics = json!({"metadata": {"name": "metrics-server"}, "spec": {"ports": [{"port": 443}]}});
        assert_eq!(
            service_line(&metrics, base),
            "metrics-server is running at https://10.0.0.1:6443/api/v1/namespaces/kube-system/services/https:metrics-server:/proxy\n"
        );
        let lb = json!({"metadata": {"name": "ui"}, "spec": {"ports": [{"port": 80}, {"port": 8080}]},
            "status": {"loadBalancer": {"ingress": [{"hostname": "ui.example"}]}}});
        assert_eq!(
            service_line(&lb, base),
            "ui is running at http://ui.example:80 http://ui.example:8080 \n"
        );
    }
}
