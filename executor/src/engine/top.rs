//! `top pods` / `top nodes` through `metrics.k8s.io/v1beta1`, when discovery says the server
//! serves it (metrics-server installed); otherwise kubectl's `error: Metrics API not available`
//! with a hint.

use kubently_shared::policy::{NamespaceScope, TopKind, TopRequest};
use serde_json::Value;

use super::context::Context;
use super::discovery::ApiResourceInfo;
use super::http::{self, ACCEPT_JSON, Query};
use super::quantity::parse as quantity;
use super::tabwriter;
use super::{EngineError, Output};

const METRICS_GROUP: &str = "metrics.k8s.io";

/// A row: namespace, pod (for `--containers`), name, CPU millicores, memory bytes, and for nodes
/// the percentages of allocatable.
#[derive(Debug, Clone, Default)]
struct Usage {
    namespace: String,
    pod: String,
    name: String,
    cpu_milli: i64,
    memory: i64,
    cpu_percent: Option<i64>,
    memory_percent: Option<i64>,
}

pub(super) async fn run(ctx: &Context<'_>, req: &TopRequest) -> Result<Output, EngineError> {
    let plural = match req.kind {
        TopKind::Pods => "pods",
        TopKind::Nodes => "nodes",
    };
    let resource = ctx.resolver.find(|r| r.group == METRICS_GROUP && r.plural == plural).await?;
    let Some(resource) = resource else {
        return Err(EngineError::Invalid(
            "Metrics API not available\n(the API server does not serve metrics.k8s.io: metrics-server is not installed in this cluster, so CPU and memory usage cannot be shown; `describe node` shows requests and limits instead)".into(),
        ));
    };
    if let Some(sort) = req.sort_by.as_deref()
        && !matches!(sort, "cpu" | "memory")
    {
        return Err(EngineError::Invalid("--sort-by accepts only cpu or memory".into()));
    }
    let mut rows = match req.kind {
        TopKind::Pods => pods(ctx, &resource, req).await?,
        TopKind::Nodes => nodes(ctx, &resource, req).await?,
    };
    match req.sort_by.as_deref() {
        Some("cpu") => rows.sort_by_key(|r| std::cmp::Reverse(r.cpu_milli)),
        Some("memory") => rows.sort_by_key(|r| std::cmp::Reverse(r.memory)),
        _ => {}
    }
    let text = render(&rows, req);
    let count = rows.len() as u64;
    Ok(Output {
        text,
        kind: Some(if req.kind == TopKind::Pods { "PodMetrics" } else { "NodeMetrics" }.into()),
        rows: Some(count),
        ..Output::default()
    })
}

