//! Creating the demo scenario (server-side apply: idempotent, re-runnable) and waiting until the
//! cluster shows every state the README promises.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Secret, Service};
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

use super::*;

const FIELD_MANAGER: &str = "kubently-seed";
const IMAGE_REPO: &str = "ghcr.io/kubently-demo";

/// Applies every object of the scenario. Safe to run again on a seeded cluster.
pub async fn seed(client: &kube::Client) -> anyhow::Result<()> {
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    for ns in [SHOP_NS, BATCH_NS] {
        let body = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "labels": {"kubently.dev/demo": "true"}}});
        Api::<Namespace>::all(client.clone()).patch(ns, &pp, &Patch::Apply(&body)).await?;
    }
    for obj in objects() {
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
        let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let kind = obj["kind"].as_str().unwrap_or_default();
        let patch = Patch::Apply(&obj);
        let c = client.clone();
        match kind {
            "ConfigMap" => drop(Api::<ConfigMap>::namespaced(c, &ns).patch(&name, &pp, &patch).await?),
            "Secret" => drop(Api::<Secret>::namespaced(c, &ns).patch(&name, &pp, &patch).await?),
            "Service" => drop(Api::<Service>::namespaced(c, &ns).patch(&name, &pp, &patch).await?),
            "Deployment" => drop(Api::<Deployment>::namespaced(c, &ns).patch(&name, &pp, &patch).await?),
            "Job" => drop(Api::<Job>::namespaced(c, &ns).patch(&name, &pp, &patch).await?),
            other => anyhow::bail!("scenario has an object of unsupported kind {other}"),
        }
    }
    Ok(())
}

fn labels(app: &str) -> Value {
    json!({"app": app, "app.kubernetes.io/part-of": "kubently-demo"})
}

fn deployment(ns: &str, app: &str, replicas: i32, pod_spec: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": app, "namespace": ns, "labels": labels(app)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app}},
            "template": {"metadata": {"labels": labels(app)}, "spec": pod_spec},
        }
    })
}

fn service(ns: &str, name: &str, selector: Value, port: i32, target: i32) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "labels": labels(name)},
        "spec": {"selector": selector, "ports": [{"name": "http", "port": port, "targetPort": target, "protocol": "TCP"}]}
    })
}

fn resources(cpu: &str, memory: &str, memory_limit: &str) -> Value {
    json!({"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}})
}

/// Every namespaced object of the scenario, as server-side-apply bodies.
fn objects() -> Vec<Value> {
    let secret_data: serde_json::Map<String, Value> =
        SECRET_VALUES.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    vec![
        // ---- demo-shop: a web shop with one healthy service and several broken ones
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": STOREFRONT_CONFIG, "namespace": SHOP_NS, "labels": labels(STOREFRONT)},
            "data": {"FEATURE_FLAGS": "new-checkout=false,recommendations=true", "CACHE_TTL_SECONDS": "300",
                     "nginx.conf": "server {\n  listen 80;\n  location /healthz { return 200 'ok'; }\n  location / { root /usr/share/nginx/html; }\n}\n"}}),
        json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": ORDERS_DB_SECRET, "namespace": SHOP_NS, "labels": labels(ORDERS_API)},
            "stringData": secret_data}),
        deployment(
            SHOP_NS,
            STOREFRONT,
            3,
            json!({"containers": [{
            "name": "nginx", "image": "nginx:1.25.3",
            "ports": [{"containerPort": 80, "name": "http"}],
            "envFrom": [{"configMapRef": {"name": STOREFRONT_CONFIG}}],
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 80}, "periodSeconds": 10},
            "resources": resources("100m", "64Mi", "128Mi")}]}),
        ),
        service(SHOP_NS, STOREFRONT, json!({"app": STOREFRONT}), 80, 80),
        deployment(
            SHOP_NS,
            ORDERS_API,
            1,
            json!({"containers": [{
            "name": ORDERS_API, "image": format!("{IMAGE_REPO}/orders-api:2.4.1"),
            "ports": [{"containerPort": 8000, "name": "http"}],
            "env": [
                {"name": "DB_HOST", "value": "postgres"}, {"name": "DB_PORT", "value": "5432"},
                {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": ORDERS_DB_SECRET, "key": "DATABASE_URL"}}},
                {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": ORDERS_DB_SECRET, "key": "api-token"}}}],
            "resources": resources("250m", "128Mi", "256Mi")}]}),
        ),
        service(SHOP_NS, ORDERS_API, json!({"app": ORDERS_API}), 80, 8000),
        deployment(
            SHOP_NS,
            CHECKOUT,
            1,
            json!({"containers": [{
            "name": CHECKOUT, "image": format!("{IMAGE_REPO}/checkout:1.8.0"),
            "ports": [{"containerPort": 8080, "name": "http"}],
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 5, "failureThreshold": 3},
            "resources": resources("100m", "128Mi", "256Mi")}]}),
        ),
        service(SHOP_NS, CHECKOUT, json!({"app": CHECKOUT}), 80, 8080),
        // The selector names a label no pod carries: the Service has no endpoints.
        service(SHOP_NS, PAYMENTS_SVC, json!({"app": "payments", "tier": "backend"}), 80, 8080),
        // ---- demo-batch: jobs and workers that cannot run
        deployment(
            BATCH_NS,
            THUMBNAILER,
            1,
            json!({"containers": [{
            "name": THUMBNAILER, "image": format!("{IMAGE_REPO}/thumbnailer:v9.9.9-does-not-exist"),
            "resources": resources("100m", "64Mi", "128Mi")}]}),
        ),
        deployment(
            BATCH_NS,
            REPORT_BUILDER,
            1,
            json!({"containers": [{
            "name": REPORT_BUILDER, "image": format!("{IMAGE_REPO}/report-builder:3.2.0"),
            "resources": resources("200m", "64Mi", "64Mi")}]}),
        ),
        // Asks for more CPU than any node has: Pending, "Insufficient cpu".
        deployment(
            BATCH_NS,
            ML_TRAINER,
            1,
            json!({
            "containers": [{"name": ML_TRAINER, "image": format!("{IMAGE_REPO}/ml-trainer:0.9.0"),
                "resources": {"requests": {"cpu": "64", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}}]}),
        ),
        // Asks for a GPU node that does not exist: Pending, "didn't match node selector".
        deployment(
            BATCH_NS,
            GPU_INFERENCE,
            1,
            json!({
            "nodeSelector": {"accelerator": "nvidia-a100"},
            "containers": [{"name": GPU_INFERENCE, "image": format!("{IMAGE_REPO}/gpu-inference:1.1.0"),
                "resources": resources("500m", "512Mi", "1Gi")}]}),
        ),
        json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": NIGHTLY_MIGRATION, "namespace": BATCH_NS, "labels": labels(NIGHTLY_MIGRATION)},
            "spec": {"backoffLimit": 1, "template": {
                "metadata": {"labels": labels(NIGHTLY_MIGRATION)},
                "spec": {"restartPolicy": "Never", "containers": [{
                    "name": "migrate", "image": format!("{IMAGE_REPO}/migrate:0042"),
                    "args": ["migrate", "--to", "0042_add_orders_index"]}]}}}}),
    ]
}

