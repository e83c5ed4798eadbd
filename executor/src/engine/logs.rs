//! `logs` through the API server's `pods/log` subresource: one pod (`x`, `pod/x`), a workload's
//! first pod (`deploy/x`, `sts/x`, `ds/x`, `job/x`, `rs/x`, `rc/x`, `svc/x`, chosen as kubectl's
//! `GetFirstPod` does), or every pod matching `-l`; one container, or `--all-containers`. Lines
//! are prefixed `[pod/<pod>/<container>]` when several sources are read (or with `--prefix`).
//! `-f` follows until shortly before the command's deadline and returns what arrived (as an
//! interrupted `kubectl logs -f` would have shown).

use std::cmp::Ordering;
use std::time::{Duration, Instant};

use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use kubently_shared::policy::{LogTarget, LogsRequest, ResourceRef};
use serde_json::Value;

use super::context::Context;
use super::http::{self, ACCEPT_JSON};
use super::{EngineError, Output};

/// Stop following this long before the deadline, so the output makes it back in time.
const FOLLOW_MARGIN: Duration = Duration::from_millis(300);
/// kubectl's default `--max-log-requests` for `-l`.
const MAX_LOG_REQUESTS: usize = 5;
/// Log reads in flight at once without `-f`.
const READ_CONCURRENCY: usize = 4;

/// One stream to read: a pod and (optionally) a container.
#[derive(Debug, Clone)]
struct Source {
    pod: String,
    container: Option<String>,
}

pub(super) async fn run(ctx: &Context<'_>, req: &LogsRequest) -> Result<Output, EngineError> {
    // Logs are read from pods, whatever the target names.
    ctx.resolver.check("pods", "")?;
    let namespace = ctx.namespace(&req.namespace);
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
    let mut notices = Vec::new();
    let pods: Vec<Pod> = match &req.target {
        LogTarget::Object(r) => vec![target_pod(ctx, &api, r, &namespace, &mut notices).await?],
        LogTarget::Selector(selector) => {
            let mut pods = api.list(&ListParams::default().labels(selector)).await?.items;
            if pods.is_empty() {
                return Ok(Output {
                    text: format!("No resources found in {namespace} namespace.\n"),
                    kind: Some("Log".into()),
                    rows: Some(0),
                    ..Output::default()
                });
            }
            if pods.len() > MAX_LOG_REQUESTS && req.follow {
                return Err(EngineError::Invalid(format!(
                    "you are attempting to follow {} log streams, but maximum allowed concurrency is {MAX_LOG_REQUESTS}, use --max-log-requests to increase the limit",
                    pods.len()
                )));
            }
            pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
            pods
        }
    };
    let mut sources = Vec::new();
    for pod in &pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        if req.all_containers {
            let spec = pod.spec.as_ref();
            let init =
                spec.and_then(|s| s.init_containers.as_ref()).into_iter().flatten().map(|c| c.name.clone());
            let main = spec
                .map(|s| s.containers.iter().map(|c| c.name.clone()).collect::<Vec<_>>())
                .unwrap_or_default();
            let eph = spec
                .and_then(|s| s.ephemeral_containers.as_ref())
                .into_iter()
                .flatten()
                .map(|c| c.name.clone());
            for c in init.chain(main).chain(eph) {
                sources.push(Source { pod: name.clone(), container: Some(c) });
            }
        } else {
            sources.push(Source {
                pod: name,
                container: req.container.clone().or_else(|| default_container(pod)),
            });
        }
    }
    let prefix = req.prefix || sources.len() > 1;
    let params = LogParams {
        container: None,
        follow: req.follow,
        limit_bytes: req.limit_bytes,
        previous: req.previous,
        since_seconds: req.since_seconds,
        since_time: req.since_time.as_deref().map(parse_time).transpose()?,
        tail_lines: req.tail_lines.filter(|t| *t >= 0),
        timestamps: req.timestamps,
        ..LogParams::default()
    };
    let mut reads = Vec::with_capacity(sources.len());
    for source in &sources {
        reads.push(read_source(&api, source, &params, ctx.opts.deadline, req.follow));
    }
    // Followed streams run side by side until the deadline; plain reads a few at a time, in order.
    let results: Vec<Result<String, EngineError>> = if req.follow {
        futures::future::join_all(reads).await
    } else {
        futures::stream::iter(reads).buffered(READ_CONCURRENCY).collect().await
    };
    let mut text = String::new();
    let mut errors = Vec::new();
    for (source, result) in sources.iter().zip(results) {
        match result {
            Ok(body) if prefix => {
                let tag =
                    format!("[pod/{}/{}] ", source.pod, source.container.as_deref().unwrap_or_default());
                for line in body.lines() {
                    text.push_str(&tag);
                    text.push_str(line);
                    text.push('\n');
                }
            }
            Ok(body) => text.push_str(&body),
            Err(e) if sources.len() == 1 => return Err(e),
            Err(e) => errors.push(e),
        }
    }
    if req.compact {
        text = super::compact::compact(&text);
    }
    let rows = text.lines().count() as u64;
    let output = Output { text, kind: Some("Log".into()), rows: Some(rows), notices };
    if errors.is_empty() { Ok(output) } else { Err(EngineError::Partial { output, errors }) }
}

