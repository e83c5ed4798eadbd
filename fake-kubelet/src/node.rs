//! Node registration, node status heartbeats and the node Lease.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Taint};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tracing::{debug, info, warn};

use super::util::{hex_digest, k8s_micro_time, k8s_time, uuid_like};
use super::{HOST_IP, NODE_POD_CIDR};

/// Namespace of node heartbeat Leases.
pub(crate) const LEASE_NAMESPACE: &str = "kube-node-lease";
const LEASE_DURATION_SECONDS: i32 = 40;
const LEASE_RENEW_EVERY: Duration = Duration::from_secs(10);
const NODE_STATUS_EVERY: Duration = Duration::from_secs(30);
const RETRY_AFTER: Duration = Duration::from_secs(2);

pub(crate) const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
pub(crate) const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
const KUBELET_VERSION: &str = "v1.20.2";

/// The labels a kubelet (plus a worker role) puts on its Node.
pub(crate) fn node_labels(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("kubernetes.io/hostname".to_owned(), name.to_owned()),
        ("kubernetes.io/os".to_owned(), "linux".to_owned()),
        ("kubernetes.io/arch".to_owned(), "amd64".to_owned()),
        ("beta.kubernetes.io/os".to_owned(), "linux".to_owned()),
        ("beta.kubernetes.io/arch".to_owned(), "amd64".to_owned()),
        ("node-role.kubernetes.io/worker".to_owned(), String::new()),
    ])
}

/// The Node object to create.
pub(crate) fn node_object(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": node_labels(name),
            "annotations": { "node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true" },
        },
        "spec": { "podCIDR": NODE_POD_CIDR, "podCIDRs": [NODE_POD_CIDR] },
    })
}

fn condition(
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    transition: &str,
    heartbeat: &str,
) -> Value {
    json!({
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastHeartbeatTime": heartbeat,
        "lastTransitionTime": transition,
    })
}

/// The `{"status": …}` merge patch a kubelet posts: capacity, conditions, addresses, endpoint, node info.
pub(crate) fn node_status_patch(
    name: &str,
    port: u16,
    transition: OffsetDateTime,
    heartbeat: OffsetDateTime,
) -> Value {
    let (t, h) = (k8s_time(transition), k8s_time(heartbeat));
    let capacity = json!({
        "cpu": "4", "memory": "8Gi", "pods": "110", "ephemeral-storage": "50Gi", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
    });
    let allocatable = json!({
        "cpu": "4", "memory": "7680Mi", "pods": "110", "ephemeral-storage": "50Gi", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
    });
    json!({ "status": {
        "capacity": capacity,
        "allocatable": allocatable,
        "conditions": [
            condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available", &t, &h),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", &t, &h),
            condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available", &t, &h),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", &t, &h),
        ],
        "addresses": [
            { "type": "InternalIP", "address": HOST_IP },
            { "type": "Hostname", "address": name },
        ],
        "daemonEndpoints": { "kubeletEndpoint": { "Port": port } },
        "nodeInfo": {
            "machineID": hex_digest(&["machine-id", name], 32),
            "systemUUID": uuid_like(&["system-uuid", name]),
            "bootID": uuid_like(&["boot-id", name]),
            "kernelVersion": "6.1.0-18-amd64",
            "osImage": "Debian GNU/Linux 12 (bookworm)",
            "containerRuntimeVersion": "containerd://1.6.20",
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": KUBELET_VERSION,
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    }})
}

/// The taints without the node-lifecycle ones (`not-ready`, `unreachable`); `None` when nothing changes.
pub(crate) fn without_lifecycle_taints(taints: &[Taint]) -> Option<Vec<Taint>> {
    let kept: Vec<Taint> =
        taints.iter().filter(|t| t.key != TAINT_NOT_READY && t.key != TAINT_UNREACHABLE).cloned().collect();
    (kept.len() != taints.len()).then_some(kept)
}

/// The node's Lease, renewed `now`.
pub(crate) fn lease_object(name: &str, now: OffsetDateTime) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": { "name": name, "namespace": LEASE_NAMESPACE },
        "spec": lease_spec(name, now),
    })
}

fn lease_spec(name: &str, now: OffsetDateTime) -> Value {
    json!({ "holderIdentity": name, "leaseDurationSeconds": LEASE_DURATION_SECONDS, "renewTime": k8s_micro_time(now) })
}

fn is_status(err: &kube::Error, pred: impl Fn(&kube::core::Status) -> bool) -> bool {
    matches!(err, kube::Error::Api(status) if pred(status))
}

/// Create the Node, or make sure an existing one carries our labels. Returns the current Node.
async fn ensure_node(api: &Api<Node>, name: &str) -> anyhow::Result<Node> {
    if let Some(node) = api.get_opt(name).await? {
        let labels = node.metadata.labels.clone().unwrap_or_default();
        let missing = node_labels(name).into_iter().any(|(k, v)| labels.get(&k) != Some(&v));
        if !missing {
            return Ok(node);
        }
        let patch = json!({ "metadata": { "labels": node_labels(name) } });
        return Ok(api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await?);
    }
    let node: Node = serde_json::from_value(node_object(name))?;
    match api.create(&PostParams::default(), &node).await {
        Ok(node) => {
            info!(node = name, "registered node");
            Ok(node)
        }
        Err(err) if is_status(&err, kube::core::Status::is_already_exists) => Ok(api.get(name).await?),
        Err(err) => Err(err.into()),
    }
}

