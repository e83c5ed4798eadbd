//! `rollout status` and `rollout history` for Deployments, StatefulSets and DaemonSets, with
//! kubectl's messages. `status` (watching, the default) polls until the rollout is done or until
//! shortly before the command's deadline and returns every distinct message seen, as kubectl
//! prints them; history reads a Deployment's ReplicaSets (`deployment.kubernetes.io/revision`)
//! or a StatefulSet's/DaemonSet's ControllerRevisions.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kubently_shared::policy::{RolloutAction, RolloutRequest};
use serde_json::Value;

use super::context::Context;
use super::discovery::ApiResourceInfo;
use super::http::{self, ACCEPT_JSON, Query};
use super::{EngineError, Output};

const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
const CHANGE_CAUSE_ANNOTATION: &str = "kubernetes.io/change-cause";
/// How often `status` re-reads the object while waiting.
const POLL: Duration = Duration::from_secs(1);
/// Stop waiting this long before the deadline, so the answer makes it back in time.
const MARGIN: Duration = Duration::from_millis(500);
/// Without a deadline, wait at most this long.
const MAX_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    Deployment,
    StatefulSet,
    DaemonSet,
}

pub(super) async fn run(ctx: &Context<'_>, req: &RolloutRequest) -> Result<Output, EngineError> {
    let [name] = req.target.names.as_slice() else {
        return Err(EngineError::Invalid("required resource not specified".into()));
    };
    let resource = ctx.resolver.resolve(&req.target.resource).await?;
    let workload = match (resource.group.as_str(), resource.kind.as_str()) {
        ("apps" | "extensions", "Deployment") => Workload::Deployment,
        ("apps", "StatefulSet") => Workload::StatefulSet,
        ("apps" | "extensions", "DaemonSet") => Workload::DaemonSet,
        _ => {
            let what = if req.action == RolloutAction::Status { "status" } else { "history" };
            return Err(EngineError::Invalid(format!(
                "no {what} viewer has been implemented for {}",
                group_kind(&resource)
            )));
        }
    };
    let namespace = ctx.namespace(&req.namespace);
    let path = http::object_path(&resource, Some(&namespace), name)?;
    match req.action {
        RolloutAction::Status => status(ctx.client, &path, workload, req.watch, ctx.opts.deadline).await,
        RolloutAction::History => history(ctx, &resource, &path, workload, &namespace, req.revision).await,
    }
}

fn group_kind(r: &ApiResourceInfo) -> String {
    if r.group.is_empty() { r.kind.clone() } else { format!("{}.{}", r.kind, r.group) }
}