/// The container read when none is named: the `kubectl.kubernetes.io/default-container`
/// annotation's, else the only one. With several and no annotation the API server's own error
/// (`a container name must be specified for pod x, choose one of: [a b]`) comes back.
fn default_container(pod: &Pod) -> Option<String> {
    let containers = &pod.spec.as_ref()?.containers;
    let annotated =
        pod.metadata.annotations.as_ref().and_then(|a| a.get("kubectl.kubernetes.io/default-container"));
    if let Some(name) = annotated.filter(|n| containers.iter().any(|c| &c.name == *n)) {
        return Some(name.clone());
    }
    match containers.as_slice() {
        [only] => Some(only.name.clone()),
        _ => None,
    }
}

/// The pod a `NAME` or `TYPE/NAME` target reads from.
async fn target_pod(
    ctx: &Context<'_>,
    api: &Api<Pod>,
    target: &ResourceRef,
    namespace: &str,
    notices: &mut Vec<String>,
) -> Result<Pod, EngineError> {
    let [name] = target.names.as_slice() else {
        return Err(EngineError::Invalid("logs takes exactly one pod (NAME or TYPE/NAME)".into()));
    };
    let resource = if matches!(target.resource.as_str(), "pods" | "pod" | "po") {
        None
    } else {
        Some(ctx.resolver.resolve(&target.resource).await?)
    };
    let resource = match resource {
        Some(r) if !(r.group.is_empty() && r.plural == "pods") => r,
        _ => return Ok(api.get(name).await?),
    };
    let object =
        http::get_json(ctx.client, &http::object_path(&resource, Some(namespace), name)?, ACCEPT_JSON)
            .await?;
    let selector = workload_selector(&resource.kind, &object)?;
    let mut pods = api.list(&ListParams::default().labels(&selector)).await?.items;
    if pods.is_empty() {
        return Err(EngineError::Invalid(format!(
            "timed out waiting for the condition (no pods match the selector {selector} of {}/{name})",
            resource.kind_prefix()
        )));
    }
    pods.sort_by(by_logging);
    let count = pods.len();
    let pod = pods.swap_remove(0);
    if count > 1 {
        // kubectl writes this to stderr: a notice, not a line of the log.
        notices.push(format!(
            "Found {count} pods, using pod/{}",
            pod.metadata.name.as_deref().unwrap_or_default()
        ));
    }
    Ok(pod)
}

/// The label selector of a pod-owning object, as a selector string.
fn workload_selector(kind: &str, object: &Value) -> Result<String, EngineError> {
    let selector = object.pointer("/spec/selector");
    let text = match (kind, selector) {
        ("ReplicationController" | "Service", Some(Value::Object(map))) => map
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(","),
        (_, Some(sel @ Value::Object(_))) => label_selector_string(sel),
        _ => String::new(),
    };
    if text.is_empty() {
        return Err(EngineError::Invalid(format!("cannot get the logs from {kind}: it has no pod selector")));
    }
    Ok(text)
}