/// Drop the lifecycle taints, guarded by the resourceVersion we read (a conflict just waits a tick).
async fn remove_lifecycle_taints(api: &Api<Node>, node: &Node) -> anyhow::Result<()> {
    let taints = node.spec.as_ref().and_then(|s| s.taints.as_deref()).unwrap_or_default();
    let Some(kept) = without_lifecycle_taints(taints) else {
        return Ok(());
    };
    let name = node.metadata.name.as_deref().unwrap_or_default();
    let patch = json!({
        "metadata": { "resourceVersion": node.metadata.resource_version },
        "spec": { "taints": kept },
    });
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
    info!(node = name, "removed not-ready/unreachable taints");
    Ok(())
}

/// One registration/heartbeat pass: Node exists with our labels, status posted, lifecycle taints gone.
async fn sync_node(
    client: &kube::Client,
    name: &str,
    port: u16,
    transition: OffsetDateTime,
) -> anyhow::Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    ensure_node(&api, name).await?;
    let patch = node_status_patch(name, port, transition, OffsetDateTime::now_utc());
    let node = api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
    remove_lifecycle_taints(&api, &node).await?;
    debug!(node = name, "posted node status");
    Ok(())
}

/// Register the node and keep its Ready condition fresh, forever; API errors are logged and retried.
pub(crate) async fn node_loop(client: kube::Client, name: String, port: u16) {
    let transition = OffsetDateTime::now_utc();
    loop {
        let delay = match sync_node(&client, &name, port, transition).await {
            Ok(()) => NODE_STATUS_EVERY,
            Err(err) => {
                warn!(node = %name, error = %format!("{err:#}"), "node status update failed; retrying");
                RETRY_AFTER
            }
        };
        tokio::time::sleep(delay).await;
    }
}

/// Renew (or create) the node Lease.
async fn renew_lease(client: &kube::Client, name: &str) -> anyhow::Result<()> {
    let api: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    let now = OffsetDateTime::now_utc();
    let patch = json!({ "spec": lease_spec(name, now) });
    match api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await {
        Ok(_) => Ok(()),
        Err(err) if is_status(&err, kube::core::Status::is_not_found) => {
            let lease: Lease = serde_json::from_value(lease_object(name, now))?;
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => {
                    info!(node = name, "created node lease");
                    Ok(())
                }
                Err(err) if is_status(&err, kube::core::Status::is_already_exists) => Ok(()),
                Err(err) => Err(err.into()),
            }
        }
        Err(err) => Err(err.into()),
    }
}

/// Renew the node Lease every 10 s, forever; API errors are logged and retried.
pub(crate) async fn lease_loop(client: kube::Client, name: String) {
    loop {
        let delay = match renew_lease(&client, &name).await {
            Ok(()) => LEASE_RENEW_EVERY,
            Err(err) => {
                warn!(node = %name, error = %format!("{err:#}"), "lease renewal failed; retrying");
                RETRY_AFTER
            }
        };
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::NodeStatus;
    use time::macros::datetime;

    #[test]
    fn node_status_is_valid_and_ready() {
        let patch = node_status_patch(
            "node-1",
            10250,
            datetime!(2026-11-21 17:00:00 UTC),
            datetime!(2026-11-21 17:00:30 UTC),
        );
        let status: NodeStatus = serde_json::from_value(patch["status"].clone()).expect("valid NodeStatus");
        assert_eq!(status.daemon_endpoints.and_then(|d| d.kubelet_endpoint).map(|e| e.port), Some(10250));
        let ready =
            status.conditions.unwrap_or_default().into_iter().find(|c| c.type_ == "Ready").expect("Ready");
        assert_eq!((ready.status.as_str(), ready.reason.as_deref()), ("True", Some("KubeletReady")));
        let info = status.node_info.expect("nodeInfo");
        assert_eq!(info.kubelet_version, "v1.20.2");
        assert_eq!(info.machine_id.len(), 32);
        assert_eq!(patch["status"]["capacity"]["memory"], "8Gi");
        let again = node_status_patch(
            "node-1",
            10250,
            datetime!(2026-11-21 17:00:00 UTC),
            datetime!(2026-11-21 17:00:30 UTC),
        );
        assert_eq!(patch, again, "deterministic");
    }

    #[test]
    fn node_object_and_lease_are_valid() {
        let node: Node = serde_json::from_value(node_object("node-1")).expect("valid Node");
        let labels = node.metadata.labels.expect("labels");
        assert_eq!(labels.get("node-role.kubernetes.io/worker").map(String::as_str), Some(""));
        let lease: Lease =
            serde_json::from_value(lease_object("node-1", datetime!(2026-11-21 17:00:00.25 UTC)))
                .expect("valid Lease");
        let spec = lease.spec.expect("spec");
        assert_eq!(spec.holder_identity.as_deref(), Some("node-1"));
        assert_eq!(spec.lease_duration_seconds, Some(40));
    }

    #[test]
    fn lifecycle_taints_are_removed() {
        let taint =
            |key: &str| Taint { key: key.to_owned(), effect: "NoSchedule".to_owned(), ..Default::default() };
        assert_eq!(without_lifecycle_taints(&[taint("dedicated")]), None);
        assert_eq!(
            without_lifecycle_taints(&[taint(TAINT_NOT_READY), taint("dedicated"), taint(TAINT_UNREACHABLE)]),
            Some(vec![taint("dedicated")])
        );
    }
}
