//! The core/v1 Events a kubelet emits for a pod, built as pure data and created once each.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use tracing::debug;

use super::KUBELET_COMPONENT;
use super::status::{CRASH_FINISHED_AGO, CRASH_RUN, OOM_STARTED_AGO, container_start_time, pod_start_time};
use super::util::{elapsed, k8s_time, truncate_to_second};
use crate::behaviour::Behaviour;

const NORMAL: &str = "Normal";
const WARNING: &str = "Warning";
const BACK_OFF_RESTARTING: &str = "Back-off restarting failed container";
const READINESS_FAILED: &str = "Readiness probe failed: HTTP probe failed with statuscode: 503";

/// One event, before it becomes an API object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventSpec {
    pub name: String,
    pub reason: &'static str,
    pub message: String,
    pub kind: &'static str,
    pub count: i32,
    pub first: OffsetDateTime,
    pub last: OffsetDateTime,
    pub container: String,
}

/// A builder that keeps event names unique per pod (`failed`, `failed-2`, …).
struct Events<'a> {
    pod_name: &'a str,
    uid8: String,
    seen: HashMap<String, u32>,
    out: Vec<EventSpec>,
}

impl<'a> Events<'a> {
    fn new(pod: &'a Pod) -> Self {
        let uid: String = pod
            .metadata
            .uid
            .as_deref()
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_hexdigit)
            .take(8)
            .collect();
        Self {
            pod_name: pod.metadata.name.as_deref().unwrap_or_default(),
            uid8: uid.to_lowercase(),
            seen: HashMap::new(),
            out: Vec::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        container: &str,
        kind: &'static str,
        reason: &'static str,
        message: String,
        count: i32,
        first: OffsetDateTime,
        last: OffsetDateTime,
    ) {
        let base = reason.to_lowercase();
        let n = self.seen.entry(base.clone()).or_insert(0);
        *n += 1;
        let key = if *n == 1 { base } else { format!("{base}-{n}") };
        self.out.push(EventSpec {
            name: format!("{}.{key}-{}", self.pod_name, self.uid8),
            reason,
            message,
            kind,
            count: count.max(1),
            first: first.min(last),
            last,
            container: container.to_owned(),
        });
    }
}

/// Every event the kubelet would have emitted for `pod` by `now`.
pub(crate) fn pod_events(pod: &Pod, behaviour: Behaviour, now: OffsetDateTime) -> Vec<EventSpec> {
    let now = truncate_to_second(now);
    let start = pod_start_time(pod, now);
    let started = container_start_time(pod, now);
    let mut events = Events::new(pod);
    let containers = pod.spec.as_ref().map(|s| s.containers.as_slice()).unwrap_or_default();
    for c in containers {
        let name = c.name.as_str();
        let image = c.image.as_deref().unwrap_or_default();
        if behaviour == Behaviour::ImagePullBackOff {
            image_pull_events(&mut events, name, image, start, now);
            continue;
        }
        let (runs, last_run) = match behaviour {
            Behaviour::CrashLoop { restarts } => {
                (restarts + 1, (now - CRASH_FINISHED_AGO - CRASH_RUN).max(started))
            }
            Behaviour::OomKilled { restarts } => (restarts + 1, (now - OOM_STARTED_AGO).max(started)),
            _ => (1, started),
        };
        let pulled = format!("Container image \"{image}\" already present on machine");
        events.push(name, NORMAL, "Pulled", pulled, runs, started, last_run);
        events.push(name, NORMAL, "Created", "Created container ".to_owned() + name, runs, started, last_run);
        events.push(name, NORMAL, "Started", "Started container ".to_owned() + name, runs, started, last_run);
        match behaviour {
            Behaviour::CrashLoop { restarts } => {
                events.push(
                    name,
                    WARNING,
                    "BackOff",
                    BACK_OFF_RESTARTING.to_owned(),
                    restarts * 4,
                    started,
                    now,
                );
            }
            Behaviour::OomKilled { restarts } => {
                events.push(
                    name,
                    WARNING,
                    "BackOff",
                    BACK_OFF_RESTARTING.to_owned(),
                    restarts * 3,
                    started,
                    now,
                );
            }
            Behaviour::ReadinessFailing => {
                let probes = i32::try_from(elapsed(started, now).whole_seconds() / 10).unwrap_or(i32::MAX);
                let first = (started + Duration::seconds(5)).min(now);
                events.push(
                    name,
                    WARNING,
                    "Unhealthy",
                    READINESS_FAILED.to_owned(),
                    probes.saturating_add(12),
                    first,
                    now,
                );
            }
            Behaviour::Healthy | Behaviour::Fail | Behaviour::ImagePullBackOff => {}
        }
    }
    events.out
}

