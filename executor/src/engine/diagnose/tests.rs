//! The analyzers over constructed objects, for the breakages the demo scenario does not have:
//! missing ConfigMap/Secret keys, stuck init containers, StatefulSets, DaemonSets, stuck
//! rollouts, CronJobs, HPAs, Ingresses, PVCs, nodes, taints and quotas.

use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::facts::Facts;
use super::finding::{Finding, Kind, ObjectRef, Severity};
use super::gather::Snapshot;
use super::{analyze, nodes};

const NS: &str = "shop";

fn now() -> Timestamp {
    "2026-01-01T12:00:00Z".parse().expect("a timestamp")
}

fn de<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("a valid object")
}

fn pod(name: &str, spec: Value, status: Value) -> k8s_openapi::api::core::v1::Pod {
    de(
        json!({"metadata": {"name": name, "namespace": NS, "labels": {"app": name}}, "spec": spec, "status": status}),
    )
}

fn run(s: &Snapshot) -> Vec<Finding> {
    runnable(analyze(&Facts::new(s, now()), false, None))
}

/// Every suggested command is one the read-only policy accepts as given.
fn runnable(findings: Vec<Finding>) -> Vec<Finding> {
    use kubently_shared::policy::{CommandInput, PolicyConfig, parse};
    for f in &findings {
        let input = CommandInput {
            command_type: f.suggested.command_type,
            args: &f.suggested.args,
            extra_args: &[],
            namespace: None,
        };
        if let Err(e) = parse(&input, &PolicyConfig::default()) {
            panic!("{} suggests `{}`, which the policy refuses: {e}", f.object, f.suggested.command);
        }
    }
    findings
}

fn kinds(findings: &[Finding]) -> Vec<(Kind, String)> {
    findings.iter().map(|f| (f.kind, f.object.to_string())).collect()
}

fn text(f: &Finding) -> String {
    f.evidence.join("\n")
}

#[test]
fn create_container_config_error_names_what_is_missing_by_name_only() {
    let s = Snapshot {
        pods: vec![pod(
            "api",
            json!({"nodeName": "n1", "containers": [{"name": "api", "image": "api:1",
                "env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}]}),
            json!({"phase": "Pending", "containerStatuses": [{"name": "api", "image": "api:1", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "CreateContainerConfigError", "message": "couldn't find key password in Secret shop/db"}}}]}),
        )],
        ..Snapshot::default()
    };
    let found = run(&s);
    assert_eq!(kinds(&found), [(Kind::ContainerConfigError, "pod/api".to_string())]);
    assert_eq!(found[0].severity, Severity::Critical);
    assert_eq!(text(&found[0]), "kubelet: \"couldn't find key password in Secret shop/db\"");
}

#[test]
fn init_containers_that_crash_or_hang_are_stuck() {
    let crashing = pod(
        "a",
        json!({"nodeName": "n1", "initContainers": [{"name": "migrate", "image": "m"}, {"name": "warm", "image": "w"}], "containers": [{"name": "a", "image": "a"}]}),
        json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "migrate", "image": "m", "imageID": "", "ready": false, "restartCount": 4,
             "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}}},
            {"name": "warm", "image": "w", "imageID": "", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]}),
    );
    let hanging = pod(
        "b",
        json!({"nodeName": "n1", "initContainers": [{"name": "wait-db", "image": "busybox"}], "containers": [{"name": "b", "image": "b"}]}),
        json!({"phase": "Pending", "initContainerStatuses": [{"name": "wait-db", "image": "busybox", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"running": {"startedAt": "2026-01-01T11:00:00Z"}}}]}),
    );
    let fresh = pod(
        "c",
        json!({"nodeName": "n1", "initContainers": [{"name": "wait-db", "image": "busybox"}], "containers": [{"name": "c", "image": "c"}]}),
        json!({"phase": "Pending", "initContainerStatuses": [{"name": "wait-db", "image": "busybox", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"running": {"startedAt": "2026-01-01T11:59:00Z"}}}]}),
    );
    let s = Snapshot { pods: vec![crashing, hanging, fresh], ..Snapshot::default() };
    let found = run(&s);
    assert_eq!(
        kinds(&found),
        [(Kind::InitContainerStuck, "pod/a".into()), (Kind::InitContainerStuck, "pod/b".into())]
    );
    assert!(
        found[0].summary.contains("init container migrate (1/2)") && found[0].summary.contains("4 restarts")
    );
    assert_eq!(text(&found[0]), "last exit code 2 (Error)");
    assert!(found[0].suggested.command.contains("-c migrate --previous"), "{}", found[0].suggested.command);
    assert_eq!(found[1].severity, Severity::Warning);
    assert!(found[1].summary.contains("still running after 60m"), "{}", found[1].summary);
}