/// A `metav1.LabelSelector` as the string form the API accepts.
pub(super) fn label_selector_string(sel: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(labels) = sel.get("matchLabels").and_then(Value::as_object) {
        parts.extend(labels.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())));
    }
    for expr in sel.get("matchExpressions").and_then(Value::as_array).into_iter().flatten() {
        let key = expr.get("key").and_then(Value::as_str).unwrap_or_default();
        let values: Vec<&str> = expr
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        match expr.get("operator").and_then(Value::as_str).unwrap_or_default() {
            "In" => parts.push(format!("{key} in ({})", values.join(","))),
            "NotIn" => parts.push(format!("{key} notin ({})", values.join(","))),
            "Exists" => parts.push(key.to_string()),
            "DoesNotExist" => parts.push(format!("!{key}")),
            _ => {}
        }
    }
    parts.join(",")
}

/// kubectl's `podutils.ByLogging` (the pod `kubectl logs deploy/x` reads): assigned to a node
/// first; then by phase, Running before Unknown before Pending (any other phase ranks with
/// Running, as a missing key of kubectl's phase map reads 0); ready before not ready; of two ready
/// pods the one ready longer (no ready time last); more container restarts first; older first
/// (no creation time last). Ties keep the list's (name) order, as kubectl's insertion sort does
/// for the few pods of a workload.
fn by_logging(a: &Pod, b: &Pod) -> Ordering {
    let assigned =
        |p: &Pod| p.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or_default().to_string();
    let phase = |p: &Pod| match p.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Unknown") => 1,
        Some("Pending") => 2,
        _ => 0,
    };
    let ready_since = |p: &Pod| {
        p.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .find(|c| c.type_ == "Ready" && c.status == "True")
            .map(|c| c.last_transition_time.as_ref().map(|t| t.0))
    };
    let restarts = |p: &Pod| {
        p.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .into_iter()
            .flatten()
            .map(|c| c.restart_count)
            .max()
            .unwrap_or(0)
            .max(0)
    };
    let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
    // Earlier first, a missing time last (kubectl's `afterOrZero`).
    fn earlier_first<T: Ord>(x: Option<T>, y: Option<T>) -> Ordering {
        match (x, y) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }
    let (node_a, node_b) = (assigned(a), assigned(b));
    let by_node = if node_a != node_b && (node_a.is_empty() || node_b.is_empty()) {
        node_a.is_empty().cmp(&node_b.is_empty())
    } else {
        Ordering::Equal
    };
    let (ready_a, ready_b) = (ready_since(a), ready_since(b));
    by_node
        .then_with(|| phase(a).cmp(&phase(b)))
        .then_with(|| ready_b.is_some().cmp(&ready_a.is_some()))
        .then_with(|| match (ready_a, ready_b) {
            (Some(x), Some(y)) => earlier_first(x, y),
            _ => Ordering::Equal,
        })
        .then_with(|| restarts(b).cmp(&restarts(a)))
        .then_with(|| earlier_first(created(a), created(b)))
}

async fn read_source(
    api: &Api<Pod>,
    source: &Source,
    params: &LogParams,
    deadline: Option<Instant>,
    follow_stream: bool,
) -> Result<String, EngineError> {
    let params = LogParams { container: source.container.clone(), ..params.clone() };
    if follow_stream {
        follow(api, &source.pod, &params, deadline).await
    } else {
        Ok(api.logs(&source.pod, &params).await?)
    }
}

async fn follow(
    api: &Api<Pod>,
    pod: &str,
    params: &LogParams,
    deadline: Option<Instant>,
) -> Result<String, EngineError> {
    let stop = deadline.map(|d| d.checked_sub(FOLLOW_MARGIN).unwrap_or(d));
    let mut lines = api.log_stream(pod, params).await?.lines();
    let mut text = String::new();
    loop {
        let next = match stop {
            Some(at) => match tokio::time::timeout_at(at.into(), lines.next()).await {
                Ok(line) => line,
                Err(_) => break, // followed until the deadline
            },
            None => lines.next().await,
        };
        match next {
            Some(Ok(line)) => {
                text.push_str(&line);
                text.push('\n');
            }
            Some(Err(e)) => return Err(EngineError::LogStream(e)),
            None => break,
        }
    }
    Ok(text)
}

