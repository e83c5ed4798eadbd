//! kubectl's describers for ReplicaSet, Job, StatefulSet, DaemonSet, PersistentVolumeClaim and
//! ServiceAccount.

use serde_json::Value;

use super::pod;
use super::writer::{self, Writer, array, int, s, scalar, string_map};

/// Phases of the pods a controller owns: running, waiting (pending), succeeded, failed.
#[derive(Debug, Default, Clone, Copy)]
pub struct PodCounts {
    pub running: usize,
    pub waiting: usize,
    pub succeeded: usize,
    pub failed: usize,
}

impl PodCounts {
    pub fn of(pods: &[Value]) -> Self {
        let mut c = Self::default();
        for p in pods {
            match s(p, "/status/phase") {
                "Running" => c.running += 1,
                "Pending" => c.waiting += 1,
                "Succeeded" => c.succeeded += 1,
                "Failed" => c.failed += 1,
                _ => {}
            }
        }
        c
    }

    fn line(self) -> String {
        format!(
            "Pods Status:\t{} Running / {} Waiting / {} Succeeded / {} Failed",
            self.running, self.waiting, self.succeeded, self.failed
        )
    }
}

fn labels_and_annotations(w: &mut Writer, o: &Value) {
    writer::labels_multiline(w, 0, "Labels", &string_map(o, "/metadata/labels"));
    writer::annotations_multiline(w, 0, "Annotations", &string_map(o, "/metadata/annotations"));
}

fn controlled_by(w: &mut Writer, o: &Value) {
    if let Some(c) = writer::controller(o) {
        w.line(0, &format!("Controlled By:\t{c}"));
    }
}

/// kubectl's `Conditions:` block (Type / Status / Reason) for workload kinds.
pub(super) fn conditions(w: &mut Writer, o: &Value) {
    let conditions = array(o, "/status/conditions");
    if !conditions.is_empty() {
        w.line(0, "Conditions:");
        w.line(1, "Type\tStatus\tReason");
        w.line(1, "----\t------\t------");
        for c in conditions {
            w.line(1, &format!("{} \t{}\t{}", s(c, "/type"), s(c, "/status"), s(c, "/reason")));
        }
    }
}

pub fn replica_set(w: &mut Writer, rs: &Value, pods: PodCounts) {
    w.line(0, &format!("Name:\t{}", s(rs, "/metadata/name")));
    w.line(0, &format!("Namespace:\t{}", s(rs, "/metadata/namespace")));
    w.line(0, &format!("Selector:\t{}", pod::selector_text(rs.pointer("/spec/selector"))));
    labels_and_annotations(w, rs);
    controlled_by(w, rs);
    w.line(
        0,
        &format!(
            "Replicas:\t{} current / {} desired",
            int(rs, "/status/replicas"),
            rs.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)
        ),
    );
    w.line(0, &pods.line());
    pod::template(w, rs.pointer("/spec/template"));
    conditions(w, rs);
}

