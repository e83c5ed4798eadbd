//! `cluster-info`: kubectl prints the client's configured server URL and the
//! `kubernetes.io/cluster-service=true` services in `kube-system`. The executor's client does not
//! expose its URL, so the control plane line names the in-cluster address of the
//! `default/kubernetes` service (what pods, the executor among them, connect to) and the server
//! version; the cluster services follow as kubectl lists them, as proxy URLs under that address.
//! `cluster-info dump` is not offered (it is refused by the policy), so kubectl's hint to use it
//! is left out.

use serde_json::Value;

use super::http::{self, ACCEPT_JSON, Query};
use super::{EngineError, Output};

pub(super) async fn run(client: &kube::Client) -> Result<Output, EngineError> {
    let version = http::get_json(client, "/version", ACCEPT_JSON).await?;
    let git_version = version.get("gitVersion").and_then(Value::as_str).unwrap_or("unknown");
    let service =
        http::get_json(client, "/api/v1/namespaces/default/services/kubernetes", ACCEPT_JSON).await.ok();
    let base = service.as_ref().and_then(service_url);
    let mut text = match &base {
        Some(url) => format!(
            "Kubernetes control plane is running at {url} (in-cluster address of service default/kubernetes, kube-apiserver {git_version})\n"
        ),
        None => format!("Kubernetes control plane is running (kube-apiserver {git_version})\n"),
    };
    let mut rows = 1;
    let mut query = Query::default();
    query.push("labelSelector", "kubernetes.io/cluster-service=true");
    // kube-system may be unreadable for the executor's identity; the control plane line stands.
    if let Ok(list) =
        http::get_json(client, &query.on("/api/v1/namespaces/kube-system/services"), ACCEPT_JSON).await
    {
        for svc in list.get("items").and_then(Value::as_array).into_iter().flatten() {
            let name = svc.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
            let display =
                svc.pointer("/metadata/labels/kubernetes.io~1name").and_then(Value::as_str).unwrap_or(name);
            let ingress = svc
                .pointer("/status/loadBalancer/ingress/0")
                .and_then(|i| i.get("ip").or_else(|| i.get("hostname")))
                .and_then(Value::as_str);
            let link = match (ingress, &base) {
                (Some(ip), _) => {
                    let port = svc.pointer("/spec/ports/0/port").and_then(Value::as_i64).unwrap_or(80);
                    format!("http://{ip}:{port}")
                }
                (None, Some(url)) => {
                    let port_name =
                        svc.pointer("/spec/ports/0/name").and_then(Value::as_str).unwrap_or_default();
                    let target =
                        if port_name.is_empty() { name.to_string() } else { format!("{name}:{port_name}") };
                    format!("{url}/api/v1/namespaces/kube-system/services/{target}/proxy")
                }
                (None, None) => format!("service kube-system/{name}"),
            };
            text.push_str(&format!("{display} is running at {link}\n"));
            rows += 1;
        }
    }
    Ok(Output { text, kind: Some("ClusterInfo".into()), rows: Some(rows), ..Output::default() })
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