#[test]
fn liveness_failures_that_restart_a_container_are_reported() {
    let p = pod(
        "web",
        json!({"nodeName": "n1", "containers": [{"name": "web", "image": "web", "livenessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 3}}]}),
        json!({"phase": "Running", "containerStatuses": [{"name": "web", "image": "web", "imageID": "", "ready": true, "restartCount": 3,
            "state": {"running": {"startedAt": "2026-01-01T11:59:00Z"}}}]}),
    );
    let event: k8s_openapi::api::core::v1::Event = de(json!({
        "metadata": {"name": "web.1", "namespace": NS}, "involvedObject": {"kind": "Pod", "name": "web", "namespace": NS},
        "reason": "Unhealthy", "message": "Liveness probe failed: dial tcp 10.0.0.1:8080: connect: connection refused",
        "count": 9, "lastTimestamp": "2026-01-01T11:58:00Z"}));
    let s = Snapshot { pods: vec![p], events: vec![event], ..Snapshot::default() };
    let found = run(&s);
    assert_eq!(kinds(&found), [(Kind::LivenessProbeFailing, "pod/web".into())]);
    let t = text(&found[0]);
    assert!(t.contains("liveness probe: TCP :8080 every 3s, fails after 3"), "{t}");
    assert!(t.contains("event Unhealthy ×9 (last 2m ago): \"Liveness probe failed"), "{t}");
}

#[test]
fn workloads_short_of_replicas_without_pod_findings_are_reported() {
    let s = Snapshot {
        statefulsets: vec![de(
            json!({"metadata": {"name": "db", "namespace": NS}, "spec": {"replicas": 3, "selector": {}, "serviceName": "db", "template": {}},
            "status": {"replicas": 3, "readyReplicas": 1, "currentRevision": "db-1", "updateRevision": "db-2", "updatedReplicas": 1}}),
        )],
        daemonsets: vec![de(
            json!({"metadata": {"name": "agent", "namespace": NS}, "spec": {"selector": {}, "template": {}},
            "status": {"currentNumberScheduled": 3, "desiredNumberScheduled": 3, "numberMisscheduled": 1, "numberReady": 2, "numberUnavailable": 1}}),
        )],
        deployments: vec![de(
            json!({"metadata": {"name": "api", "namespace": NS}, "spec": {"replicas": 2, "selector": {}, "template": {}},
            "status": {"availableReplicas": 1, "updatedReplicas": 1, "conditions": [
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"api-2\" has timed out progressing."}]}}),
        )],
        ..Snapshot::default()
    };
    let found = run(&s);
    assert_eq!(
        kinds(&found),
        [
            (Kind::RolloutStuck, "deployment/api".into()),
            (Kind::WorkloadUnavailable, "daemonset/agent".into()),
            (Kind::WorkloadUnavailable, "statefulset/db".into()),
        ]
    );
    assert!(
        text(&found[0]).contains("Progressing=False: \"ReplicaSet \"api-2\" has timed out progressing.\"")
    );
    assert!(found[0].suggested.command.starts_with("rollout status deployment/api -n shop"));
    assert_eq!(text(&found[1]), "daemonset/agent: 2/3 ready, 1 unavailable, 1 misscheduled");
    assert_eq!(text(&found[2]), "statefulset/db: 1/3 ready, rollout in progress (1 updated)");
}

#[test]
fn cronjobs_whose_last_runs_failed_are_reported_once() {
    let job = |name: &str, created: &str, failed: bool| -> k8s_openapi::api::batch::v1::Job {
        let condition = if failed {
            json!({"type": "Failed", "status": "True", "reason": "DeadlineExceeded", "message": "Job was active longer than specified deadline"})
        } else {
            json!({"type": "Complete", "status": "True"})
        };
        de(json!({"metadata": {"name": name, "namespace": NS, "creationTimestamp": created,
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly", "uid": "u", "controller": true}]},
            "status": {"failed": 1, "conditions": [condition]}}))
    };
    let s = Snapshot {
        cronjobs: vec![de(
            json!({"metadata": {"name": "nightly", "namespace": NS}, "spec": {"schedule": "0 3 * * *", "jobTemplate": {}},
            "status": {"lastSuccessfulTime": "2025-12-29T03:00:00Z"}}),
        )],
        jobs: vec![
            job("nightly-1", "2025-12-29T03:00:00Z", false),
            job("nightly-2", "2025-12-30T03:00:00Z", true),
            job("nightly-3", "2025-12-31T03:00:00Z", true),
        ],
        ..Snapshot::default()
    };
    let found = run(&s);
    assert_eq!(
        kinds(&found),
        [(Kind::CronJobFailing, "cronjob/nightly".into())],
        "its jobs are not reported again"
    );
    assert_eq!(found[0].summary, "the last 2 of its 3 finished runs failed");
    let t = text(&found[0]);
    assert!(t.contains("latest run job/nightly-3: DeadlineExceeded"), "{t}");
    assert!(t.contains("last successful run: 3d9h ago"), "{t}");
}

#[test]
fn hpas_that_cannot_scale_in_either_api_shape() {
    let v2 = json!({"metadata": {"name": "web", "namespace": NS},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 5},
        "status": {"currentReplicas": 2, "desiredReplicas": 2, "conditions": [
            {"type": "AbleToScale", "status": "True", "reason": "SucceededGetScale"},
            {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric", "message": "unable to get metrics for resource cpu"}]}});
    let conditions = json!([{"type": "AbleToScale", "status": "False", "reason": "FailedGetScale", "message": "deployments/scale.apps \"api\" not found"}]);
    let v1 = json!({"metadata": {"name": "api", "namespace": NS, "annotations": {"autoscaling.alpha.kubernetes.io/conditions": conditions.to_string()}},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "api"}, "maxReplicas": 3},
        "status": {"currentReplicas": 0, "desiredReplicas": 0}});
    let s = Snapshot { hpas: vec![v2, v1], ..Snapshot::default() };
    let found = run(&s);
    assert_eq!(
        kinds(&found),
        [
            (Kind::HpaCannotScale, "horizontalpodautoscaler/api".into()),
            (Kind::HpaCannotScale, "horizontalpodautoscaler/web".into())
        ]
    );
    assert!(text(&found[0]).contains("AbleToScale=False (FailedGetScale)"));
    assert!(text(&found[1]).contains(
        "ScalingActive=False (FailedGetResourceMetric): \"unable to get metrics for resource cpu\""
    ));
    assert!(text(&found[1]).contains("replicas 2 (desired 2, min 2, max 5)"));
}

#[test]
fn ingresses_to_missing_services_and_pending_pvcs() {
    let s = Snapshot {
        services: vec![de(
            json!({"metadata": {"name": "web", "namespace": NS}, "spec": {"ports": [{"port": 80}]}}),
        )],
        ingresses: vec![
            json!({"metadata": {"name": "shop", "namespace": NS}, "spec": {"rules": [{"host": "shop.example", "http": {"paths": [
                {"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
                {"path": "/api", "backend": {"service": {"name": "api", "port": {"number": 80}}}}]}}]}}),
            json!({"metadata": {"name": "old", "namespace": NS}, "spec": {"backend": {"serviceName": "legacy", "servicePort": 80}}}),
        ],
        pvcs: vec![
            de(
                json!({"metadata": {"name": "data", "namespace": NS}, "spec": {"storageClassName": "fast"}, "status": {"phase": "Pending"}}),
            ),
            de(
                json!({"metadata": {"name": "later", "namespace": NS}, "spec": {}, "status": {"phase": "Pending"}}),
            ),
            de(
                json!({"metadata": {"name": "bound", "namespace": NS}, "spec": {}, "status": {"phase": "Bound"}}),
            ),
        ],
        events: vec![
            de(
                json!({"metadata": {"name": "e1", "namespace": NS}, "involvedObject": {"kind": "PersistentVolumeClaim", "name": "data", "namespace": NS},
                "reason": "ProvisioningFailed", "message": "storageclass.storage.k8s.io \"fast\" not found", "count": 12, "lastTimestamp": "2026-01-01T11:59:00Z"}),
            ),
            de(
                json!({"metadata": {"name": "e2", "namespace": NS}, "involvedObject": {"kind": "PersistentVolumeClaim", "name": "later", "namespace": NS},
                "reason": "WaitForFirstConsumer", "message": "waiting for first consumer to be created before binding", "lastTimestamp": "2026-01-01T11:59:00Z"}),
            ),
        ],
        ..Snapshot::default()
    };
    let found = run(&s);
    assert_eq!(
        kinds(&found),
        [
            (Kind::IngressMissingService, "ingress/old".into()),
            (Kind::IngressMissingService, "ingress/shop".into()),
            (Kind::PvcPending, "persistentvolumeclaim/data".into()),
        ]
    );
    assert_eq!(text(&found[0]), "missing: service/legacy (for default backend)");
    assert_eq!(text(&found[1]), "missing: service/api (for shop.example/api)");
    assert!(
        text(&found[2]).contains("storageClassName: fast")
            && text(&found[2]).contains("ProvisioningFailed ×12")
    );
}

#[test]
fn nodes_not_ready_under_pressure_or_tainted_against_pending_pods() {
    let node = |name: &str, ready: &str, pressure: bool, taints: Value| -> k8s_openapi::api::core::v1::Node {
        de(json!({"metadata": {"name": name}, "spec": {"taints": taints}, "status": {"conditions": [
            {"type": "Ready", "status": ready, "reason": "KubeletNotReady", "message": "container runtime is down", "lastHeartbeatTime": "2026-01-01T11:50:00Z"},
            {"type": "DiskPressure", "status": if pressure { "True" } else { "False" }, "message": "ephemeral storage at 95%"}]}}))
    };
    let pending = pod(
        "batch",
        json!({"containers": [{"name": "b", "image": "b"}], "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]}),
        json!({"phase": "Pending"}),
    );
    let running = pod(
        "web",
        json!({"nodeName": "n1", "containers": [{"name": "w", "image": "w"}]}),
        json!({"phase": "Running"}),
    );
    let s = Snapshot {
        nodes: vec![
            node("n1", "False", true, json!([])),
            node("n2", "True", false, json!([{"key": "gpu", "value": "a100", "effect": "NoSchedule"}])),
            node(
                "n3",
                "True",
                false,
                json!([{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}, {"key": "soft", "effect": "PreferNoSchedule"}]),
            ),
        ],
        pods: vec![pending, running],
        ..Snapshot::default()
    };
    let facts = Facts::new(&s, now());
    let found = runnable(analyze(&facts, false, None));
    assert_eq!(
        kinds(&found),
        [
            (Kind::NodeNotReady, "node/n1".into()),
            (Kind::NodePressure, "node/n1".into()),
            (Kind::TaintNotTolerated, "node/n3".into()),
        ],
        "n2's taint is tolerated; n3 hosts none of the scope's pods but keeps its pending pod off"
    );
    assert!(
        text(&found[0])
            .contains("Ready=False (KubeletNotReady), last heartbeat 10m ago: \"container runtime is down\"")
    );
    assert_eq!(found[2].summary, "taint dedicated=infra:NoSchedule keeps all 1 pending pods off this node");
    assert_eq!(text(&found[2]), "pending without a matching toleration: pod/batch");

    let t = |key: &str, value: &str, effect: &str| k8s_openapi::api::core::v1::Taint {
        key: key.into(),
        value: Some(value.into()),
        effect: effect.into(),
        time_added: None,
    };
    let tol = |v: Value| -> k8s_openapi::api::core::v1::Toleration { de(v) };
    assert!(nodes::tolerates(&tol(json!({"operator": "Exists"})), &t("a", "b", "NoSchedule")));
    assert!(nodes::tolerates(&tol(json!({"key": "a", "value": "b"})), &t("a", "b", "NoExecute")));
    assert!(!nodes::tolerates(&tol(json!({"key": "a", "value": "c"})), &t("a", "b", "NoSchedule")));
    assert!(!nodes::tolerates(
        &tol(json!({"key": "a", "operator": "Exists", "effect": "NoExecute"})),
        &t("a", "b", "NoSchedule")
    ));
}

#[test]
fn exhausted_quotas_name_the_resource_and_what_they_refused() {
    let s = Snapshot {
        quotas: vec![de(json!({"metadata": {"name": "compute", "namespace": NS},
            "status": {"hard": {"pods": "10", "requests.memory": "1Gi", "requests.cpu": "4"},
                       "used": {"pods": "10", "requests.memory": "1024Mi", "requests.cpu": "1500m"}}}))],
        events: vec![de(json!({"metadata": {"name": "e", "namespace": NS},
            "involvedObject": {"kind": "ReplicaSet", "name": "web-5d9", "namespace": NS}, "reason": "FailedCreate",
            "message": "Error creating: pods \"web-5d9-x\" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=10, limited: pods=10",
            "count": 31, "lastTimestamp": "2026-01-01T11:59:30Z"}))],
        ..Snapshot::default()
    };
    let found = run(&s);
    assert_eq!(kinds(&found), [(Kind::QuotaExhausted, "resourcequota/compute".into())]);
    assert_eq!(found[0].summary, "quota used up: pods 10/10, requests.memory 1024Mi/1Gi");
    assert!(
        text(&found[0]).starts_with("replicaset/web-5d9: event FailedCreate ×31 (last 30s ago)"),
        "{}",
        text(&found[0])
    );
}

#[test]
fn a_target_keeps_its_own_findings_and_its_nodes() {
    let rs: k8s_openapi::api::apps::v1::ReplicaSet = de(
        json!({"metadata": {"name": "api-1", "namespace": NS,
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api", "uid": "d", "controller": true}]}}),
    );
    let owned = |name: &str, node: &str| {
        let mut p = pod(
            name,
            json!({"nodeName": node, "containers": [{"name": "c", "image": "c:1"}]}),
            json!({"phase": "Pending", "containerStatuses": [{"name": "c", "image": "c:1", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ErrImagePull"}}}]}),
        );
        p.metadata.owner_references = Some(vec![de(
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "api-1", "uid": "r", "controller": true}),
        )]);
        p
    };
    let other = pod(
        "other",
        json!({"nodeName": "n2", "containers": [{"name": "c", "image": "c:1"}]}),
        json!({"phase": "Pending", "containerStatuses": [{"name": "c", "image": "c:1", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ErrImagePull"}}}]}),
    );
    let down = |name: &str| -> k8s_openapi::api::core::v1::Node {
        de(
            json!({"metadata": {"name": name}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}),
        )
    };
    let s = Snapshot {
        replicasets: vec![rs],
        pods: vec![owned("api-1-a", "n1"), other],
        nodes: vec![down("n1"), down("n2")],
        ..Snapshot::default()
    };
    let facts = Facts::new(&s, now());
    let target = ObjectRef::new("deployment", Some(NS), "api");
    let found = runnable(analyze(&facts, false, Some(&target)));
    assert_eq!(
        kinds(&found),
        [(Kind::ImagePull, "pod/api-1-a".into()), (Kind::NodeNotReady, "node/n1".into())]
    );
    assert_eq!(found[0].owner.as_ref(), Some(&target));
    assert_eq!(
        analyze(&facts, true, None).iter().filter(|f| f.kind == Kind::NodeNotReady).count(),
        2,
        "-A: every node"
    );
}

#[test]
fn volumes_that_cannot_be_mounted_are_reported_with_the_kubelets_message() {
    let p = pod(
        "api",
        json!({"nodeName": "n1", "volumes": [{"name": "tls", "secret": {"secretName": "api-tls"}}], "containers": [{"name": "api", "image": "api:1"}]}),
        json!({"phase": "Pending", "containerStatuses": [{"name": "api", "image": "api:1", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ContainerCreating"}}}]}),
    );
    let event: k8s_openapi::api::core::v1::Event = de(json!({
        "metadata": {"name": "api.1", "namespace": NS}, "involvedObject": {"kind": "Pod", "name": "api", "namespace": NS},
        "reason": "FailedMount", "message": "MountVolume.SetUp failed for volume \"tls\" : secret \"api-tls\" not found",
        "count": 7, "lastTimestamp": "2026-01-01T11:59:00Z"}));
    let s = Snapshot { pods: vec![p], events: vec![event], ..Snapshot::default() };
    let found = run(&s);
    assert_eq!(kinds(&found), [(Kind::VolumeMountFailed, "pod/api".into())]);
    assert!(text(&found[0]).contains("event FailedMount ×7 (last 60s ago): \"MountVolume.SetUp failed for volume \"tls\" : secret \"api-tls\" not found\""), "{}", text(&found[0]));
}

#[test]
fn a_deployment_whose_replicaset_cannot_create_pods_says_why() {
    let s = Snapshot {
        deployments: vec![de(
            json!({"metadata": {"name": "web", "namespace": NS}, "spec": {"replicas": 2, "selector": {}, "template": {}},
            "status": {"availableReplicas": 0, "updatedReplicas": 0}}),
        )],
        replicasets: vec![de(json!({"metadata": {"name": "web-5d9", "namespace": NS,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d", "controller": true}]}}))],
        events: vec![de(json!({"metadata": {"name": "e", "namespace": NS},
            "involvedObject": {"kind": "ReplicaSet", "name": "web-5d9", "namespace": NS}, "reason": "FailedCreate",
            "message": "Error creating: pods \"web-5d9-x\" is forbidden: exceeded quota: compute",
            "count": 31, "lastTimestamp": "2026-01-01T11:59:30Z"}))],
        ..Snapshot::default()
    };
    let found = run(&s);
    assert_eq!(kinds(&found), [(Kind::WorkloadUnavailable, "deployment/web".into())]);
    assert_eq!(
        (found[0].severity, found[0].summary.as_str()),
        (Severity::Critical, "its controller cannot create pods")
    );
    let t = text(&found[0]);
    assert!(
        t.starts_with("deployment/web: 0/2 available, 0 updated\nreplicaset/web-5d9: event FailedCreate ×31"),
        "{t}"
    );
    assert!(t.contains("exceeded quota: compute"), "{t}");
}

#[test]
fn an_oom_kill_the_container_recovered_from_is_a_warning() {
    let p = pod(
        "worker",
        json!({"nodeName": "n1", "containers": [{"name": "w", "image": "w", "resources": {"limits": {"memory": "128Mi"}}}]}),
        json!({"phase": "Running", "containerStatuses": [{"name": "w", "image": "w", "imageID": "", "ready": true, "restartCount": 1,
            "state": {"running": {"startedAt": "2026-01-01T10:00:00Z"}},
            "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": "2026-01-01T09:59:59Z"}}}]}),
    );
    let found = run(&Snapshot { pods: vec![p], ..Snapshot::default() });
    assert_eq!(kinds(&found), [(Kind::OomKilled, "pod/worker".into())]);
    assert_eq!(found[0].severity, Severity::Warning);
    assert_eq!(text(&found[0]), "exit code 137, 1 restarts\nmemory limit 128Mi, request none");
}