pub fn job(w: &mut Writer, job: &Value) {
    w.line(0, &format!("Name:\t{}", s(job, "/metadata/name")));
    w.line(0, &format!("Namespace:\t{}", s(job, "/metadata/namespace")));
    w.line(0, &format!("Selector:\t{}", pod::selector_text(job.pointer("/spec/selector"))));
    labels_and_annotations(w, job);
    controlled_by(w, job);
    let present = |ptr: &str| job.pointer(ptr).is_some_and(|v| !v.is_null());
    if present("/spec/parallelism") {
        w.line(0, &format!("Parallelism:\t{}", int(job, "/spec/parallelism")));
    }
    if present("/spec/completions") {
        w.line(0, &format!("Completions:\t{}", int(job, "/spec/completions")));
    } else {
        w.line(0, "Completions:\t<unset>");
    }
    if present("/spec/completionMode") {
        w.line(0, &format!("Completion Mode:\t{}", s(job, "/spec/completionMode")));
    }
    if present("/spec/suspend") {
        w.line(0, &format!("Suspend:\t{}", scalar(job, "/spec/suspend")));
    }
    if present("/spec/backoffLimit") {
        w.line(0, &format!("Backoff Limit:\t{}", int(job, "/spec/backoffLimit")));
    }
    if present("/spec/ttlSecondsAfterFinished") {
        w.line(0, &format!("TTL Seconds After Finished:\t{}", int(job, "/spec/ttlSecondsAfterFinished")));
    }
    let (start, done) = (s(job, "/status/startTime"), s(job, "/status/completionTime"));
    if !start.is_empty() {
        w.line(0, &format!("Start Time:\t{}", writer::rfc1123z(start)));
    }
    if !done.is_empty() {
        w.line(0, &format!("Completed At:\t{}", writer::rfc1123z(done)));
    }
    if let (Ok(a), Ok(b)) = (parse_time(start), parse_time(done)) {
        w.line(0, &format!("Duration:\t{}", crate::engine::age::human_duration(b - a)));
    }
    if present("/spec/activeDeadlineSeconds") {
        w.line(0, &format!("Active Deadline Seconds:\t{}s", int(job, "/spec/activeDeadlineSeconds")));
    }
    let (active, succeeded, failed) =
        (int(job, "/status/active"), int(job, "/status/succeeded"), int(job, "/status/failed"));
    if present("/status/ready") {
        w.line(
            0,
            &format!(
                "Pods Statuses:\t{active} Active ({} Ready) / {succeeded} Succeeded / {failed} Failed",
                int(job, "/status/ready")
            ),
        );
    } else {
        w.line(0, &format!("Pods Statuses:\t{active} Active / {succeeded} Succeeded / {failed} Failed"));
    }
    if s(job, "/spec/completionMode") == "Indexed" {
        w.line(0, &format!("Completed Indexes:\t{}", writer::or_none(s(job, "/status/completedIndexes"))));
    }
    pod::template(w, job.pointer("/spec/template"));
}

fn parse_time(text: &str) -> Result<time::OffsetDateTime, time::error::Parse> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
}

pub fn stateful_set(w: &mut Writer, sts: &Value, pods: PodCounts) {
    w.line(0, &format!("Name:\t{}", s(sts, "/metadata/name")));
    w.line(0, &format!("Namespace:\t{}", s(sts, "/metadata/namespace")));
    w.line(0, &format!("CreationTimestamp:\t{}", writer::rfc1123z(s(sts, "/metadata/creationTimestamp"))));
    w.line(0, &format!("Selector:\t{}", pod::selector_text(sts.pointer("/spec/selector"))));
    labels_and_annotations(w, sts);
    w.line(
        0,
        &format!(
            "Replicas:\t{} desired | {} total",
            sts.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1),
            int(sts, "/status/replicas")
        ),
    );
    w.line(0, &format!("Update Strategy:\t{}", s(sts, "/spec/updateStrategy/type")));
    if sts.pointer("/spec/updateStrategy/rollingUpdate/partition").is_some_and(|v| !v.is_null()) {
        w.line(1, &format!("Partition:\t{}", int(sts, "/spec/updateStrategy/rollingUpdate/partition")));
        if !scalar(sts, "/spec/updateStrategy/rollingUpdate/maxUnavailable").is_empty() {
            w.line(
                1,
                &format!(
                    "MaxUnavailable:\t{}",
                    scalar(sts, "/spec/updateStrategy/rollingUpdate/maxUnavailable")
                ),
            );
        }
    }
    w.line(0, &pods.line());
    pod::template(w, sts.pointer("/spec/template"));
    let templates = array(sts, "/spec/volumeClaimTemplates");
    if templates.is_empty() {
        w.line(0, "Volume Claims:\t<none>");
    } else {
        w.line(0, "Volume Claims:");
        for pvc in templates {
            w.line(1, &format!("Name:\t{}", s(pvc, "/metadata/name")));
            w.line(1, &format!("StorageClass:\t{}", claim_class(pvc)));
            writer::labels_multiline(w, 1, "Labels", &string_map(pvc, "/metadata/labels"));
            writer::labels_multiline(w, 1, "Annotations", &string_map(pvc, "/metadata/annotations"));
            match s(pvc, "/spec/resources/requests/storage") {
                "" => w.line(1, "Capacity:\t<default>"),
                c => w.line(1, &format!("Capacity:\t{c}")),
            }
            let modes: Vec<&str> = array(pvc, "/spec/accessModes").iter().filter_map(Value::as_str).collect();
            w.line(1, &format!("Access Modes:\t[{}]", modes.join(" ")));
        }
    }
}