fn parse_time(value: &str) -> Result<k8s_openapi::jiff::Timestamp, EngineError> {
    value.parse().map_err(|source| EngineError::SinceTime { value: value.to_string(), source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_render_like_the_api_expects() {
        let sel = json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}, {"key": "x", "operator": "DoesNotExist"}]});
        assert_eq!(label_selector_string(&sel), "app=web,tier in (a,b),!x");
        let svc = json!({"spec": {"selector": {"app": "web"}}});
        assert_eq!(workload_selector("Service", &svc).ok().as_deref(), Some("app=web"));
        assert!(workload_selector("Deployment", &json!({})).is_err());
    }

    /// A pod as the API returns it: name, node, phase, ready since (RFC 3339), max restarts,
    /// created.
    fn pod(
        name: &str,
        node: &str,
        phase: &str,
        ready_since: Option<&str>,
        restarts: i32,
        created: &str,
    ) -> Pod {
        let mut conditions = vec![];
        if let Some(at) = ready_since {
            conditions.push(json!({"type": "Ready", "status": "True", "lastTransitionTime": at}));
        } else {
            conditions.push(json!({"type": "Ready", "status": "False", "lastTransitionTime": created}));
        }
        serde_json::from_value(json!({
            "metadata": {"name": name, "creationTimestamp": created},
            "spec": {"nodeName": node, "containers": [{"name": "c"}]},
            "status": {"phase": phase, "conditions": conditions,
                "containerStatuses": [{"name": "c", "restartCount": restarts, "ready": ready_since.is_some(), "image": "i", "imageID": ""}]}
        }))
        .expect("pod")
    }

    fn pick(mut pods: Vec<Pod>) -> Vec<String> {
        pods.sort_by(by_logging);
        pods.into_iter().map(|p| p.metadata.name.unwrap_or_default()).collect()
    }

    #[test]
    fn logs_read_the_pod_kubectl_picks() {
        let t0 = "2026-01-01T00:00:00Z";
        // Ready beats not ready, whatever the restarts.
        assert_eq!(
            pick(vec![
                pod("a-crashing", "n", "Running", None, 9, t0),
                pod("b-ready", "n", "Running", Some(t0), 0, t0)
            ]),
            ["b-ready", "a-crashing"]
        );
        // Of two ready pods, the one ready longer, even if newer and with fewer restarts.
        assert_eq!(
            pick(vec![
                pod("a", "n", "Running", Some("2026-01-01T00:10:00Z"), 3, t0),
                pod("b", "n", "Running", Some("2026-01-01T00:05:00Z"), 0, "2026-01-01T00:04:00Z"),
            ]),
            ["b", "a"]
        );
        // Both unready: more restarts, then older.
        assert_eq!(
            pick(vec![
                pod("a", "n", "Running", None, 1, t0),
                pod("b", "n", "Running", None, 4, "2026-01-01T00:09:00Z"),
                pod("c", "n", "Running", None, 4, "2026-01-01T00:01:00Z"),
            ]),
            ["c", "b", "a"]
        );
        // Assigned before unassigned; Running (and phases kubectl does not rank, like Succeeded)
        // before Unknown before Pending.
        assert_eq!(
            pick(vec![
                pod("a-unassigned", "", "Pending", None, 0, t0),
                pod("b-pending", "n", "Pending", None, 0, t0),
                pod("c-unknown", "n", "Unknown", None, 0, t0),
                pod("d-succeeded", "n", "Succeeded", None, 0, "2026-01-01T00:02:00Z"),
                pod("e-running", "n", "Running", None, 0, "2026-01-01T00:03:00Z"),
            ]),
            ["d-succeeded", "e-running", "c-unknown", "b-pending", "a-unassigned"]
        );
        // Ties keep the list's order.
        assert_eq!(
            pick(vec![pod("x", "n", "Running", Some(t0), 0, t0), pod("y", "n", "Running", Some(t0), 0, t0)]),
            ["x", "y"]
        );
    }
}
