//! Pure pod-status construction: what a kubelet would report for a pod with a given
//! [`Behaviour`](crate::behaviour::Behaviour), plus QoS class and pod-IP allocation.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::util::{from_k8s_time, hex_digest, k8s_time, truncate_to_second};
use super::{HOST_IP, NODE_POD_NET};
use crate::behaviour::Behaviour;
use crate::quantity::parse as parse_quantity;

pub(crate) const REASON_CRASH_LOOP: &str = "CrashLoopBackOff";
pub(crate) const REASON_IMAGE_PULL_BACK_OFF: &str = "ImagePullBackOff";
pub(crate) const REASON_ERR_IMAGE_PULL: &str = "ErrImagePull";
pub(crate) const REASON_OOM_KILLED: &str = "OOMKilled";
pub(crate) const REASON_ERROR: &str = "Error";
const REASON_COMPLETED: &str = "Completed";
const REASON_CONTAINERS_NOT_READY: &str = "ContainersNotReady";
const REASON_POD_FAILED: &str = "PodFailed";

/// How long a crash-looping container ran before it died.
pub(crate) const CRASH_RUN: Duration = Duration::seconds(40);
/// How long ago the last crash-looping run finished.
pub(crate) const CRASH_FINISHED_AGO: Duration = Duration::minutes(2);
/// The kubelet's maximum restart back-off, which is what a long crash loop sits at.
pub(crate) const MAX_BACK_OFF: Duration = Duration::minutes(5);
/// The latest OOM-killed run.
pub(crate) const OOM_STARTED_AGO: Duration = Duration::seconds(50);
const OOM_FINISHED_AGO: Duration = Duration::seconds(5);
/// The OOM-killed run before that.
const OOM_PREV_STARTED_AGO: Duration = Duration::minutes(6);
const OOM_PREV_FINISHED_AGO: Duration = Duration::seconds(310);
/// Delay between the pod's start and its containers' start.
const CONTAINER_START_DELAY: Duration = Duration::seconds(1);

/// The time the kubelet first saw the pod: existing `status.startTime`, else creation, else now.
pub(crate) fn pod_start_time(pod: &Pod, now: OffsetDateTime) -> OffsetDateTime {
    let existing = pod.status.as_ref().and_then(|s| s.start_time.as_ref()).and_then(from_k8s_time);
    let created = pod.metadata.creation_timestamp.as_ref().and_then(from_k8s_time);
    existing.or(created).unwrap_or(now).min(now)
}

/// When the pod's (current) containers started, for behaviours with a single long run.
pub(crate) fn container_start_time(pod: &Pod, now: OffsetDateTime) -> OffsetDateTime {
    (pod_start_time(pod, now) + CONTAINER_START_DELAY).min(truncate_to_second(now))
}

/// `containerd://<64 hex>`, deterministic per pod, container and run.
pub(crate) fn container_id(uid: &str, container: &str, run: i32) -> String {
    format!("containerd://{}", hex_digest(&[uid, container, &run.to_string()], 64))
}

/// The image reference without tag or digest, fully qualified like containerd reports it.
pub(crate) fn image_repository(image: &str) -> String {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last_slash = without_digest.rfind('/').map_or(0, |i| i + 1);
    let repo = match without_digest[last_slash..].find(':') {
        Some(colon) => &without_digest[..last_slash + colon],
        None => without_digest,
    };
    let first = repo.split('/').next().unwrap_or(repo);
    let has_registry =
        repo.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    if has_registry {
        repo.to_owned()
    } else if repo.contains('/') {
        format!("docker.io/{repo}")
    } else {
        format!("docker.io/library/{repo}")
    }
}

/// `docker.io/library/<repo>@sha256:<64 hex>`, deterministic per image.
pub(crate) fn image_id(image: &str) -> String {
    format!("{}@sha256:{}", image_repository(image), hex_digest(&["image", image], 64))
}

/// Whether the pod still lacks a kubelet-written status (new, or reset by someone).
pub(crate) fn needs_status(pod: &Pod) -> bool {
    let Some(status) = pod.status.as_ref() else {
        return true;
    };
    let no_containers = status.container_statuses.as_ref().is_none_or(Vec::is_empty);
    let no_host = status.host_ip.as_deref().is_none_or(str::is_empty);
    no_containers || no_host
}

/// The pod's IP from its status, if any.
pub(crate) fn existing_pod_ip(pod: &Pod) -> Option<Ipv4Addr> {
    pod.status.as_ref()?.pod_ip.as_deref()?.parse().ok()
}