/// kubectl's `top` table.
fn render(rows: &[Usage], req: &TopRequest) -> String {
    let all = req.namespace == NamespaceScope::All && req.kind == TopKind::Pods;
    let mut lines = Vec::with_capacity(rows.len() + 1);
    if !req.no_headers {
        let mut header: Vec<&str> = Vec::new();
        if all {
            header.push("NAMESPACE");
        }
        match req.kind {
            TopKind::Pods if req.containers => header.extend(["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]),
            TopKind::Pods => header.extend(["NAME", "CPU(cores)", "MEMORY(bytes)"]),
            TopKind::Nodes => header.extend(["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]),
        }
        lines.push(header.into_iter().map(str::to_string).collect());
    }
    for r in rows {
        let mut line = Vec::new();
        if all {
            line.push(r.namespace.clone());
        }
        if req.containers && req.kind == TopKind::Pods {
            line.push(r.pod.clone());
        }
        line.push(r.name.clone());
        line.push(format!("{}m", r.cpu_milli));
        if req.kind == TopKind::Nodes {
            line.push(r.cpu_percent.map(|p| format!("{p}%")).unwrap_or_else(|| "<unknown>".into()));
        }
        line.push(format!("{}Mi", r.memory / (1024 * 1024)));
        if req.kind == TopKind::Nodes {
            line.push(r.memory_percent.map(|p| format!("{p}%")).unwrap_or_else(|| "<unknown>".into()));
        }
        lines.push(line);
    }
    tabwriter::align(&lines)
}

async fn read(
    client: &kube::Client,
    resource: &ApiResourceInfo,
    namespace: Option<&str>,
    name: Option<&str>,
    selector: Option<&str>,
) -> Result<Vec<Value>, EngineError> {
    match name {
        Some(name) => Ok(vec![
            http::get_json(client, &http::object_path(resource, namespace, name)?, ACCEPT_JSON).await?,
        ]),
        None => {
            let mut q = Query::default();
            q.push_opt("labelSelector", selector);
            let mut list =
                http::get_json(client, &q.on(&http::collection_path(resource, namespace)?), ACCEPT_JSON)
                    .await?;
            match list.get_mut("items").map(Value::take) {
                Some(Value::Array(items)) => Ok(items),
                _ => Ok(Vec::new()),
            }
        }
    }
}

async fn pods(
    ctx: &Context<'_>,
    resource: &ApiResourceInfo,
    req: &TopRequest,
) -> Result<Vec<Usage>, EngineError> {
    let namespace = ctx.namespaces(&req.namespace);
    let items =
        read(ctx.client, resource, namespace.as_deref(), req.name.as_deref(), req.label_selector.as_deref())
            .await?;
    if items.is_empty() {
        return Err(EngineError::Invalid(match &namespace {
            Some(ns) => format!("metrics not available yet (no pod metrics in namespace {ns})"),
            None => "metrics not available yet".into(),
        }));
    }
    let mut rows = Vec::new();
    for item in &items {
        let pod = text(item, "/metadata/name");
        let ns = text(item, "/metadata/namespace");
        let mut total = Usage { namespace: ns.clone(), name: pod.clone(), ..Usage::default() };
        for c in item.get("containers").and_then(Value::as_array).into_iter().flatten() {
            let cpu = c
                .pointer("/usage/cpu")
                .and_then(Value::as_str)
                .and_then(quantity)
                .map(|v| (v * 1000.0).ceil() as i64)
                .unwrap_or(0);
            let memory = c
                .pointer("/usage/memory")
                .and_then(Value::as_str)
                .and_then(quantity)
                .map(|v| v as i64)
                .unwrap_or(0);
            if req.containers {
                rows.push(Usage {
                    namespace: ns.clone(),
                    pod: pod.clone(),
                    name: text(c, "/name"),
                    cpu_milli: cpu,
                    memory,
                    ..Usage::default()
                });
            }
            total.cpu_milli += cpu;
            total.memory += memory;
        }
        if !req.containers {
            rows.push(total);
        }
    }
    Ok(rows)
}

async fn nodes(
    ctx: &Context<'_>,
    resource: &ApiResourceInfo,
    req: &TopRequest,
) -> Result<Vec<Usage>, EngineError> {
    let items = read(ctx.client, resource, None, req.name.as_deref(), req.label_selector.as_deref()).await?;
    if items.is_empty() {
        return Err(EngineError::Invalid("metrics not available yet".into()));
    }
    let node_resource = ctx.resolver.resolve("nodes").await?;
    let nodes = read(ctx.client, &node_resource, None, req.name.as_deref(), req.label_selector.as_deref())
        .await
        .unwrap_or_default();
    let allocatable = |name: &str, what: &str| -> Option<f64> {
        nodes
            .iter()
            .find(|n| text(n, "/metadata/name") == name)
            .and_then(|n| n.pointer(&format!("/status/allocatable/{what}")))
            .and_then(Value::as_str)
            .and_then(quantity)
    };
    let mut rows = Vec::new();
    for item in &items {
        let name = text(item, "/metadata/name");
        let cpu = item.pointer("/usage/cpu").and_then(Value::as_str).and_then(quantity).unwrap_or(0.0);
        let memory = item.pointer("/usage/memory").and_then(Value::as_str).and_then(quantity).unwrap_or(0.0);
        let cpu_percent = allocatable(&name, "cpu").filter(|a| *a > 0.0).map(|a| (cpu / a * 100.0) as i64);
        let memory_percent =
            allocatable(&name, "memory").filter(|a| *a > 0.0).map(|a| (memory / a * 100.0) as i64);
        rows.push(Usage {
            name,
            cpu_milli: (cpu * 1000.0).ceil() as i64,
            memory: memory as i64,
            cpu_percent,
            memory_percent,
            ..Usage::default()
        });
    }
    Ok(rows)
}

fn text(v: &Value, pointer: &str) -> String {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_kubectl() {
        let req = TopRequest {
            kind: TopKind::Pods,
            name: None,
            namespace: NamespaceScope::All,
            label_selector: None,
            containers: false,
            sort_by: None,
            no_headers: false,
        };
        let rows = vec![Usage {
            namespace: "demo".into(),
            name: "web-1".into(),
            cpu_milli: 3,
            memory: 7 * 1024 * 1024 + 5,
            ..Usage::default()
        }];
        assert_eq!(
            render(&rows, &req),
            "NAMESPACE   NAME    CPU(cores)   MEMORY(bytes)\ndemo        web-1   3m           7Mi\n"
        );
        let req = TopRequest { kind: TopKind::Nodes, namespace: NamespaceScope::Default, ..req };
        let rows = vec![Usage {
            name: "n1".into(),
            cpu_milli: 250,
            memory: 1024 * 1024 * 1024,
            cpu_percent: Some(6),
            memory_percent: Some(12),
            ..Usage::default()
        }];
        assert_eq!(
            render(&rows, &req),
            "NAME   CPU(cores)   CPU(%)   MEMORY(bytes)   MEMORY(%)\nn1     250m         6%       1024Mi          12%\n"
        );
    }
}