pub fn daemon_set(w: &mut Writer, ds: &Value, pods: PodCounts) {
    w.line(0, &format!("Name:\t{}", s(ds, "/metadata/name")));
    w.line(0, &format!("Selector:\t{}", pod::selector_text(ds.pointer("/spec/selector"))));
    let node_selector: Vec<String> = string_map(ds, "/spec/template/spec/nodeSelector")
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    w.line(0, &format!("Node-Selector:\t{}", writer::or_none(&node_selector.join(","))));
    labels_and_annotations(w, ds);
    w.line(0, &format!("Desired Number of Nodes Scheduled: {}", int(ds, "/status/desiredNumberScheduled")));
    w.line(0, &format!("Current Number of Nodes Scheduled: {}", int(ds, "/status/currentNumberScheduled")));
    w.line(
        0,
        &format!(
            "Number of Nodes Scheduled with Up-to-date Pods: {}",
            int(ds, "/status/updatedNumberScheduled")
        ),
    );
    w.line(
        0,
        &format!("Number of Nodes Scheduled with Available Pods: {}", int(ds, "/status/numberAvailable")),
    );
    w.line(0, &format!("Number of Nodes Misscheduled: {}", int(ds, "/status/numberMisscheduled")));
    w.line(0, &pods.line());
    pod::template(w, ds.pointer("/spec/template"));
}

/// `storageutil.GetPersistentVolumeClaimClass`.
fn claim_class(pvc: &Value) -> String {
    match s(pvc, "/spec/storageClassName") {
        "" => s(pvc, "/metadata/annotations/volume.beta.kubernetes.io~1storage-class").to_string(),
        c => c.to_string(),
    }
}

/// `RWO,ROX,RWX,RWOP`.
fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .into_iter()
    .filter(|(m, _)| has(m))
    .map(|(_, short)| short)
    .collect::<Vec<_>>()
    .join(",")
}

pub fn pvc(w: &mut Writer, pvc: &Value, used_by: &[String]) {
    w.line(0, &format!("Name:\t{}", s(pvc, "/metadata/name")));
    w.line(0, &format!("Namespace:\t{}", s(pvc, "/metadata/namespace")));
    w.line(0, &format!("StorageClass:\t{}", claim_class(pvc)));
    if s(pvc, "/metadata/deletionTimestamp").is_empty() {
        w.line(0, &format!("Status:\t{}", s(pvc, "/status/phase")));
    } else {
        w.line(
            0,
            &format!(
                "Status:\tTerminating (lasts {})",
                writer::since(s(pvc, "/metadata/deletionTimestamp"), time::OffsetDateTime::now_utc())
            ),
        );
    }
    w.line(0, &format!("Volume:\t{}", s(pvc, "/spec/volumeName")));
    labels_and_annotations(w, pvc);
    let finalizers: Vec<&str> = array(pvc, "/metadata/finalizers").iter().filter_map(Value::as_str).collect();
    w.line(0, &format!("Finalizers:\t[{}]", finalizers.join(" ")));
    let (capacity, modes) = if s(pvc, "/spec/volumeName").is_empty() {
        (String::new(), String::new())
    } else {
        (s(pvc, "/status/capacity/storage").to_string(), access_modes(array(pvc, "/status/accessModes")))
    };
    w.line(0, &format!("Capacity:\t{capacity}"));
    w.line(0, &format!("Access Modes:\t{modes}"));
    if !s(pvc, "/spec/volumeMode").is_empty() {
        w.line(0, &format!("VolumeMode:\t{}", s(pvc, "/spec/volumeMode")));
    }
    w.write(0, "Used By:\t");
    if used_by.is_empty() {
        w.line(0, "<none>");
    }
    for (i, name) in used_by.iter().enumerate() {
        if i != 0 {
            w.write(0, "\t");
        }
        w.line(0, name);
    }
}