/// The full `status` object the kubelet would write for `pod` behaving as `behaviour`.
pub(crate) fn pod_status(
    pod: &Pod,
    behaviour: Behaviour,
    pod_ip: Option<Ipv4Addr>,
    now: OffsetDateTime,
) -> Value {
    let now = truncate_to_second(now);
    let start = pod_start_time(pod, now);
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    let spec = pod.spec.as_ref();
    let containers = spec.map(|s| s.containers.as_slice()).unwrap_or_default();
    let init_containers = spec.and_then(|s| s.init_containers.as_deref()).unwrap_or_default();
    let ctx = ContainerContext { uid, pod_name, namespace, behaviour, start, now };

    let statuses: Vec<Value> = containers.iter().map(|c| ctx.container_status(c)).collect();
    let init_statuses: Vec<Value> = init_containers.iter().map(|c| ctx.init_container_status(c)).collect();
    let unready: Vec<&str> =
        containers.iter().map(|c| c.name.as_str()).filter(|_| !is_ready(behaviour)).collect();

    let mut status = json!({
        "phase": phase(behaviour),
        "conditions": conditions(behaviour, &unready, start),
        "hostIP": HOST_IP,
        "startTime": k8s_time(start),
        "qosClass": qos_class_of(pod),
        "containerStatuses": statuses,
    });
    if !init_statuses.is_empty() {
        status["initContainerStatuses"] = Value::Array(init_statuses);
    }
    if let Some(ip) = pod_ip {
        status["podIP"] = json!(ip.to_string());
        status["podIPs"] = json!([{ "ip": ip.to_string() }]);
    }
    status
}

fn phase(behaviour: Behaviour) -> &'static str {
    match behaviour {
        Behaviour::ImagePullBackOff => "Pending",
        Behaviour::Fail => "Failed",
        Behaviour::Healthy
        | Behaviour::CrashLoop { .. }
        | Behaviour::OomKilled { .. }
        | Behaviour::ReadinessFailing => "Running",
    }
}

fn is_ready(behaviour: Behaviour) -> bool {
    matches!(behaviour, Behaviour::Healthy)
}

fn conditions(behaviour: Behaviour, unready: &[&str], start: OffsetDateTime) -> Value {
    let at = k8s_time(start);
    let plain = |kind: &str| json!({ "type": kind, "status": "True", "lastProbeTime": null, "lastTransitionTime": at });
    let readiness = |kind: &str| {
        if behaviour == Behaviour::Fail {
            json!({ "type": kind, "status": "False", "reason": REASON_POD_FAILED, "lastProbeTime": null, "lastTransitionTime": at })
        } else if unready.is_empty() {
            plain(kind)
        } else {
            json!({
                "type": kind,
                "status": "False",
                "reason": REASON_CONTAINERS_NOT_READY,
                "message": format!("containers with unready status: [{}]", unready.join(" ")),
                "lastProbeTime": null,
                "lastTransitionTime": at,
            })
        }
    };
    json!([plain("Initialized"), readiness("Ready"), readiness("ContainersReady"), plain("PodScheduled")])
}

struct ContainerContext<'a> {
    uid: &'a str,
    pod_name: &'a str,
    namespace: &'a str,
    behaviour: Behaviour,
    start: OffsetDateTime,
    now: OffsetDateTime,
}

