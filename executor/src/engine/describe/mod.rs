//! `kubectl describe`: targets resolved through discovery (and checked against the executor's
//! policy), objects read by name (falling back to kubectl's name-prefix match), by `-l`, or all in
//! the namespace, and rendered with kubectl's describers: dedicated ones for the common kinds and
//! kubectl's generic describer for everything else. Objects are cleaned (managedFields,
//! last-applied, Secret values) before any describer sees them.

mod generic;
mod kinds;
mod network;
mod pod;
mod rbac;
mod workloads;
mod writer;

use kubently_shared::policy::DescribeRequest;
use serde_json::Value;

use super::context::{Context, Target};
use super::discovery::ApiResourceInfo;
use super::http::{self, ACCEPT_JSON, Query};
use super::objects;
use super::{EngineError, Output};
use writer::{Writer, s};

pub(super) async fn run(ctx: &Context<'_>, req: &DescribeRequest) -> Result<Output, EngineError> {
    if req.targets.is_empty() {
        return Err(EngineError::Invalid("You must specify the type of resource to describe. Use \"kubectl api-resources\" for a complete list of supported resources.".into()));
    }
    let has_names = req.targets.iter().any(|t| !t.names.is_empty());
    if has_names && req.label_selector.is_some() {
        return Err(EngineError::Invalid("name cannot be provided when a selector is specified".into()));
    }
    // A category (`all`, a CRD's own) expands to its members, as in kubectl.
    let targets = ctx.resolver.targets(&req.targets).await?.targets;
    let namespace = ctx.namespaces(&req.namespace);
    let client = ctx.client;
    let now = time::OffsetDateTime::now_utc();
    let mut texts = Vec::new();
    let mut kinds: Vec<String> = Vec::new();
    let mut errors = Vec::new();
    for Target { resource, names } in &targets {
        let found =
            match fetch(client, resource, namespace.as_deref(), names, req.label_selector.as_deref()).await {
                Ok((found, errs)) => {
                    errors.extend(errs);
                    found
                }
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
        if found.is_empty() && names.is_empty() {
            continue;
        }
        if !found.is_empty() && !kinds.contains(&resource.kind) {
            kinds.push(resource.kind.clone());
        }
        for object in found {
            let events = if req.show_events && has_events(resource) {
                Some(events_for(client, resource, &object).await.unwrap_or_default())
            } else {
                None
            };
            texts.push(describe(client, resource, &object, events.as_deref(), now).await?);
        }
    }
    let rows = texts.len() as u64;
    // kubectl separates objects with two blank lines.
    let mut text = texts.join("\n\n\n");
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    if texts.is_empty() && errors.is_empty() {
        // kubectl's note when a list matched nothing.
        text = match namespace.as_deref().filter(|_| targets.iter().all(|t| t.resource.namespaced)) {
            Some(ns) => format!("No resources found in {ns} namespace.\n"),
            None => "No resources found\n".into(),
        };
    }
    let output = Output {
        text,
        kind: (!kinds.is_empty()).then(|| kinds.join(",")),
        rows: Some(rows),
        ..Output::default()
    };
    match errors.len() {
        0 => Ok(output),
        1 if rows == 0 => Err(errors.remove(0)),
        _ => Err(EngineError::Partial { output, errors }),
    }
}

/// Kinds whose kubectl describer prints no Events section.
fn has_events(resource: &ApiResourceInfo) -> bool {
    let core_without =
        resource.group.is_empty() && matches!(resource.kind.as_str(), "Secret" | "Event" | "Namespace");
    let rbac = resource.group == "rbac.authorization.k8s.io";
    let network_policy = resource.group == "networking.k8s.io" && resource.kind == "NetworkPolicy";
    !(core_without || rbac || network_policy)
}

/// The objects to describe, cleaned; per-name errors beside them.
async fn fetch(
    client: &kube::Client,
    resource: &ApiResourceInfo,
    namespace: Option<&str>,
    names: &[String],
    selector: Option<&str>,
) -> Result<(Vec<Value>, Vec<EngineError>), EngineError> {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    if names.is_empty() {
        found = list(client, resource, namespace, selector).await?;
    } else {
        for name in names {
            match get(client, resource, namespace, name).await {
                Ok(object) => found.push(object),
                // kubectl describes every object whose name starts with the one given.
                Err(e) if e.is_not_found() => {
                    let matching: Vec<Value> = list(client, resource, namespace, None)
                        .await?
                        .into_iter()
                        .filter(|o| s(o, "/metadata/name").starts_with(name.as_str()))
                        .collect();
                    if matching.is_empty() {
                        errors.push(e);
                    }
                    found.extend(matching);
                }
                Err(e) => errors.push(e),
            }
        }
    }
    Ok((found, errors))
}

async fn get(
    client: &kube::Client,
    resource: &ApiResourceInfo,
    namespace: Option<&str>,
    name: &str,
) -> Result<Value, EngineError> {
    if resource.namespaced && namespace.is_none() {
        return Err(EngineError::Invalid(
            "a resource cannot be retrieved by name across all namespaces".into(),
        ));
    }
    let object = http::get_json(client, &http::object_path(resource, namespace, name)?, ACCEPT_JSON).await?;
    Ok(clean(resource, object))
}

async fn list(
    client: &kube::Client,
    resource: &ApiResourceInfo,
    namespace: Option<&str>,
    selector: Option<&str>,
) -> Result<Vec<Value>, EngineError> {
    let mut query = Query::default();
    query.push_opt("labelSelector", selector);
    let mut page =
        http::get_json(client, &query.on(&http::collection_path(resource, namespace)?), ACCEPT_JSON).await?;
    let items = match page.get_mut("items").map(Value::take) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    Ok(items.into_iter().map(|o| clean(resource, o)).collect())
}

/// apiVersion/kind filled in (list items lack them), then managedFields, last-applied and Secret
/// values dropped.
fn clean(resource: &ApiResourceInfo, mut object: Value) -> Value {
    if let Some(map) = object.as_object_mut() {
        map.entry("apiVersion").or_insert_with(|| Value::String(resource.api_version()));
        map.entry("kind").or_insert_with(|| Value::String(resource.kind.clone()));
        if resource.group.is_empty() && resource.plural == "secrets" {
            objects::redact_secret(map);
        }
    }
    objects::sanitize(&mut object);
    object
}

/// The object's events, as kubectl's `Events.Search` finds them: by involved object name,
/// namespace and uid (a Node's kubelet events carry the node's name as uid).
async fn events_for(
    client: &kube::Client,
    resource: &ApiResourceInfo,
    object: &Value,
) -> Result<Vec<Value>, EngineError> {
    let name = s(object, "/metadata/name");
    let mut events = search_events(client, object, s(object, "/metadata/uid")).await?;
    if resource.group.is_empty() && resource.kind == "Node" {
        // Controllers use the node's uid, kubelets its name.
        for e in search_events(client, object, name).await? {
            if !events.iter().any(|seen| s(seen, "/metadata/uid") == s(&e, "/metadata/uid")) {
                events.push(e);
            }
        }
    }
    Ok(events)
}

async fn search_events(client: &kube::Client, object: &Value, uid: &str) -> Result<Vec<Value>, EngineError> {
    let name = s(object, "/metadata/name");
    let namespace = s(object, "/metadata/namespace");
    let mut selector = format!("involvedObject.name={name},involvedObject.namespace={namespace}");
    if !uid.is_empty() {
        selector.push_str(&format!(",involvedObject.uid={uid}"));
    }
    let mut query = Query::default();
    query.push("fieldSelector", selector);
    let path = if namespace.is_empty() {
        "/api/v1/events".to_string()
    } else {
        format!("/api/v1/namespaces/{}/events", http::escape(namespace))
    };
    let mut page = http::get_json(client, &query.on(&path), ACCEPT_JSON).await?;
    match page.get_mut("items").map(Value::take) {
        Some(Value::Array(items)) => Ok(items),
        _ => Ok(Vec::new()),
    }
}

/// kubectl's `DescribeEvents`.
fn describe_events(w: &mut Writer, events: &[Value], now: time::OffsetDateTime) {
    if events.is_empty() {
        w.line(0, "Events:\t<none>");
        return;
    }
    let mut sorted: Vec<&Value> = events.iter().collect();
    sorted.sort_by_key(|e| last_seen(e));
    w.line(0, "Events:");
    w.line(1, "Type\tReason\tAge\tFrom\tMessage");
    w.line(1, "----\t------\t----\t----\t-------");
    for e in sorted {
        let mut first = writer::since(s(e, "/eventTime"), now);
        if s(e, "/eventTime").is_empty() {
            first = writer::since(s(e, "/firstTimestamp"), now);
        }
        let count = writer::int(e, "/count");
        let interval = if e.pointer("/series").is_some_and(|v| !v.is_null()) {
            format!(
                "{} (x{} over {first})",
                writer::since(s(e, "/series/lastObservedTime"), now),
                writer::int(e, "/series/count")
            )
        } else if count > 1 {
            format!("{} (x{count} over {first})", writer::since(s(e, "/lastTimestamp"), now))
        } else {
            first
        };
        let mut source = s(e, "/source/component");
        if source.is_empty() {
            source = s(e, "/reportingComponent");
        }
        let message = s(e, "/message").replace('\n', "\\n");
        w.line(
            1,
            &format!("{}\t{}\t{interval}\t{source}\t{}", s(e, "/type"), s(e, "/reason"), message.trim()),
        );
    }
}

/// What kubectl's describe sorts events by (`event.SortableEvents`): `lastTimestamp` alone. An
/// event that has only an `eventTime` (the scheduler's `Scheduled`, anything written through
/// `events.k8s.io`) has a zero `lastTimestamp` and so comes first; the sort keeps the list's
/// order among equal times, as kubectl's does for a describe's few events. RFC 3339 times of one
/// precision order as strings; the empty string first.
fn last_seen(e: &Value) -> &str {
    s(e, "/lastTimestamp")
}

/// One object's text (no trailing newline).
async fn describe(
    client: &kube::Client,
    resource: &ApiResourceInfo,
    object: &Value,
    events: Option<&[Value]>,
    now: time::OffsetDateTime,
) -> Result<String, EngineError> {
    let mut w = Writer::default();
    match (resource.group.as_str(), resource.kind.as_str()) {
        ("", "Pod") => pod::describe(&mut w, object),
        ("", "Secret") => kinds::secret(&mut w, object),
        ("", "ConfigMap") => kinds::config_map(&mut w, object),
        ("", "Service") => {
            let backends = match endpoint_slices(client, object).await {
                Some(slices) => kinds::Backends::Slices(slices),
                None => kinds::Backends::Endpoints(get_endpoints(client, object).await),
            };
            kinds::service(&mut w, object, &backends);
        }
        ("", "Namespace") => {
            let name = s(object, "/metadata/name");
            let quotas = list_core(client, "resourcequotas", name).await;
            let limits = list_core(client, "limitranges", name).await;
            kinds::namespace(&mut w, object, &quotas, &limits);
        }
        ("", "Node") => {
            let name = s(object, "/metadata/name");
            let lease_path = format!(
                "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{}",
                http::escape(name)
            );
            // As kubectl: the Lease, or why it could not be read (client-go's error text: a
            // Status failure's message, e.g. `leases.coordination.k8s.io "n1" not found`).
            let lease = http::get_json(client, &lease_path, ACCEPT_JSON).await.map_err(|e| match e {
                EngineError::Api { message, .. } => message,
                other => other.to_string(),
            });
            let pods = node_pods(client, name).await;
            kinds::node(&mut w, object, lease.as_ref().map_err(String::as_str), &pods, now);
        }
        ("apps", "Deployment") => {
            let replica_sets = owned_replica_sets(client, object).await;
            kinds::deployment(&mut w, object, &replica_sets);
        }
        ("apps", "ReplicaSet") => {
            workloads::replica_set(&mut w, object, controlled_pods(client, object).await)
        }
        ("apps", "StatefulSet") => {
            workloads::stateful_set(&mut w, object, controlled_pods(client, object).await)
        }
        ("apps", "DaemonSet") => workloads::daemon_set(&mut w, object, controlled_pods(client, object).await),
        ("batch", "Job") => workloads::job(&mut w, object),
        ("batch", "CronJob") => workloads::cron_job(&mut w, object),
        ("", "PersistentVolumeClaim") => {
            let claim = s(object, "/metadata/name");
            let used_by: Vec<String> = list_core(client, "pods", s(object, "/metadata/namespace"))
                .await
                .iter()
                .filter(|p| {
                    writer::array(p, "/spec/volumes")
                        .iter()
                        .any(|v| s(v, "/persistentVolumeClaim/claimName") == claim)
                })
                .map(|p| s(p, "/metadata/name").to_string())
                .collect();
            workloads::pvc(&mut w, object, &used_by);
        }
        ("networking.k8s.io" | "extensions", "Ingress") => {
            let namespace = s(object, "/metadata/namespace");
            let mut backends = network::Backends::new();
            for name in network::ingress_services(object) {
                let svc = http::get_json(
                    client,
                    &format!(
                        "/api/v1/namespaces/{}/services/{}",
                        http::escape(namespace),
                        http::escape(&name)
                    ),
                    ACCEPT_JSON,
                )
                .await
                .ok();
                let ep = http::get_json(
                    client,
                    &format!(
                        "/api/v1/namespaces/{}/endpoints/{}",
                        http::escape(namespace),
                        http::escape(&name)
                    ),
                    ACCEPT_JSON,
                )
                .await
                .ok();
                backends.insert(name, (svc, ep));
            }
            network::ingress(&mut w, object, &backends);
        }
        ("autoscaling", "HorizontalPodAutoscaler") => network::hpa(&mut w, object),
        ("", "ServiceAccount") => workloads::service_account(&mut w, object),
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole") => rbac::role(&mut w, object),
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => rbac::binding(&mut w, object),
        ("storage.k8s.io", "StorageClass") => kinds::storage_class(&mut w, object),
        ("networking.k8s.io", "NetworkPolicy") => network::network_policy(&mut w, object),
        ("policy", "PodDisruptionBudget") => workloads::pod_disruption_budget(&mut w, object),
        ("", "PersistentVolume") => {
            if workloads::persistent_volume(&mut w, object).is_none() {
                w = Writer::default();
                generic::describe(&mut w, object);
            }
        }
        _ => generic::describe(&mut w, object),
    }
    if let Some(events) = events {
        describe_events(&mut w, events, now);
    }
    let text = w.finish();
    Ok(text.trim_end_matches('\n').to_string())
}

/// The Service's EndpointSlices (`kubernetes.io/service-name=<name>`), or `None` when the server
/// does not serve `discovery.k8s.io/v1` (then the Endpoints object is read, as older kubectl did).
async fn endpoint_slices(client: &kube::Client, service: &Value) -> Option<Vec<Value>> {
    let mut query = Query::default();
    query.push("labelSelector", format!("kubernetes.io/service-name={}", s(service, "/metadata/name")));
    let path = format!(
        "/apis/discovery.k8s.io/v1/namespaces/{}/endpointslices",
        http::escape(s(service, "/metadata/namespace"))
    );
    match http::get_json(client, &query.on(&path), ACCEPT_JSON).await {
        Ok(page) => Some(items(Some(page))),
        Err(EngineError::Api { code: 404, .. }) => None,
        // Served but unreadable (RBAC): kubectl ignores the error and shows no endpoints.
        Err(_) => Some(Vec::new()),
    }
}

async fn get_endpoints(client: &kube::Client, service: &Value) -> Option<Value> {
    let path = format!(
        "/api/v1/namespaces/{}/endpoints/{}",
        http::escape(s(service, "/metadata/namespace")),
        http::escape(s(service, "/metadata/name"))
    );
    http::get_json(client, &path, ACCEPT_JSON).await.ok()
}

/// Core objects of a kind in a namespace (empty when they cannot be read).
async fn list_core(client: &kube::Client, plural: &str, namespace: &str) -> Vec<Value> {
    let path = format!("/api/v1/namespaces/{}/{plural}", http::escape(namespace));
    items(http::get_json(client, &path, ACCEPT_JSON).await.ok())
}

fn items(page: Option<Value>) -> Vec<Value> {
    match page.and_then(|mut p| p.get_mut("items").map(Value::take)) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

/// Non-terminated pods bound to a node (kubectl's field selector).
async fn node_pods(client: &kube::Client, node: &str) -> Vec<Value> {
    let mut query = Query::default();
    query.push("fieldSelector", format!("spec.nodeName={node},status.phase!=Succeeded,status.phase!=Failed"));
    items(http::get_json(client, &query.on("/api/v1/pods"), ACCEPT_JSON).await.ok())
}

/// Phase counts of the pods a controller owns (its selector, then the controller reference).
async fn controlled_pods(client: &kube::Client, controller: &Value) -> workloads::PodCounts {
    let uid = s(controller, "/metadata/uid");
    let mut query = Query::default();
    let selector = pod::selector_text(controller.pointer("/spec/selector"));
    if selector != "<none>" {
        query.push("labelSelector", selector);
    }
    let path = format!("/api/v1/namespaces/{}/pods", http::escape(s(controller, "/metadata/namespace")));
    let pods: Vec<Value> = items(http::get_json(client, &query.on(&path), ACCEPT_JSON).await.ok())
        .into_iter()
        .filter(|p| {
            writer::array(p, "/metadata/ownerReferences")
                .iter()
                .any(|o| writer::boolean(o, "/controller") && s(o, "/uid") == uid)
        })
        .collect();
    workloads::PodCounts::of(&pods)
}

/// The ReplicaSets a Deployment controls.
async fn owned_replica_sets(client: &kube::Client, deployment: &Value) -> Vec<Value> {
    let uid = s(deployment, "/metadata/uid");
    let path = format!(
        "/apis/apps/v1/namespaces/{}/replicasets",
        http::escape(s(deployment, "/metadata/namespace"))
    );
    items(http::get_json(client, &path, ACCEPT_JSON).await.ok())
        .into_iter()
        .filter(|rs| {
            writer::array(rs, "/metadata/ownerReferences")
                .iter()
                .any(|o| writer::boolean(o, "/controller") && s(o, "/uid") == uid)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn events_with_only_an_event_time_come_first_as_in_kubectl() {
        let now = time::macros::datetime!(2026-01-01 01:00:00 UTC);
        let events = [
            json!({"type": "Normal", "reason": "Pulled", "message": "pulled", "count": 1,
                "firstTimestamp": "2026-01-01T00:10:00Z", "lastTimestamp": "2026-01-01T00:10:00Z", "source": {"component": "kubelet"}}),
            json!({"type": "Normal", "reason": "Scheduled", "message": "assigned", "eventTime": "2026-01-01T00:50:00.000000Z",
                "reportingComponent": "default-scheduler"}),
            json!({"type": "Warning", "reason": "BackOff", "message": "back-off", "count": 3,
                "firstTimestamp": "2026-01-01T00:05:00Z", "lastTimestamp": "2026-01-01T00:40:00Z", "source": {"component": "kubelet"}}),
        ];
        let mut w = Writer::default();
        describe_events(&mut w, &events, now);
        let text = w.finish();
        let reasons: Vec<&str> = text.lines().skip(3).filter_map(|l| l.split_whitespace().nth(1)).collect();
        assert_eq!(reasons, ["Scheduled", "Pulled", "BackOff"], "{text}");
        assert!(text.contains("Scheduled  10m"), "the age is the event time's: {text}");
        assert!(text.contains("default-scheduler"), "{text}");
    }

    #[test]
    fn endpoint_slices_list_like_kubectl() {
        let slice = |ports: Value, endpoints: Value| json!({"ports": ports, "endpoints": endpoints});
        let ep = |ip: &str, ready: Option<bool>| match ready {
            Some(r) => json!({"addresses": [ip], "conditions": {"ready": r}}),
            None => json!({"addresses": [ip], "conditions": {}}),
        };
        let web = json!([{"name": "web", "port": 8080}, {"name": "metrics", "port": 9090}]);
        let one = [slice(
            web.clone(),
            json!([ep("10.0.0.1", Some(true)), ep("10.0.0.2", None), ep("10.0.0.3", Some(false))]),
        )];
        assert_eq!(kinds::format_endpoint_slices(&one, "web"), "10.0.0.1:8080,10.0.0.2:8080");
        assert_eq!(kinds::format_endpoint_slices(&one, "metrics"), "10.0.0.1:9090,10.0.0.2:9090");
        assert_eq!(kinds::format_endpoint_slices(&[], "web"), "<none>");
        let many = [slice(
            json!([{"name": "", "port": 80}]),
            json!([
                ep("10.0.0.1", None),
                ep("10.0.0.2", None),
                ep("fd00::3", None),
                ep("10.0.0.4", None),
                ep("10.0.0.5", None)
            ]),
        )];
        assert_eq!(
            kinds::format_endpoint_slices(&many, ""),
            "10.0.0.1:80,10.0.0.2:80,[fd00::3]:80 + 2 more..."
        );
        let headless = [slice(json!([]), json!([ep("10.0.0.9", None), ep("10.0.0.8", Some(false))]))];
        assert_eq!(kinds::format_endpoint_slices(&headless, "x"), "10.0.0.9");
        let unready = [slice(web, json!([ep("10.0.0.1", Some(false))]))];
        assert_eq!(kinds::format_endpoint_slices(&unready, "web"), "", "kubectl prints nothing then");
    }

    #[test]
    fn pod_disruption_budgets_read_like_kubectl() {
        let pdb = json!({"metadata": {"name": "web", "namespace": "shop"},
            "spec": {"maxUnavailable": "25%", "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["b", "a"]}]}},
            "status": {"disruptionsAllowed": 1, "currentHealthy": 3, "desiredHealthy": 2, "expectedPods": 3}});
        let mut w = Writer::default();
        workloads::pod_disruption_budget(&mut w, &pdb);
        assert_eq!(
            w.finish(),
            "Name:             web\nNamespace:        shop\nMax unavailable:  25%\nSelector:         app=web,tier notin (a,b)\nStatus:\n    Allowed disruptions:  1\n    Current:              3\n    Desired:              2\n    Total:                3\n"
        );
        let min = json!({"metadata": {"name": "db", "namespace": "shop"}, "spec": {"minAvailable": 2}, "status": {}});
        let mut w = Writer::default();
        workloads::pod_disruption_budget(&mut w, &min);
        let text = w.finish();
        assert!(text.contains("Min available:  2\nSelector:       <unset>\n"), "{text}");
    }
}