/// kubectl's ServiceAccount describer. Token Secrets are recognised by name (`<sa>-token-…`)
/// rather than by reading Secrets, so describing a ServiceAccount never reads a Secret.
pub fn service_account(w: &mut Writer, sa: &Value) {
    w.line(0, &format!("Name:\t{}", s(sa, "/metadata/name")));
    w.line(0, &format!("Namespace:\t{}", s(sa, "/metadata/namespace")));
    labels_and_annotations(w, sa);
    let names = |ptr: &str| array(sa, ptr).iter().map(|r| s(r, "/name").to_string()).collect::<Vec<_>>();
    let token_prefix = format!("{}-token-", s(sa, "/metadata/name"));
    let mountable = names("/secrets");
    let tokens: Vec<String> = mountable.iter().filter(|n| n.starts_with(&token_prefix)).cloned().collect();
    for (header, list) in [
        ("Image pull secrets:", names("/imagePullSecrets")),
        ("Mountable secrets: ", mountable),
        ("Tokens:            ", tokens),
    ] {
        if list.is_empty() {
            w.line(0, &format!("{header}\t<none>"));
        }
        for (i, name) in list.iter().enumerate() {
            let prefix = if i == 0 { header } else { "                   " };
            w.line(0, &format!("{prefix}\t{name}"));
        }
    }
}

/// kubectl's CronJob describer (batch/v1 and v1beta1 share the shape).
pub fn cron_job(w: &mut Writer, cj: &Value) {
    w.line(0, &format!("Name:\t{}", s(cj, "/metadata/name")));
    w.line(0, &format!("Namespace:\t{}", s(cj, "/metadata/namespace")));
    labels_and_annotations(w, cj);
    w.line(0, &format!("Schedule:\t{}", s(cj, "/spec/schedule")));
    w.line(0, &format!("Concurrency Policy:\t{}", s(cj, "/spec/concurrencyPolicy")));
    let suspend = cj.pointer("/spec/suspend").and_then(Value::as_bool).map_or("<unset>", writer::title_bool);
    w.line(0, &format!("Suspend:\t{suspend}"));
    let int_or_unset = |ptr: &str, unit: &str| {
        cj.pointer(ptr)
            .and_then(Value::as_i64)
            .map_or_else(|| "<unset>".to_string(), |n| format!("{n}{unit}"))
    };
    w.line(
        0,
        &format!("Successful Job History Limit:\t{}", int_or_unset("/spec/successfulJobsHistoryLimit", "")),
    );
    w.line(0, &format!("Failed Job History Limit:\t{}", int_or_unset("/spec/failedJobsHistoryLimit", "")));
    w.line(0, &format!("Starting Deadline Seconds:\t{}", int_or_unset("/spec/startingDeadlineSeconds", "s")));
    let job = cj.pointer("/spec/jobTemplate/spec").cloned().unwrap_or_default();
    match job.pointer("/selector").filter(|v| !v.is_null()) {
        Some(sel) => w.line(0, &format!("Selector:\t{}", pod::selector_text(Some(sel)))),
        None => w.line(0, "Selector:\t<unset>"),
    }
    let job_int = |ptr: &str| {
        job.pointer(ptr).and_then(Value::as_i64).map_or_else(|| "<unset>".to_string(), |n| n.to_string())
    };
    w.line(0, &format!("Parallelism:\t{}", job_int("/parallelism")));
    w.line(0, &format!("Completions:\t{}", job_int("/completions")));
    if let Some(n) = job.pointer("/activeDeadlineSeconds").and_then(Value::as_i64) {
        w.line(0, &format!("Active Deadline Seconds:\t{n}s"));
    }
    pod::template(w, job.pointer("/template"));
    match s(cj, "/status/lastScheduleTime") {
        "" => w.line(0, "Last Schedule Time:\t<unset>"),
        t => w.line(0, &format!("Last Schedule Time:\t{}", writer::rfc1123z(t))),
    }
    let active: Vec<&str> = array(cj, "/status/active").iter().map(|r| s(r, "/name")).collect();
    w.line(
        0,
        &format!(
            "Active Jobs:\t{}",
            if active.is_empty() { "<none>".to_string() } else { active.join(", ") }
        ),
    );
}