/// How far the scenario has come; `missing` says what is not there yet.
#[derive(Debug, Default)]
pub struct Readiness {
    pub missing: Vec<String>,
}

impl Readiness {
    pub fn done(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Checks that every documented state is visible.
pub async fn converged(client: &kube::Client) -> anyhow::Result<Readiness> {
    let mut r = Readiness::default();
    let shop = Api::<Pod>::namespaced(client.clone(), SHOP_NS).list(&ListParams::default()).await?.items;
    let batch = Api::<Pod>::namespaced(client.clone(), BATCH_NS).list(&ListParams::default()).await?.items;
    let app_pods = |pods: &[Pod], app: &str| -> Vec<Pod> {
        pods.iter()
            .filter(|p| p.metadata.labels.as_ref().and_then(|l| l.get("app")).is_some_and(|a| a == app))
            .cloned()
            .collect()
    };
    let mut expect = |ok: bool, what: &str| {
        if !ok {
            r.missing.push(what.to_string());
        }
    };
    let sf = app_pods(&shop, STOREFRONT);
    expect(sf.len() == 3 && sf.iter().all(pod_ready), "storefront: 3 pods Running and Ready");
    expect(
        app_pods(&shop, ORDERS_API).iter().any(|p| waiting_reason(p) == Some("CrashLoopBackOff")),
        "orders-api: CrashLoopBackOff",
    );
    expect(
        app_pods(&shop, CHECKOUT).iter().any(|p| phase(p) == "Running" && !pod_ready(p)),
        "checkout: Running, not Ready",
    );
    expect(
        app_pods(&batch, THUMBNAILER).iter().any(|p| waiting_reason(p) == Some("ImagePullBackOff")),
        "thumbnailer: ImagePullBackOff",
    );
    expect(
        app_pods(&batch, REPORT_BUILDER).iter().any(|p| terminated_reason(p) == Some("OOMKilled")),
        "report-builder: OOMKilled",
    );
    expect(app_pods(&batch, ML_TRAINER).iter().any(unschedulable), "ml-trainer: Pending (Insufficient cpu)");
    expect(
        app_pods(&batch, GPU_INFERENCE).iter().any(unschedulable),
        "gpu-inference: Pending (node selector)",
    );
    let job = Api::<Job>::namespaced(client.clone(), BATCH_NS).get_opt(NIGHTLY_MIGRATION).await?;
    let failed = job
        .and_then(|j| j.status)
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .iter()
        .any(|c| c.type_ == "Failed" && c.status == "True");
    expect(failed, "nightly-migration: Job Failed (BackoffLimitExceeded)");
    Ok(r)
}

/// Waits for [`converged`], reporting what is still missing every few seconds.
pub async fn wait_converged(
    client: &kube::Client,
    timeout: Duration,
    progress: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut last_report = Instant::now();
    loop {
        let r = converged(client).await?;
        if r.done() {
            return Ok(());
        }
        if start.elapsed() > timeout {
            anyhow::bail!(
                "demo scenario did not converge within {timeout:?}; still missing: {}",
                r.missing.join("; ")
            );
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            progress(&format!("waiting for: {}", r.missing.join("; ")));
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn phase(p: &Pod) -> &str {
    p.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("")
}

fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn first_container_state(p: &Pod) -> Option<&k8s_openapi::api::core::v1::ContainerState> {
    p.status.as_ref()?.container_statuses.as_ref()?.first()?.state.as_ref()
}

fn waiting_reason(p: &Pod) -> Option<&str> {
    first_container_state(p)?.waiting.as_ref()?.reason.as_deref()
}

fn terminated_reason(p: &Pod) -> Option<&str> {
    first_container_state(p)?.terminated.as_ref()?.reason.as_deref()
}

fn unschedulable(p: &Pod) -> bool {
    phase(p) == "Pending"
        && p.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|c| {
            c.iter().any(|c| {
                c.type_ == "PodScheduled"
                    && c.status == "False"
                    && c.reason.as_deref() == Some("Unschedulable")
            })
        })
}