fn image_pull_events(
    events: &mut Events<'_>,
    name: &str,
    image: &str,
    start: OffsetDateTime,
    now: OffsetDateTime,
) {
    let first = (start + Duration::seconds(1)).min(now);
    let not_found = format!(
        "Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": \
         failed to resolve reference \"{image}\": {image}: not found"
    );
    events.push(name, NORMAL, "Pulling", format!("Pulling image \"{image}\""), 4, first, now);
    events.push(name, WARNING, "Failed", not_found, 4, first, now);
    events.push(name, WARNING, "Failed", "Error: ErrImagePull".to_owned(), 4, first, now);
    events.push(name, NORMAL, "BackOff", format!("Back-off pulling image \"{image}\""), 6, first, now);
    events.push(name, WARNING, "Failed", "Error: ImagePullBackOff".to_owned(), 6, first, now);
}

/// The Event object for `spec` about `pod`, reported by the kubelet on `node`.
pub(crate) fn event_object(pod: &Pod, spec: &EventSpec, node: &str) -> Value {
    let meta = &pod.metadata;
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": { "name": spec.name, "namespace": meta.namespace },
        "involvedObject": {
            "apiVersion": "v1",
            "kind": "Pod",
            "namespace": meta.namespace,
            "name": meta.name,
            "uid": meta.uid,
            "resourceVersion": meta.resource_version,
            "fieldPath": format!("spec.containers{{{}}}", spec.container),
        },
        "reason": spec.reason,
        "message": spec.message,
        "type": spec.kind,
        "source": { "component": KUBELET_COMPONENT, "host": node },
        "firstTimestamp": k8s_time(spec.first),
        "lastTimestamp": k8s_time(spec.last),
        "count": spec.count,
        "reportingComponent": KUBELET_COMPONENT,
        "reportingInstance": node,
    })
}

/// Create every event for `pod` (existing ones are left alone). Returns the first failure, after trying all.
pub(crate) async fn create_pod_events(
    client: &kube::Client,
    pod: &Pod,
    behaviour: Behaviour,
    node: &str,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    let mut first_error = None;
    for spec in pod_events(pod, behaviour, now) {
        let event: Event = serde_json::from_value(event_object(pod, &spec, node))?;
        match api.create(&PostParams::default(), &event).await {
            Ok(_) => debug!(event = %spec.name, "created event"),
            Err(kube::Error::Api(status)) if status.is_already_exists() => {}
            Err(err) => {
                first_error
                    .get_or_insert(anyhow::Error::new(err).context(format!("creating event {}", spec.name)));
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-21 17:10:00 UTC);

    fn pod() -> Pod {
        serde_json::from_value(json!({
            "metadata": {
                "name": "thumb-1", "namespace": "demo-batch", "uid": "0A1B2C3D-0000-0000-0000-000000000000",
                "resourceVersion": "42", "creationTimestamp": "2026-11-21T17:00:00Z",
            },
            "spec": { "containers": [{ "name": "thumbnailer", "image": "acme/thumbnailer:9.9.9" }] },
        }))
        .expect("valid pod")
    }

    #[test]
    fn image_pull_events_have_distinct_names() {
        let events = pod_events(&pod(), Behaviour::ImagePullBackOff, NOW);
        let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "thumb-1.pulling-0a1b2c3d",
                "thumb-1.failed-0a1b2c3d",
                "thumb-1.failed-2-0a1b2c3d",
                "thumb-1.backoff-0a1b2c3d",
                "thumb-1.failed-3-0a1b2c3d"
            ]
        );
        assert!(events[1].message.ends_with("acme/thumbnailer:9.9.9: not found"));
        assert!(events.iter().all(|e| e.reason != "Pulled"));
    }

    #[test]
    fn crash_loop_back_off_count() {
        let events = pod_events(&pod(), Behaviour::CrashLoop { restarts: 47 }, NOW);
        let reasons: Vec<&str> = events.iter().map(|e| e.reason).collect();
        assert_eq!(reasons, ["Pulled", "Created", "Started", "BackOff"]);
        assert_eq!(events[3].count, 188);
        assert_eq!(events[3].kind, "Warning");
        assert!(events.iter().all(|e| e.first <= e.last));
    }

    #[test]
    fn event_object_is_a_valid_kubelet_event() {
        let p = pod();
        let spec = &pod_events(&p, Behaviour::ReadinessFailing, NOW)[3];
        let value = event_object(&p, spec, "node-1");
        assert_eq!(value["involvedObject"]["uid"], "0A1B2C3D-0000-0000-0000-000000000000");
        assert_eq!(value["involvedObject"]["fieldPath"], "spec.containers{thumbnailer}");
        assert_eq!(value["source"]["component"], "kubelet");
        assert_eq!(value["reason"], "Unhealthy");
        let event: Event = serde_json::from_value(value).expect("valid Event");
        assert_eq!(event.reporting_instance.as_deref(), Some("node-1"));
    }
}