/// kubectl's PodDisruptionBudget describer (`policy/v1`, and `policy/v1beta1` on servers before
/// 1.21, whose objects have the same fields); its events follow.
pub fn pod_disruption_budget(w: &mut Writer, pdb: &Value) {
    w.line(0, &format!("Name:\t{}", s(pdb, "/metadata/name")));
    w.line(0, &format!("Namespace:\t{}", s(pdb, "/metadata/namespace")));
    let int_or_string = |v: &Value| match v {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    if let Some(min) = pdb.pointer("/spec/minAvailable").filter(|v| !v.is_null()) {
        w.line(0, &format!("Min available:\t{}", int_or_string(min)));
    } else if let Some(max) = pdb.pointer("/spec/maxUnavailable").filter(|v| !v.is_null()) {
        w.line(0, &format!("Max unavailable:\t{}", int_or_string(max)));
    }
    match pdb.pointer("/spec/selector").filter(|v| !v.is_null()) {
        Some(selector) => {
            w.line(0, &format!("Selector:\t{}", super::network::format_label_selector(selector)))
        }
        None => w.line(0, "Selector:\t<unset>"),
    }
    w.line(0, "Status:");
    w.line(2, &format!("Allowed disruptions:\t{}", int(pdb, "/status/disruptionsAllowed")));
    w.line(2, &format!("Current:\t{}", int(pdb, "/status/currentHealthy")));
    w.line(2, &format!("Desired:\t{}", int(pdb, "/status/desiredHealthy")));
    w.line(2, &format!("Total:\t{}", int(pdb, "/status/expectedPods")));
}

/// kubectl's PersistentVolume describer for the volume sources it has here (hostPath, local, NFS,
/// CSI); `None` for any other source, which then gets the generic describer rather than an
/// approximation. Its events follow.
pub fn persistent_volume(w: &mut Writer, pv: &Value) -> Option<()> {
    let spec = pv.get("spec")?;
    let source =
        ["hostPath", "local", "nfs", "csi"].into_iter().find(|k| spec.get(*k).is_some_and(|v| !v.is_null()));
    let others = spec.as_object().is_some_and(|m| {
        m.keys().any(|k| {
            !matches!(
                k.as_str(),
                "hostPath"
                    | "local"
                    | "nfs"
                    | "csi"
                    | "accessModes"
                    | "capacity"
                    | "claimRef"
                    | "mountOptions"
                    | "nodeAffinity"
                    | "persistentVolumeReclaimPolicy"
                    | "storageClassName"
                    | "volumeMode"
                    | "volumeAttributesClassName"
            )
        })
    });
    let source = source.filter(|_| !others)?;
    w.line(0, &format!("Name:\t{}", s(pv, "/metadata/name")));
    writer::labels_multiline(w, 0, "Labels", &string_map(pv, "/metadata/labels"));
    writer::annotations_multiline(w, 0, "Annotations", &string_map(pv, "/metadata/annotations"));
    let finalizers: Vec<&str> = array(pv, "/metadata/finalizers").iter().filter_map(Value::as_str).collect();
    w.line(0, &format!("Finalizers:\t[{}]", finalizers.join(" ")));
    let class = match pv.pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class") {
        Some(Value::String(c)) => c.as_str(),
        _ => s(pv, "/spec/storageClassName"),
    };
    w.line(0, &format!("StorageClass:\t{class}"));
    if s(pv, "/metadata/deletionTimestamp").is_empty() {
        w.line(0, &format!("Status:\t{}", s(pv, "/status/phase")));
    } else {
        let since = writer::since(s(pv, "/metadata/deletionTimestamp"), time::OffsetDateTime::now_utc());
        w.line(0, &format!("Status:\tTerminating (lasts {since})"));
    }
    let claim = match spec.get("claimRef").filter(|c| !c.is_null()) {
        Some(c) => format!("{}/{}", s(c, "/namespace"), s(c, "/name")),
        None => String::new(),
    };
    w.line(0, &format!("Claim:\t{claim}"));
    w.line(0, &format!("Reclaim Policy:\t{}", s(pv, "/spec/persistentVolumeReclaimPolicy")));
    w.line(0, &format!("Access Modes:\t{}", access_modes(array(pv, "/spec/accessModes"))));
    if !s(pv, "/spec/volumeMode").is_empty() {
        w.line(0, &format!("VolumeMode:\t{}", s(pv, "/spec/volumeMode")));
    }
    let capacity = match s(pv, "/spec/capacity/storage") {
        "" => "0",
        c => c,
    };
    w.line(0, &format!("Capacity:\t{capacity}"));
    w.write(0, "Node Affinity:\t");
    match pv.pointer("/spec/nodeAffinity/required").filter(|r| !r.is_null()) {
        None => w.line(0, "<none>"),
        Some(required) => {
            w.line(0, "");
            w.write(1, "Required Terms:\t");
            let terms = array(required, "/nodeSelectorTerms");
            if terms.is_empty() {
                w.line(0, "<none>");
            } else {
                w.line(0, "");
                for (i, term) in terms.iter().enumerate() {
                    w.write(2, &format!("Term {i}:\t"));
                    let reqs = array(term, "/matchExpressions");
                    if reqs.is_empty() {
                        w.line(0, "<none>");
                    }
                    for (j, req) in reqs.iter().enumerate() {
                        if j != 0 {
                            w.write(2, "\t");
                        }
                        let mut expr = format!("{} {}", s(req, "/key"), s(req, "/operator").to_lowercase());
                        let values: Vec<&str> =
                            array(req, "/values").iter().filter_map(Value::as_str).collect();
                        if !values.is_empty() {
                            expr = format!("{expr} [{}]", values.join(", "));
                        }
                        w.line(0, &expr);
                    }
                }
            }
        }
    }
    w.line(0, &format!("Message:\t{}", s(pv, "/status/message")));
    w.line(0, "Source:");
    let v = &spec[source];
    let flag = |ptr: &str| if writer::boolean(v, ptr) { "true" } else { "false" };
    match source {
        "hostPath" => {
            let kind = match s(v, "/type") {
                "" => "<none>",
                t => t,
            };
            w.line(2, "Type:\tHostPath (bare host directory volume)");
            w.line(2, &format!("Path:\t{}", s(v, "/path")));
            w.line(2, &format!("HostPathType:\t{kind}"));
        }
        "local" => {
            w.line(2, "Type:\tLocalVolume (a persistent volume backed by local storage on a node)");
            w.line(2, &format!("Path:\t{}", s(v, "/path")));
        }
        "nfs" => {
            w.line(2, "Type:\tNFS (an NFS mount that lasts the lifetime of a pod)");
            w.line(2, &format!("Server:\t{}", s(v, "/server")));
            w.line(2, &format!("Path:\t{}", s(v, "/path")));
            w.line(2, &format!("ReadOnly:\t{}", flag("/readOnly")));
        }
        _ => {
            w.line(2, "Type:\tCSI (a Container Storage Interface (CSI) volume source)");
            w.line(2, &format!("Driver:\t{}", s(v, "/driver")));
            w.line(2, &format!("FSType:\t{}", s(v, "/fsType")));
            w.line(2, &format!("VolumeHandle:\t{}", s(v, "/volumeHandle")));
            w.line(2, &format!("ReadOnly:\t{}", flag("/readOnly")));
            // kubectl's quirk: every piece of these lines is written at LEVEL_2 (four blanks each).
            w.write(2, "VolumeAttributes:\t");
            let attributes = string_map(v, "/volumeAttributes");
            if attributes.is_empty() {
                w.line(0, "<none>");
            }
            for (i, (key, value)) in attributes.iter().enumerate() {
                if i != 0 {
                    w.write(2, "");
                    w.write(2, "\t");
                }
                let line = format!("{key}={value}");
                match line.char_indices().nth(140) {
                    Some((cut, _)) => w.line(2, &format!("{}...", &line[..cut])),
                    None => w.line(2, &line),
                }
            }
        }
    }
    Some(())
}