impl ContainerContext<'_> {
    fn container_start(&self) -> OffsetDateTime {
        (self.start + CONTAINER_START_DELAY).min(self.now)
    }

    fn terminated(
        &self,
        name: &str,
        run: i32,
        exit_code: i32,
        reason: &str,
        started: OffsetDateTime,
        finished: OffsetDateTime,
    ) -> Value {
        json!({ "terminated": {
            "exitCode": exit_code,
            "reason": reason,
            "startedAt": k8s_time(started),
            "finishedAt": k8s_time(finished),
            "containerID": container_id(self.uid, name, run),
        }})
    }

    fn container_status(&self, c: &Container) -> Value {
        let name = c.name.as_str();
        let image = c.image.as_deref().unwrap_or_default();
        let (state, last_state, restarts, ready, started) = self.states(name, image);
        let mut status = json!({
            "name": name,
            "image": image,
            "imageID": image_id(image),
            "containerID": container_id(self.uid, name, restarts),
            "started": started,
            "ready": ready,
            "restartCount": restarts,
            "state": state,
            "lastState": last_state,
        });
        if self.behaviour == Behaviour::ImagePullBackOff {
            status["imageID"] = json!("");
            if let Some(fields) = status.as_object_mut() {
                fields.remove("containerID");
            }
        }
        status
    }

    /// (state, lastState, restartCount, ready, started)
    fn states(&self, name: &str, image: &str) -> (Value, Value, i32, bool, bool) {
        let now = self.now;
        let running = || json!({ "running": { "startedAt": k8s_time(self.container_start()) } });
        match self.behaviour {
            Behaviour::Healthy => (running(), json!({}), 0, true, true),
            Behaviour::ReadinessFailing => (running(), json!({}), 0, false, true),
            Behaviour::CrashLoop { restarts } => {
                let finished = now - CRASH_FINISHED_AGO;
                let waiting = json!({ "waiting": {
                    "reason": REASON_CRASH_LOOP,
                    "message": format!(
                        "back-off {} restarting failed container={name} pod={}_{}({})",
                        go_duration(MAX_BACK_OFF), self.pod_name, self.namespace, self.uid
                    ),
                }});
                let last = self.terminated(name, restarts, 1, REASON_ERROR, finished - CRASH_RUN, finished);
                (waiting, last, restarts, false, false)
            }
            Behaviour::OomKilled { restarts } => {
                let state = self.terminated(
                    name,
                    restarts,
                    137,
                    REASON_OOM_KILLED,
                    now - OOM_STARTED_AGO,
                    now - OOM_FINISHED_AGO,
                );
                let last = self.terminated(
                    name,
                    restarts - 1,
                    137,
                    REASON_OOM_KILLED,
                    now - OOM_PREV_STARTED_AGO,
                    now - OOM_PREV_FINISHED_AGO,
                );
                (state, last, restarts, false, false)
            }
            Behaviour::ImagePullBackOff => {
                let waiting = json!({ "waiting": {
                    "reason": REASON_IMAGE_PULL_BACK_OFF,
                    "message": format!("Back-off pulling image \"{image}\""),
                }});
                (waiting, json!({}), 0, false, false)
            }
            Behaviour::Fail => {
                let started = self.container_start();
                let state = self.terminated(name, 0, 1, REASON_ERROR, started, now);
                (state, json!({}), 0, false, false)
            }
        }
    }

    fn init_container_status(&self, c: &Container) -> Value {
        let image = c.image.as_deref().unwrap_or_default();
        let at = self.start.min(self.now);
        json!({
            "name": c.name,
            "image": image,
            "imageID": image_id(image),
            "containerID": container_id(self.uid, &c.name, 0),
            "started": false,
            "ready": true,
            "restartCount": 0,
            "state": { "terminated": {
                "exitCode": 0,
                "reason": REASON_COMPLETED,
                "startedAt": k8s_time(at),
                "finishedAt": k8s_time(at),
                "containerID": container_id(self.uid, &c.name, 0),
            }},
            "lastState": {},
        })
    }
}

/// Go's `time.Duration` formatting for whole minutes/seconds (`5m0s`, `40s`).
fn go_duration(d: Duration) -> String {
    let secs = d.whole_seconds();
    if secs >= 60 { format!("{}m{}s", secs / 60, secs % 60) } else { format!("{secs}s") }
}

/// The pod's QoS class: the one the apiserver computed at creation, else computed here.
pub(crate) fn qos_class_of(pod: &Pod) -> String {
    pod.status
        .as_ref()
        .and_then(|s| s.qos_class.clone())
        .filter(|q| !q.is_empty())
        .unwrap_or_else(|| compute_qos_class(pod).to_owned())
}

const QOS_RESOURCES: [&str; 2] = ["cpu", "memory"];