async fn status(
    client: &kube::Client,
    path: &str,
    workload: Workload,
    watch: bool,
    deadline: Option<Instant>,
) -> Result<Output, EngineError> {
    let stop = match deadline {
        Some(d) => d.checked_sub(MARGIN).unwrap_or(d),
        None => Instant::now() + MAX_WAIT,
    };
    let mut text = String::new();
    let mut last = String::new();
    loop {
        let object = http::get_json(client, path, ACCEPT_JSON).await?;
        let (message, done) = status_message(workload, &object)?;
        if message != last {
            text.push_str(&message);
            last = message;
        }
        if done || !watch || Instant::now() + POLL >= stop {
            let rows = text.lines().count() as u64;
            return Ok(Output {
                text,
                kind: Some("RolloutStatus".into()),
                rows: Some(rows),
                ..Output::default()
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

fn int(object: &Value, pointer: &str) -> i64 {
    object.pointer(pointer).and_then(Value::as_i64).unwrap_or_default()
}

fn string<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// kubectl's status viewers: the message and whether the rollout is done.
fn status_message(workload: Workload, o: &Value) -> Result<(String, bool), EngineError> {
    let name = string(o, "/metadata/name");
    let generation = int(o, "/metadata/generation");
    let observed = int(o, "/status/observedGeneration");
    match workload {
        Workload::Deployment => {
            if generation > observed {
                return Ok(("Waiting for deployment spec update to be observed...\n".into(), false));
            }
            let timed_out =
                o.pointer("/status/conditions").and_then(Value::as_array).into_iter().flatten().any(|c| {
                    string(c, "/type") == "Progressing" && string(c, "/reason") == "ProgressDeadlineExceeded"
                });
            if timed_out {
                return Err(EngineError::Invalid(format!(
                    "deployment {name:?} exceeded its progress deadline"
                )));
            }
            let updated = int(o, "/status/updatedReplicas");
            let replicas = int(o, "/status/replicas");
            let available = int(o, "/status/availableReplicas");
            if let Some(spec) = o.pointer("/spec/replicas").and_then(Value::as_i64)
                && updated < spec
            {
                return Ok((
                    format!(
                        "Waiting for deployment {name:?} rollout to finish: {updated} out of {spec} new replicas have been updated...\n"
                    ),
                    false,
                ));
            }
            if replicas > updated {
                return Ok((
                    format!(
                        "Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...\n",
                        replicas - updated
                    ),
                    false,
                ));
            }
            if available < updated {
                return Ok((
                    format!(
                        "Waiting for deployment {name:?} rollout to finish: {available} of {updated} updated replicas are available...\n"
                    ),
                    false,
                ));
            }
            Ok((format!("deployment {name:?} successfully rolled out\n"), true))
        }
        Workload::DaemonSet => {
            if !matches!(string(o, "/spec/updateStrategy/type"), "RollingUpdate" | "") {
                return Err(EngineError::Invalid(
                    "rollout status is only available for RollingUpdate strategy type".into(),
                ));
            }
            if generation > observed {
                return Ok(("Waiting for daemon set spec update to be observed...\n".into(), false));
            }
            let updated = int(o, "/status/updatedNumberScheduled");
            let desired = int(o, "/status/desiredNumberScheduled");
            let available = int(o, "/status/numberAvailable");
            if updated < desired {
                return Ok((
                    format!(
                        "Waiting for daemon set {name:?} rollout to finish: {updated} out of {desired} new pods have been updated...\n"
                    ),
                    false,
                ));
            }
            if available < desired {
                return Ok((
                    format!(
                        "Waiting for daemon set {name:?} rollout to finish: {available} of {desired} updated pods are available...\n"
                    ),
                    false,
                ));
            }
            Ok((format!("daemon set {name:?} successfully rolled out\n"), true))
        }
        Workload::StatefulSet => {
            let strategy = string(o, "/spec/updateStrategy/type");
            if !matches!(strategy, "RollingUpdate" | "") {
                return Err(EngineError::Invalid(
                    "rollout status is only available for RollingUpdate strategy type".into(),
                ));
            }
            if observed == 0 || generation > observed {
                return Ok(("Waiting for statefulset spec update to be observed...\n".into(), false));
            }
            let spec = o.pointer("/spec/replicas").and_then(Value::as_i64);
            let ready = int(o, "/status/readyReplicas");
            let updated = int(o, "/status/updatedReplicas");
            if let Some(spec) = spec
                && ready < spec
            {
                return Ok((format!("Waiting for {} pods to be ready...\n", spec - ready), false));
            }
            if let Some(rolling) = o.pointer("/spec/updateStrategy/rollingUpdate").filter(|r| r.is_object()) {
                if let (Some(spec), Some(partition)) =
                    (spec, rolling.get("partition").and_then(Value::as_i64))
                    && updated < spec - partition
                {
                    return Ok((
                        format!(
                            "Waiting for partitioned roll out to finish: {updated} out of {} new pods have been updated...\n",
                            spec - partition
                        ),
                        false,
                    ));
                }
                return Ok((
                    format!("partitioned roll out complete: {updated} new pods have been updated...\n"),
                    true,
                ));
            }
            let update_rev = string(o, "/status/updateRevision");
            let current_rev = string(o, "/status/currentRevision");
            if update_rev != current_rev {
                return Ok((
                    format!(
                        "waiting for statefulset rolling update to complete {updated} pods at revision {update_rev}...\n"
                    ),
                    false,
                ));
            }
            Ok((
                format!(
                    "statefulset rolling update complete {} pods at revision {current_rev}...\n",
                    int(o, "/status/currentReplicas")
                ),
                true,
            ))
        }
    }
}

/// One revision: its number, change cause and pod template.
struct Revision {
    number: i64,
    change_cause: String,
    template: Value,
}

async fn history(
    ctx: &Context<'_>,
    resource: &ApiResourceInfo,
    path: &str,
    workload: Workload,
    namespace: &str,
    revision: Option<i64>,
) -> Result<Output, EngineError> {
    let client = ctx.client;
    let object = http::get_json(client, path, ACCEPT_JSON).await?;
    let uid = string(&object, "/metadata/uid").to_string();
    let selector =
        object.pointer("/spec/selector").map(super::logs::label_selector_string).unwrap_or_default();
    let (owned_kind, plural) = match workload {
        Workload::Deployment => ("replicasets", "replicasets.apps"),
        _ => ("controllerrevisions", "controllerrevisions.apps"),
    };
    // The revisions are those objects' pod templates: they are read under the policy too.
    let owned = match ctx.resolver.resolve(plural).await {
        Err(refused @ EngineError::Restricted(_)) => return Err(refused),
        resolved => resolved.map_err(|_| EngineError::UnknownResource { resource: owned_kind.into() })?,
    };
    let mut query = Query::default();
    query.push_opt("labelSelector", Some(selector.as_str()));
    let list =
        http::get_json(client, &query.on(&http::collection_path(&owned, Some(namespace))?), ACCEPT_JSON)
            .await?;
    let mut revisions: BTreeMap<i64, Revision> = BTreeMap::new();
    for item in list.get("items").and_then(Value::as_array).into_iter().flatten() {
        let owned_by = item
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|r| string(r, "/uid") == uid);
        if !owned_by {
            continue;
        }
        let annotations = item.pointer("/metadata/annotations");
        let change_cause = annotations
            .and_then(|a| a.get(CHANGE_CAUSE_ANNOTATION))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let (number, template) = match workload {
            Workload::Deployment => {
                let n = annotations
                    .and_then(|a| a.get(REVISION_ANNOTATION))
                    .and_then(Value::as_str)
                    .and_then(|r| r.parse().ok());
                (n, item.pointer("/spec/template").cloned().unwrap_or(Value::Null))
            }
            _ => (
                item.get("revision").and_then(Value::as_i64),
                item.pointer("/data/spec/template").cloned().unwrap_or(Value::Null),
            ),
        };
        if let Some(number) = number {
            revisions.insert(number, Revision { number, change_cause, template });
        }
    }
    let header = format!("{}/{}", resource.kind_prefix(), string(&object, "/metadata/name"));
    if let Some(n) = revision.filter(|n| *n > 0) {
        let Some(found) = revisions.get(&n) else {
            return Err(EngineError::Invalid("unable to find the specified revision".into()));
        };
        let text = format!("{header} with revision #{n}\n{}\n", pod_template(&found.template));
        return Ok(Output { text, kind: Some("PodTemplate".into()), rows: Some(1), ..Output::default() });
    }
    let mut lines = vec![("REVISION".to_string(), "CHANGE-CAUSE".to_string())];
    for r in revisions.values() {
        let cause = if r.change_cause.is_empty() { "<none>".to_string() } else { r.change_cause.clone() };
        lines.push((r.number.to_string(), cause));
    }
    let width = lines.iter().map(|(n, _)| n.chars().count()).max().unwrap_or(0) + 2;
    let mut text = format!("{header} \n");
    for (n, cause) in &lines {
        text.push_str(&format!("{n:<width$}{cause}\n"));
    }
    text.push('\n');
    Ok(Output {
        text,
        kind: Some("RolloutHistory".into()),
        rows: Some(revisions.len() as u64),
        ..Output::default()
    })
}

/// kubectl's `DescribePodTemplate` (the common fields), tab-separated as kubectl prints it here.
fn pod_template(t: &Value) -> String {
    let mut out = String::from("Pod Template:\n");
    if t.is_null() {
        out.push_str("  <unset>");
        return out;
    }
    multiline(&mut out, "  Labels", t.pointer("/metadata/labels"));
    if t.pointer("/metadata/annotations").and_then(Value::as_object).is_some_and(|a| !a.is_empty()) {
        multiline(&mut out, "  Annotations", t.pointer("/metadata/annotations"));
    }
    let sa = string(t, "/spec/serviceAccountName");
    if !sa.is_empty() {
        out.push_str(&format!("  Service Account:\t{sa}\n"));
    }
    if let Some(init) = t.pointer("/spec/initContainers").and_then(Value::as_array).filter(|c| !c.is_empty())
    {
        containers(&mut out, "Init Containers", init);
    }
    containers(
        &mut out,
        "Containers",
        t.pointer("/spec/containers").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default(),
    );
    match t.pointer("/spec/volumes").and_then(Value::as_array).filter(|v| !v.is_empty()) {
        None => out.push_str("  Volumes:\t<none>\n"),
        Some(volumes) => {
            out.push_str("  Volumes:\n");
            for v in volumes {
                out.push_str(&format!("   {}:\n", string(v, "/name")));
                if let Some((kind, source)) =
                    v.as_object().and_then(|m| m.iter().find(|(k, _)| k.as_str() != "name"))
                {
                    out.push_str(&format!("    Type:\t{kind}\n"));
                    for (k, val) in source.as_object().into_iter().flatten() {
                        if !val.is_object() && !val.is_array() {
                            out.push_str(&format!("    {k}:\t{}\n", scalar(val)));
                        }
                    }
                }
            }
        }
    }
    let pc = string(t, "/spec/priorityClassName");
    if !pc.is_empty() {
        out.push_str(&format!("  Priority Class Name:\t{pc}\n"));
    }
    multiline(&mut out, "  Node-Selectors", t.pointer("/spec/nodeSelector"));
    let tolerations: Vec<String> = t
        .pointer("/spec/tolerations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|tol| {
            let (key, value, effect) = (string(tol, "/key"), string(tol, "/value"), string(tol, "/effect"));
            let mut s = key.to_string();
            if !value.is_empty() {
                s.push_str(&format!("={value}"));
            } else if string(tol, "/operator") == "Exists" && key.is_empty() {
                s = String::new();
            }
            if !effect.is_empty() {
                s.push_str(&format!(":{effect}"));
            }
            if string(tol, "/operator") == "Exists" && value.is_empty() {
                s.push_str(" op=Exists");
            }
            s
        })
        .collect();
    if tolerations.is_empty() {
        out.push_str("  Tolerations:\t<none>\n");
    } else {
        out.push_str(&format!("  Tolerations:\t{}\n", tolerations.join("\n\t")));
    }
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `Labels:\ta=b\n\tc=d` or `<none>`, sorted.
fn multiline(out: &mut String, title: &str, map: Option<&Value>) {
    let pairs: Vec<String> = map
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", scalar(v)))
        .collect();
    if pairs.is_empty() {
        out.push_str(&format!("{title}:\t<none>\n"));
    } else {
        out.push_str(&format!("{title}:\t{}\n", pairs.join("\n\t")));
    }
}

fn containers(out: &mut String, title: &str, list: &[Value]) {
    out.push_str(&format!("  {title}:\n"));
    for c in list {
        out.push_str(&format!("   {}:\n", string(c, "/name")));
        out.push_str(&format!("    Image:\t{}\n", string(c, "/image")));
        let ports: Vec<&Value> = c.get("ports").and_then(Value::as_array).into_iter().flatten().collect();
        let fmt_ports = |field: &str| -> String {
            if ports.is_empty() {
                return "<none>".into();
            }
            ports
                .iter()
                .map(|p| {
                    let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
                    format!("{}/{proto}", p.get(field).and_then(Value::as_i64).unwrap_or(0))
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!("    Port:\t{}\n", fmt_ports("containerPort")));
        out.push_str(&format!("    Host Port:\t{}\n", fmt_ports("hostPort")));
        for (field, label) in [("command", "Command"), ("args", "Args")] {
            if let Some(items) = c.get(field).and_then(Value::as_array).filter(|a| !a.is_empty()) {
                out.push_str(&format!("    {label}:\n"));
                for item in items {
                    out.push_str(&format!("      {}\n", scalar(item)));
                }
            }
        }
        for (field, label) in [("limits", "Limits"), ("requests", "Requests")] {
            if let Some(map) =
                c.pointer(&format!("/resources/{field}")).and_then(Value::as_object).filter(|m| !m.is_empty())
            {
                out.push_str(&format!("    {label}:\n"));
                for (k, v) in map {
                    out.push_str(&format!("      {k}:\t{}\n", scalar(v)));
                }
            }
        }
        for (field, label) in
            [("livenessProbe", "Liveness"), ("readinessProbe", "Readiness"), ("startupProbe", "Startup")]
        {
            if let Some(p) = c.get(field).filter(|p| p.is_object()) {
                out.push_str(&format!("    {label}:\t{}\n", probe(p)));
            }
        }
        if let Some(from) = c.get("envFrom").and_then(Value::as_array).filter(|a| !a.is_empty()) {
            out.push_str("    Environment Variables from:\n");
            for e in from {
                let (kind, r) = if let Some(r) = e.get("configMapRef") {
                    ("ConfigMap", r)
                } else {
                    ("Secret", e.get("secretRef").unwrap_or(&Value::Null))
                };
                let optional = r.get("optional").and_then(Value::as_bool).unwrap_or(false);
                let prefix = string(e, "/prefix");
                let prefix =
                    if prefix.is_empty() { String::new() } else { format!(" with prefix '{prefix}'") };
                out.push_str(&format!(
                    "      {}\t{kind}{prefix}\tOptional: {optional}\n",
                    string(r, "/name")
                ));
            }
        }
        match c.get("env").and_then(Value::as_array).filter(|a| !a.is_empty()) {
            None => out.push_str("    Environment:\t<none>\n"),
            Some(env) => {
                out.push_str("    Environment:\n");
                for e in env {
                    let name = string(e, "/name");
                    if let Some(v) = e.get("value").and_then(Value::as_str) {
                        out.push_str(&format!("      {name}:\t{v}\n"));
                    } else if let Some(r) = e.pointer("/valueFrom/secretKeyRef") {
                        out.push_str(&format!(
                            "      {name}:\t<set to the key '{}' in secret '{}'>\tOptional: {}\n",
                            string(r, "/key"),
                            string(r, "/name"),
                            r.get("optional").and_then(Value::as_bool).unwrap_or(false)
                        ));
                    } else if let Some(r) = e.pointer("/valueFrom/configMapKeyRef") {
                        out.push_str(&format!(
                            "      {name}:\t<set to the key '{}' of config map '{}'>\tOptional: {}\n",
                            string(r, "/key"),
                            string(r, "/name"),
                            r.get("optional").and_then(Value::as_bool).unwrap_or(false)
                        ));
                    } else if let Some(r) = e.pointer("/valueFrom/fieldRef") {
                        out.push_str(&format!(
                            "      {name}:\t ({}:{})\n",
                            string(r, "/apiVersion"),
                            string(r, "/fieldPath")
                        ));
                    } else {
                        out.push_str(&format!("      {name}:\t\n"));
                    }
                }
            }
        }
        match c.get("volumeMounts").and_then(Value::as_array).filter(|a| !a.is_empty()) {
            None => out.push_str("    Mounts:\t<none>\n"),
            Some(mounts) => {
                out.push_str("    Mounts:\n");
                for m in mounts {
                    let ro =
                        if m.get("readOnly").and_then(Value::as_bool).unwrap_or(false) { "ro" } else { "rw" };
                    out.push_str(&format!(
                        "      {} from {} ({ro})\n",
                        string(m, "/mountPath"),
                        string(m, "/name")
                    ));
                }
            }
        }
    }
}

/// kubectl's probe summary: `http-get http://:80/healthz delay=0s timeout=1s period=10s #success=1 #failure=3`.
fn probe(p: &Value) -> String {
    let action = if let Some(h) = p.get("httpGet") {
        let port = h.get("port").map(scalar).unwrap_or_default();
        let scheme = string(h, "/scheme").to_lowercase();
        let scheme = if scheme.is_empty() { "http".to_string() } else { scheme };
        format!("http-get {scheme}://{}:{port}{}", string(h, "/host"), string(h, "/path"))
    } else if let Some(t) = p.get("tcpSocket") {
        format!("tcp-socket {}:{}", string(t, "/host"), t.get("port").map(scalar).unwrap_or_default())
    } else if let Some(e) = p.get("exec") {
        let cmd: Vec<String> =
            e.get("command").and_then(Value::as_array).into_iter().flatten().map(scalar).collect();
        format!("exec [{}]", cmd.join(" "))
    } else {
        "unknown".to_string()
    };
    let num = |f: &str, default: i64| p.get(f).and_then(Value::as_i64).unwrap_or(default);
    format!(
        "{action} delay={}s timeout={}s period={}s #success={} #failure={}",
        num("initialDelaySeconds", 0),
        num("timeoutSeconds", 1),
        num("periodSeconds", 10),
        num("successThreshold", 1),
        num("failureThreshold", 3)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployment_messages_match_kubectl() {
        let d = json!({"metadata": {"name": "web", "generation": 2}, "spec": {"replicas": 3}, "status": {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}});
        assert_eq!(
            status_message(Workload::Deployment, &d).ok(),
            Some(("deployment \"web\" successfully rolled out\n".to_string(), true))
        );
        let d = json!({"metadata": {"name": "x", "generation": 1}, "spec": {"replicas": 1}, "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 0}});
        assert_eq!(
            status_message(Workload::Deployment, &d).ok().map(|m| m.0),
            Some(
                "Waiting for deployment \"x\" rollout to finish: 0 of 1 updated replicas are available...\n"
                    .to_string()
            )
        );
    }

    #[test]
    fn probes_read_like_kubectl() {
        let p = json!({"httpGet": {"path": "/healthz", "port": 80, "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10});
        assert_eq!(
            probe(&p),
            "http-get http://:80/healthz delay=0s timeout=1s period=10s #success=1 #failure=3"
        );
    }
}