/// The positive cpu/memory amounts in a requests or limits map.
fn qos_amounts(list: Option<&BTreeMap<String, Quantity>>) -> impl Iterator<Item = (&'static str, f64)> + '_ {
    list.into_iter().flatten().filter_map(|(name, quantity)| {
        let key = QOS_RESOURCES.iter().find(|k| **k == name)?;
        parse_quantity(&quantity.0).filter(|v| *v > 0.0).map(|v| (*key, v))
    })
}

/// Kubernetes' `GetPodQOS`: BestEffort, Guaranteed or Burstable from cpu/memory requests and limits.
pub(crate) fn compute_qos_class(pod: &Pod) -> &'static str {
    let Some(spec) = pod.spec.as_ref() else {
        return "BestEffort";
    };
    let all = spec.containers.iter().chain(spec.init_containers.iter().flatten());
    let mut requests: BTreeMap<&str, f64> = BTreeMap::new();
    let mut limits: BTreeMap<&str, f64> = BTreeMap::new();
    let mut guaranteed = true;
    for container in all {
        let resources = container.resources.as_ref();
        for (key, v) in qos_amounts(resources.and_then(|r| r.requests.as_ref())) {
            *requests.entry(key).or_default() += v;
        }
        let mut found = HashSet::new();
        for (key, v) in qos_amounts(resources.and_then(|r| r.limits.as_ref())) {
            found.insert(key);
            *limits.entry(key).or_default() += v;
        }
        if found.len() != QOS_RESOURCES.len() {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    let same = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
    let requests_match = requests.iter().all(|(k, req)| limits.get(k).is_some_and(|lim| same(*lim, *req)));
    if guaranteed && requests_match && requests.len() == limits.len() { "Guaranteed" } else { "Burstable" }
}

/// Sequential pod-IP allocation from the node's /24 (`.2` … `.254`), one address per pod uid.
#[derive(Debug, Default)]
pub(crate) struct IpPool {
    by_uid: HashMap<String, Ipv4Addr>,
    next: u8,
}

impl IpPool {
    const FIRST: u8 = 2;
    const LAST: u8 = 254;

    fn addr(host: u8) -> Ipv4Addr {
        let [a, b, c, _] = NODE_POD_NET.octets();
        Ipv4Addr::new(a, b, c, host)
    }

    fn in_use(&self, ip: Ipv4Addr) -> bool {
        self.by_uid.values().any(|used| *used == ip)
    }

    /// The pod's address: the one it already has, else the next free one (reused round-robin when full).
    pub(crate) fn allocate(&mut self, uid: &str) -> Ipv4Addr {
        if let Some(ip) = self.by_uid.get(uid) {
            return *ip;
        }
        let span = Self::LAST - Self::FIRST + 1;
        let start = self.next.clamp(Self::FIRST, Self::LAST);
        let mut chosen = Self::addr(start);
        for offset in 0..span {
            let host = Self::FIRST + (start - Self::FIRST + offset) % span;
            if !self.in_use(Self::addr(host)) {
                chosen = Self::addr(host);
                break;
            }
        }
        let host = chosen.octets()[3];
        self.next = if host >= Self::LAST { Self::FIRST } else { host + 1 };
        self.by_uid.insert(uid.to_owned(), chosen);
        chosen
    }

    /// Record an address a pod already has (e.g. after a restart of the fake kubelet).
    pub(crate) fn reserve(&mut self, uid: &str, ip: Ipv4Addr) {
        self.by_uid.insert(uid.to_owned(), ip);
    }

    /// Forget every pod not in `live`.
    pub(crate) fn retain(&mut self, live: &HashSet<String>) {
        self.by_uid.retain(|uid, _| live.contains(uid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::PodStatus;
    use time::macros::datetime;

    fn pod(annotation: &str, resources: Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {
                "name": "web-1", "namespace": "default", "uid": "0a1b2c3d-0000-0000-0000-000000000000",
                "creationTimestamp": "2026-11-21T17:00:00Z",
                "annotations": { crate::behaviour::BEHAVIOUR_ANNOTATION: annotation },
            },
            "spec": { "nodeName": "node-1", "containers": [{ "name": "app", "image": "nginx:1.25", "resources": resources }] },
        }))
        .expect("valid pod")
    }

    const NOW: OffsetDateTime = datetime!(2026-11-21 17:10:00 UTC);

    #[test]
    fn healthy_pod_is_running_and_ready() {
        let p = pod("healthy", json!({}));
        let s = pod_status(&p, Behaviour::Healthy, Some(Ipv4Addr::new(10, 244, 0, 2)), NOW);
        assert_eq!(s["phase"], "Running");
        assert_eq!(s["podIP"], "10.244.0.2");
        assert_eq!(s["hostIP"], "127.0.0.1");
        assert_eq!(s["startTime"], "2026-11-21T17:00:00Z");
        let c = &s["containerStatuses"][0];
        assert_eq!(c["ready"], true);
        assert_eq!(c["state"]["running"]["startedAt"], "2026-11-21T17:00:01Z");
        assert!(c["imageID"].as_str().is_some_and(|id| id.starts_with("docker.io/library/nginx@sha256:")));
        assert_eq!(c["containerID"].as_str().map(str::len), Some("containerd://".len() + 64));
        assert_eq!(s["conditions"][1]["status"], "True");
        // The status deserializes as a PodStatus.
        serde_json::from_value::<PodStatus>(s).expect("valid PodStatus");
    }

    #[test]
    fn crash_loop_waits_with_last_termination() {
        let p = pod("crashloop", json!({}));
        let s = pod_status(&p, Behaviour::CrashLoop { restarts: 47 }, None, NOW);
        let c = &s["containerStatuses"][0];
        assert_eq!(c["restartCount"], 47);
        assert_eq!(c["state"]["waiting"]["reason"], "CrashLoopBackOff");
        assert_eq!(
            c["state"]["waiting"]["message"],
            "back-off 5m0s restarting failed container=app pod=web-1_default(0a1b2c3d-0000-0000-0000-000000000000)"
        );
        assert_eq!(c["lastState"]["terminated"]["exitCode"], 1);
        assert_eq!(c["lastState"]["terminated"]["finishedAt"], "2026-11-21T17:08:00Z");
        assert_eq!(c["lastState"]["terminated"]["startedAt"], "2026-11-21T17:07:20Z");
        assert_eq!(s["conditions"][1]["message"], "containers with unready status: [app]");
    }

    #[test]
    fn image_pull_is_pending_without_image_id() {
        let p = pod("image-pull", json!({}));
        let s = pod_status(&p, Behaviour::ImagePullBackOff, None, NOW);
        assert_eq!(s["phase"], "Pending");
        let c = &s["containerStatuses"][0];
        assert_eq!(c["imageID"], "");
        assert!(c.get("containerID").is_none());
        assert_eq!(c["state"]["waiting"]["message"], "Back-off pulling image \"nginx:1.25\"");
    }

    #[test]
    fn oom_and_fail_terminate() {
        let p = pod("oom-killed", json!({}));
        let s = pod_status(&p, Behaviour::OomKilled { restarts: 5 }, None, NOW);
        let c = &s["containerStatuses"][0];
        assert_eq!(c["state"]["terminated"]["reason"], "OOMKilled");
        assert_eq!(c["lastState"]["terminated"]["exitCode"], 137);
        let s = pod_status(&p, Behaviour::Fail, None, NOW);
        assert_eq!(s["phase"], "Failed");
        assert_eq!(s["conditions"][1]["reason"], "PodFailed");
        assert_eq!(s["containerStatuses"][0]["state"]["terminated"]["exitCode"], 1);
    }

    #[test]
    fn qos_classes() {
        assert_eq!(compute_qos_class(&pod("", json!({}))), "BestEffort");
        let guaranteed = json!({ "requests": { "cpu": "500m", "memory": "128Mi" }, "limits": { "cpu": "0.5", "memory": "134217728" } });
        assert_eq!(compute_qos_class(&pod("", guaranteed)), "Guaranteed");
        let burstable = json!({ "requests": { "cpu": "100m", "memory": "64Mi" }, "limits": { "cpu": "500m", "memory": "128Mi" } });
        assert_eq!(compute_qos_class(&pod("", burstable)), "Burstable");
        let only_memory = json!({ "limits": { "memory": "128Mi" }, "requests": { "memory": "128Mi" } });
        assert_eq!(compute_qos_class(&pod("", only_memory)), "Burstable");
    }

    #[test]
    fn image_repositories() {
        assert_eq!(image_repository("nginx:1.25"), "docker.io/library/nginx");
        assert_eq!(image_repository("nginx"), "docker.io/library/nginx");
        assert_eq!(image_repository("bitnami/redis:7"), "docker.io/bitnami/redis");
        assert_eq!(image_repository("ghcr.io/acme/orders:2.4.1"), "ghcr.io/acme/orders");
        assert_eq!(image_repository("localhost:5000/app:1"), "localhost:5000/app");
        assert_eq!(image_repository("busybox@sha256:abc"), "docker.io/library/busybox");
    }

    #[test]
    fn ip_pool_is_sequential_and_stable() {
        let mut pool = IpPool::default();
        assert_eq!(pool.allocate("a"), Ipv4Addr::new(10, 244, 0, 2));
        assert_eq!(pool.allocate("b"), Ipv4Addr::new(10, 244, 0, 3));
        assert_eq!(pool.allocate("a"), Ipv4Addr::new(10, 244, 0, 2));
        pool.reserve("c", Ipv4Addr::new(10, 244, 0, 4));
        assert_eq!(pool.allocate("d"), Ipv4Addr::new(10, 244, 0, 5));
        pool.retain(&HashSet::from(["d".to_owned()]));
        assert_eq!(pool.allocate("e"), Ipv4Addr::new(10, 244, 0, 6));
    }
}
