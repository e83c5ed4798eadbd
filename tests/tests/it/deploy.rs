//! The deployment manifests (`deploy/`) against the real API server and the code:
//! - every overlay, rendered by kubectl's kustomize with the 1.20 component (the test server is
//!   1.20.2), passes `kubectl apply --dry-run=server`;
//! - the manifests agree with the code: settings load into the real types, probes hit the
//!   endpoints the binaries serve, the token volume is where kube-rs's in-cluster config reads,
//!   pods are hardened, images are the Dockerfile's targets, the hub's NATS config is valid;
//! - the executor's RBAC objects are applied for real (unique names per test) and proven: a
//!   SubjectAccessReview matrix, and an executor running as that ServiceAccount (a kubeconfig
//!   with its token) answers the whole golden corpus as the admin identity does, Secrets aside;
//! - the privilege self-check refuses write identities and fails closed.
//!
//! Rendering needs kubectl ≥ 1.27 (kustomize v5): `KUBENTLY_KUBECTL`, else `kubectl` on PATH.
//! Without it these tests say so and pass. Namespaced objects land in the test's own namespaces
//! (`kubently` and `kubently-hub` are relocated there); cluster-scoped ones get a unique suffix
//! and are deleted when the test ends.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::api::authorization::v1::{ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec};
use kube::api::{Api, PostParams};
use kube::config::Kubeconfig;
use kubently_admin::impersonation::RbacSpec;
use kubently_executor::engine::Engine;
use kubently_executor::impersonation::Impersonation;
use kubently_shared::config::load_with_env;
use kubently_shared::names::{ENV_PREFIX, ENV_SEPARATOR, NATS_SERVER_VERSION};
use kubently_tests::app::{AGENT_KEY, ExecutorOptions, TestApp};
use kubently_tests::harness::{TestContext, TestNamespace};
use kubently_tests::paths::{self, repo_root};
use kubently_tests::service_account;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{golden, mcp_raw, support};

/// Every kustomization a user applies, relative to `deploy/`.
const OVERLAYS: [&str; 5] =
    ["executor", "overlays/secrets-metadata", "overlays/namespaced", "overlays/impersonation", "hub"];
/// Serves the PodDisruptionBudgets as policy/v1beta1 for the 1.20 test server.
const LEGACY_COMPONENT: &str = "components/kubernetes-1.20";
/// The namespaces the manifests install into.
const EXECUTOR_NAMESPACE: &str = "kubently";
const HUB_NAMESPACE: &str = "kubently-hub";
/// Where kube-rs's in-cluster config reads token, ca.crt and namespace.
const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
const RBAC_KINDS: [&str; 5] = ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"];

// ---------------------------------------------------------------- kubectl and kustomize

struct Kubectl {
    bin: String,
    kubeconfig: PathBuf,
    cache: tempfile::TempDir,
}

impl Kubectl {
    /// kubectl with kustomize v5, pointed at the test cluster; None (the caller skips) without it.
    fn find(ctx: &TestContext) -> Option<Self> {
        let bin = std::env::var("KUBENTLY_KUBECTL").unwrap_or_else(|_| "kubectl".into());
        let version = Command::new(&bin).args(["version", "--client"]).output().ok()?;
        let text = String::from_utf8_lossy(&version.stdout).to_string();
        if !version.status.success() || !text.contains("Kustomize Version: v5") {
            eprintln!("kubectl with kustomize v5 not found (set KUBENTLY_KUBECTL; found: {text:?}): skipped");
            return None;
        }
        let cache = tempfile::tempdir().expect("kubectl cache dir");
        Some(Self { bin, kubeconfig: ctx.stack.kubeconfig.clone(), cache })
    }

    /// Runs kubectl against the test cluster; panics with its output when it fails.
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(&self.bin)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.cache.path())
            .args(args)
            .env_remove("KUBECONFIG")
            .output()
            .expect("run kubectl");
        assert!(
            out.status.success(),
            "kubectl {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// `deploy/<overlay>` as the API server gets it (with the 1.20 component), optionally with
    /// `-<suffix>` on every name, as JSON objects.
    fn render(&self, overlay: &str, suffix: Option<&str>) -> Vec<Value> {
        let dir = tempfile::tempdir().expect("kustomization dir");
        // kustomize takes only relative paths to bases.
        let deploy = relative_from(dir.path(), &repo_root().join("deploy"));
        let mut kustomization = format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - {0}/{overlay}\ncomponents:\n  - {0}/{LEGACY_COMPONENT}\n",
            deploy.display()
        );
        if let Some(s) = suffix {
            kustomization.push_str(&format!("nameSuffix: -{s}\n"));
        }
        std::fs::write(dir.path().join("kustomization.yaml"), kustomization).expect("write kustomization");
        let yaml = self.run(&["kustomize", &dir.path().display().to_string()]);
        serde_yaml::Deserializer::from_str(&yaml)
            .map(|doc| Value::deserialize(doc).expect("kustomize output is YAML"))
            .filter(|v| !v.is_null())
            .collect()
    }

    /// `kubectl apply` of `objects` (a List); with `dry_run` only as the server would.
    fn apply(&self, objects: &[Value], dry_run: bool) -> String {
        let file = tempfile::Builder::new().suffix(".json").tempfile().expect("temp file");
        let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
        std::fs::write(file.path(), list.to_string()).expect("write objects");
        let path = file.path().display().to_string();
        let mut args = vec!["apply", "-f", &path];
        if dry_run {
            args.push("--dry-run=server");
        }
        self.run(&args)
    }
}

/// `to` as a path relative to `from` (both absolute).
fn relative_from(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut path = PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for c in &to[common..] {
        path.push(c);
    }
    path
}

/// Moves the manifests' namespaces to the test's: object namespaces, Namespace names and
/// RoleBinding/ClusterRoleBinding subjects.
fn relocate(objects: &mut [Value], moves: &[(&str, &str)]) {
    let moved = |ns: &str| moves.iter().find(|(from, _)| *from == ns).map(|(_, to)| to.to_string());
    for o in objects.iter_mut() {
        if let Some(to) = o["metadata"]["namespace"].as_str().and_then(moved) {
            o["metadata"]["namespace"] = json!(to);
        }
        if o["kind"] == "Namespace"
            && let Some(to) = o["metadata"]["name"].as_str().and_then(moved)
        {
            o["metadata"]["name"] = json!(to);
        }
        if let Some(subjects) = o["subjects"].as_array_mut() {
            for s in subjects {
                if let Some(to) = s["namespace"].as_str().and_then(moved) {
                    s["namespace"] = json!(to);
                }
            }
        }
    }
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

/// The one `kind` named `name`, else the one whose name starts with it (a suffix or hash).
fn one<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    let objects = of_kind(objects, kind);
    if let Some(exact) = objects.iter().find(|o| o["metadata"]["name"] == name) {
        return exact;
    }
    let found: Vec<&Value> = objects
        .into_iter()
        .filter(|o| o["metadata"]["name"].as_str().is_some_and(|n| n.starts_with(name)))
        .collect();
    assert_eq!(found.len(), 1, "expected one {kind} named {name}…, found {}", found.len());
    found[0]
}

fn name_of(o: &Value) -> &str {
    o["metadata"]["name"].as_str().expect("metadata.name")
}

// ---------------------------------------------------------------- the executor's identity

/// A ServiceAccount of one overlay, its RBAC objects applied for real, and a kubeconfig with its
/// token. Dropping it deletes what lives outside the test's namespaces.
struct Identity {
    user: String,
    groups: Vec<String>,
    kubeconfig: PathBuf,
    shared: Vec<Value>,
    kubectl_bin: String,
    admin_kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Identity {
    fn drop(&mut self) {
        // Cluster-scoped objects and those in shared namespaces outlive the test's namespace.
        if self.shared.is_empty() {
            return;
        }
        let Ok(file) = tempfile::Builder::new().suffix(".json").tempfile() else { return };
        let list = json!({"apiVersion": "v1", "kind": "List", "items": self.shared});
        if std::fs::write(file.path(), list.to_string()).is_ok() {
            let _ = Command::new(&self.kubectl_bin)
                .arg("--kubeconfig")
                .arg(&self.admin_kubeconfig)
                .args(["delete", "--ignore-not-found", "--wait=false", "-f"])
                .arg(file.path())
                .output();
        }
    }
}

impl Identity {
    /// Applies the RBAC objects of `overlay` (names suffixed with `suffix`, the executor's
    /// namespace moved to `ns`) and waits for the ServiceAccount's token.
    async fn of_overlay(
        ctx: &TestContext,
        kubectl: &Kubectl,
        overlay: &str,
        suffix: &str,
        ns: &TestNamespace,
    ) -> Self {
        let mut objects = kubectl.render(overlay, Some(suffix));
        relocate(&mut objects, &[(EXECUTOR_NAMESPACE, &ns.name)]);
        let rbac: Vec<Value> =
            objects.into_iter().filter(|o| RBAC_KINDS.iter().any(|k| o["kind"] == *k)).collect();
        Self::apply(ctx, kubectl, rbac, ns).await
    }

    /// Applies `objects` (one ServiceAccount in `ns` and what binds it) for real and waits for
    /// the ServiceAccount's token.
    async fn apply(ctx: &TestContext, kubectl: &Kubectl, objects: Vec<Value>, ns: &TestNamespace) -> Self {
        let sa = name_of(one(&objects, "ServiceAccount", "")).to_string();
        let shared: Vec<Value> = objects
            .iter()
            .filter(|o| o["metadata"]["namespace"].as_str().is_none_or(|n| n != ns.name))
            .cloned()
            .collect();
        let dir = tempfile::tempdir().expect("identity dir");
        let identity = Self {
            user: format!("system:serviceaccount:{}:{sa}", ns.name),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{}", ns.name),
                "system:authenticated".into(),
            ],
            kubeconfig: dir.path().join("kubeconfig.yaml"),
            shared,
            kubectl_bin: kubectl.bin.clone(),
            admin_kubeconfig: ctx.stack.kubeconfig.clone(),
            _dir: dir,
        };
        kubectl.apply(&objects, false);
        let token =
            service_account::token(&ctx.kube, &ns.name, &sa).await.expect("the ServiceAccount's token");
        service_account::write_kubeconfig_with_token(&ctx.stack.kubeconfig, &token, &identity.kubeconfig)
            .expect("the ServiceAccount's kubeconfig");
        identity
    }

    /// Whether the API server would let this identity do `verb` (SubjectAccessReview, asked by
    /// the admin).
    async fn may(
        &self,
        ctx: &TestContext,
        namespace: Option<&str>,
        verb: &str,
        group: &str,
        resource: &str,
    ) -> bool {
        let (resource, sub) = resource.split_once('/').map_or((resource, None), |(r, s)| (r, Some(s)));
        let review = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(self.user.clone()),
                groups: Some(self.groups.clone()),
                resource_attributes: Some(ResourceAttributes {
                    namespace: namespace.map(str::to_string),
                    verb: Some(verb.into()),
                    group: Some(group.into()),
                    resource: Some(resource.into()),
                    subresource: sub.map(str::to_string),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let answer = Api::<SubjectAccessReview>::all(ctx.kube.clone())
            .create(&PostParams::default(), &review)
            .await
            .expect("SubjectAccessReview");
        answer.status.is_some_and(|s| s.allowed)
    }
}

// ---------------------------------------------------------------- manifest helpers

/// A workload's pod spec.
fn pod_spec(workload: &Value) -> &Value {
    &workload["spec"]["template"]["spec"]
}

/// The `KUBENTLY__*` variables a container sees: its ConfigMaps (`envFrom`) and literal `env`.
fn kubently_env(objects: &[Value], container: &Value) -> HashMap<String, String> {
    let prefix = format!("{ENV_PREFIX}{ENV_SEPARATOR}");
    let mut env = HashMap::new();
    for from in container["envFrom"].as_array().into_iter().flatten() {
        let name = from["configMapRef"]["name"].as_str().expect("envFrom names a ConfigMap");
        let map = one(objects, "ConfigMap", name);
        assert_eq!(name_of(map), name, "envFrom names a ConfigMap the manifests define");
        for (k, v) in map["data"].as_object().into_iter().flatten() {
            env.insert(k.clone(), v.as_str().expect("string data").to_string());
        }
    }
    for e in container["env"].as_array().into_iter().flatten() {
        if let Some(v) = e["value"].as_str() {
            env.insert(e["name"].as_str().expect("env name").to_string(), v.to_string());
        }
    }
    env.retain(|k, _| k.starts_with(&prefix));
    env
}

fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a Value> {
    container["env"].as_array()?.iter().find(|e| e["name"] == name)
}

fn container_port(container: &Value, name: &str) -> u64 {
    container["ports"]
        .as_array()
        .and_then(|ports| ports.iter().find(|p| p["name"] == name))
        .and_then(|p| p["containerPort"].as_u64())
        .unwrap_or_else(|| panic!("container {} has no port named {name}", container["name"]))
}

/// The mount path of the volume whose definition satisfies `is`.
fn mount_of(workload: &Value, container: &Value, is: impl Fn(&Value) -> bool) -> String {
    let volume = pod_spec(workload)["volumes"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| is(v)))
        .unwrap_or_else(|| panic!("no such volume in {}", name_of(workload)));
    container["volumeMounts"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["name"] == volume["name"]))
        .and_then(|m| m["mountPath"].as_str())
        .unwrap_or_else(|| panic!("volume {} is not mounted", volume["name"]))
        .to_string()
}

/// Every pod of every workload runs hardened, sized and probed.
fn assert_hardened(objects: &[Value]) {
    let workloads: Vec<&Value> =
        objects.iter().filter(|o| o["kind"] == "Deployment" || o["kind"] == "StatefulSet").collect();
    assert!(!workloads.is_empty());
    for w in workloads {
        let name = name_of(w);
        let pod = pod_spec(w);
        assert_eq!(pod["automountServiceAccountToken"], false, "{name}: no auto-mounted token");
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
        assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault", "{name}");
        let selector = &w["spec"]["selector"]["matchLabels"];
        let labels = &pod_template_labels(w);
        assert!(
            selector.as_object().expect("matchLabels").iter().all(|(k, v)| labels.get(k) == Some(v)),
            "{name}: the selector selects its own pods"
        );
        let pdbs: Vec<&Value> =
            of_kind(objects, "PodDisruptionBudget").into_iter().filter(|p| selects(p, labels)).collect();
        assert_eq!(pdbs.len(), 1, "{name}: one PodDisruptionBudget covers its pods");
        for c in pod["containers"].as_array().expect("containers") {
            let cname = format!("{name}/{}", c["name"]);
            let sc = &c["securityContext"];
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{cname}");
            assert_eq!(sc["readOnlyRootFilesystem"], true, "{cname}");
            assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]), "{cname}");
            assert_ne!(sc["privileged"], true, "{cname}");
            for kind in ["requests", "limits"] {
                for resource in ["cpu", "memory"] {
                    assert!(
                        c["resources"][kind][resource].is_string(),
                        "{cname}: resources.{kind}.{resource}"
                    );
                }
            }
            for probe in ["livenessProbe", "readinessProbe"] {
                assert!(c[probe]["httpGet"]["path"].is_string(), "{cname}: {probe}");
            }
        }
    }
}

fn pod_template_labels(workload: &Value) -> serde_json::Map<String, Value> {
    workload["spec"]["template"]["metadata"]["labels"].as_object().expect("pod labels").clone()
}

fn selects(selector_owner: &Value, labels: &serde_json::Map<String, Value>) -> bool {
    let selector = &selector_owner["spec"]["selector"]["matchLabels"];
    let selector =
        if selector.is_null() { &selector_owner["spec"]["podSelector"]["matchLabels"] } else { selector };
    selector.as_object().is_some_and(|m| m.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

fn probe(container: &Value, which: &str) -> (String, String) {
    let get = &container[which]["httpGet"];
    (
        get["path"].as_str().unwrap_or_default().to_string(),
        get["port"].as_str().unwrap_or_default().to_string(),
    )
}

/// The Dockerfile's stage names.
fn dockerfile_stages() -> BTreeSet<String> {
    std::fs::read_to_string(repo_root().join("Dockerfile"))
        .expect("Dockerfile")
        .lines()
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            match words.as_slice() {
                [from, .., as_kw, name]
                    if from.eq_ignore_ascii_case("FROM") && as_kw.eq_ignore_ascii_case("AS") =>
                {
                    Some(name.to_string())
                }
                _ => None,
            }
        })
        .collect()
}

/// A (generated) Secret's file `key`, decoded.
fn secret_file(secret: &Value, key: &str) -> String {
    use base64::Engine as _;
    let encoded =
        secret["data"][key].as_str().unwrap_or_else(|| panic!("{} holds no {key}", name_of(secret)));
    // A long value is a multi-line YAML scalar: its lines come back joined by spaces.
    let encoded: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).expect("base64");
    String::from_utf8(bytes).expect("UTF-8")
}

fn image_of(workload: &Value) -> String {
    pod_spec(workload)["containers"][0]["image"].as_str().expect("image").to_string()
}

// ---------------------------------------------------------------- tests: the manifests

#[tokio::test]
async fn every_overlay_passes_a_server_side_dry_run() {
    let ctx = TestContext::new().await;
    let Some(kubectl) = Kubectl::find(&ctx) else { return };
    let executor_ns = ctx.namespace("kubently").await;
    let hub_ns = ctx.namespace("kubently-hub").await;
    for overlay in OVERLAYS {
        let mut objects = kubectl.render(overlay, None);
        assert!(objects.len() >= 8, "{overlay} renders {} objects", objects.len());
        for pdb in of_kind(&objects, "PodDisruptionBudget") {
            assert_eq!(
                pdb["apiVersion"], "policy/v1beta1",
                "{overlay}: the 1.20 component serves PDBs as v1beta1"
            );
        }
        relocate(&mut objects, &[(EXECUTOR_NAMESPACE, &executor_ns.name), (HUB_NAMESPACE, &hub_ns.name)]);
        let out = kubectl.apply(&objects, true);
        let accepted: Vec<&str> = out.lines().filter(|l| l.ends_with("(server dry run)")).collect();
        assert_eq!(accepted.len(), objects.len(), "{overlay}: every object accepted:\n{out}");
    }
    // Without the component, the manifests are for current servers (policy/v1beta1 is gone
    // since 1.25).
    for file in ["deploy/executor/pdb.yaml", "deploy/hub/nats.yaml", "deploy/hub/gateway.yaml"] {
        let text = std::fs::read_to_string(repo_root().join(file)).expect("manifest");
        assert!(
            text.contains("apiVersion: policy/v1\n") && !text.contains("policy/v1beta1\n"),
            "{file} declares its PodDisruptionBudget as policy/v1"
        );
    }
}

/// `components/impersonation` turns impersonation on with valid prefixes, and its RBAC is what
/// `kubently-admin impersonation-rbac` prints for its example callers, bound to the executor's
/// ServiceAccount (the impersonation tests prove on the API server that the executor accepts that
/// rule and runs commands through it).
#[tokio::test]
async fn the_impersonation_component_agrees_with_the_code() {
    let ctx = TestContext::new().await;
    let Some(kubectl) = Kubectl::find(&ctx) else { return };
    let objects = kubectl.render("overlays/impersonation", None);
    let deployment = one(&objects, "Deployment", "kubently-executor");
    let env = kubently_env(&objects, &pod_spec(deployment)["containers"][0]);
    let settings = load_with_env::<kubently_executor::Settings>(None, Some(env.clone()))
        .unwrap_or_else(|e| panic!("the executor's KUBENTLY__* variables ({env:?}) do not load: {e}"));
    assert!(settings.impersonation.enabled, "{env:?}");
    let impersonation = Impersonation::from_settings(&settings.impersonation, "c").expect("valid prefixes");
    assert!(impersonation.is_some_and(|i| i.user_prefix() == "kubently:" && i.group_prefix() == "kubently:"));
    assert_eq!(settings.executor.cluster_id, "my-cluster", "the base's other settings stay");

    let file = repo_root().join("deploy/components/impersonation/impersonation-rbac.yaml");
    let printed = RbacSpec { users: vec!["alice".into()], groups: vec!["sre".into()], ..Default::default() }
        .manifests()
        .expect("the admin command's output");
    assert_eq!(std::fs::read_to_string(&file).expect("the component's RBAC"), printed, "{}", file.display());
    let role = one(&objects, "ClusterRole", "kubently-executor-impersonate");
    assert_eq!(role["rules"][0]["resourceNames"], json!(["kubently:alice"]));
    let binding = one(&objects, "ClusterRoleBinding", "kubently-executor-impersonate");
    let sa = one(&objects, "ServiceAccount", "kubently-executor");
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": name_of(sa), "namespace": sa["metadata"]["namespace"]}])
    );
    assert_eq!(binding["roleRef"]["name"], name_of(role));
}

#[tokio::test]
async fn the_executor_manifests_agree_with_the_code() {
    let ctx = TestContext::new().await;
    let Some(kubectl) = Kubectl::find(&ctx) else { return };
    let objects = kubectl.render("executor", None);
    let hub = kubectl.render("hub", None);
    assert_hardened(&objects);

    let deployment = one(&objects, "Deployment", "kubently-executor");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pod = pod_spec(deployment);
    let container = &pod["containers"][0];
    let env = kubently_env(&objects, container);
    let settings = load_with_env::<kubently_executor::Settings>(None, Some(env.clone()))
        .unwrap_or_else(|e| panic!("the executor's KUBENTLY__* variables ({env:?}) do not load: {e}"));
    kubently_shared::names::validate_cluster_id(&settings.executor.cluster_id).expect("a valid cluster id");
    assert!(!settings.executor.allow_write_identity, "the deployed executor refuses write identities");

    // Probes reach the endpoints the executor serves, on the port it listens on.
    assert_eq!(settings.executor.health_host, "0.0.0.0", "the kubelet probes the pod's address");
    assert_eq!(u64::from(settings.executor.health_port), container_port(container, "health"));
    assert_eq!(
        probe(container, "livenessProbe"),
        (kubently_executor::health::LIVENESS_PATH.into(), "health".into())
    );
    assert_eq!(
        probe(container, "readinessProbe"),
        (kubently_executor::health::READINESS_PATH.into(), "health".into())
    );

    // The token kube-rs's in-cluster config reads: projected, expiring, at its path.
    let sa = one(&objects, "ServiceAccount", "kubently-executor");
    assert_eq!(pod["serviceAccountName"], name_of(sa));
    assert_eq!(sa["automountServiceAccountToken"], false);
    let token_dir = mount_of(deployment, container, |v| !v["projected"].is_null());
    assert_eq!(token_dir, SERVICE_ACCOUNT_DIR);
    let projected = &pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| !v["projected"].is_null())
        .expect("projected")["projected"];
    let mut files: Vec<&str> = Vec::new();
    for source in projected["sources"].as_array().expect("sources") {
        if let Some(path) = source["serviceAccountToken"]["path"].as_str() {
            assert!(source["serviceAccountToken"]["expirationSeconds"].as_u64().is_some_and(|s| s <= 3600));
            files.push(path);
        }
        for item in source["configMap"]["items"].as_array().into_iter().flatten() {
            assert_eq!(source["configMap"]["name"], "kube-root-ca.crt", "the cluster's CA bundle");
            files.push(item["path"].as_str().expect("path"));
        }
        for item in source["downwardAPI"]["items"].as_array().into_iter().flatten() {
            assert_eq!(item["fieldRef"]["fieldPath"], "metadata.namespace");
            files.push(item["path"].as_str().expect("path"));
        }
    }
    files.sort_unstable();
    assert_eq!(files, ["ca.crt", "namespace", "token"], "what kube::Config::incluster reads");
    assert!(settings.kube.kubeconfig.is_none(), "in a pod the executor uses its ServiceAccount");

    // The NATS credentials file is the mounted Secret's key.
    let secret = one(&objects, "Secret", "kubently-executor-nats");
    let creds = settings.nats.credentials_file.clone().expect("nats.credentials_file is wired");
    let creds_dir = mount_of(deployment, container, |v| v["secret"]["secretName"] == name_of(secret));
    assert_eq!(creds.parent(), Some(Path::new(&creds_dir)));
    let key = creds.file_name().and_then(|f| f.to_str()).expect("file name");
    let creds_text = secret_file(secret, key);
    assert!(
        creds_text.starts_with("PLACEHOLDER, NOT A CREDENTIAL"),
        "the credentials are a marked placeholder `kubently-admin add-cluster` replaces: {creds_text}"
    );
    // The bus CA and the trusted signing keys are files of the same Secret (what add-cluster prints).
    let ca = settings.nats.tls_ca_file.clone().expect("nats.tls_ca_file is wired");
    let trusted = settings.signing.trusted_keys_file.clone().expect("signing.trusted_keys_file is wired");
    for file in [&ca, &trusted] {
        assert_eq!(file.parent(), Some(Path::new(&creds_dir)), "{} is in the mounted Secret", file.display());
        let key = file.file_name().and_then(|f| f.to_str()).expect("file name");
        assert!(
            secret_file(secret, key).starts_with("PLACEHOLDER"),
            "{key} is a placeholder key of the Secret"
        );
    }
    let printed = kubently_admin::cli::secret_manifest("kubently", "creds", "ca", "key");
    for key in ["executor.creds", "ca.crt", "trusted-signing-keys"] {
        assert!(printed.contains(&format!("  {key}: ")), "add-cluster's Secret has {key}: {printed}");
    }

    // NATS is the hub's service, with the hub's replicas.
    let nats_service = one(&hub, "Service", "kubently-nats");
    let nats_sts = one(&hub, "StatefulSet", "kubently-nats");
    assert_eq!(settings.nats.seed_urls().expect("nats.url").len(), 1);
    let port = nats_service["spec"]["ports"][0]["port"].as_u64().expect("port");
    assert_eq!(
        settings.nats.url,
        format!("tls://{}.{HUB_NAMESPACE}.svc.cluster.local:{port}", name_of(nats_service))
    );
    assert_eq!(json!(settings.nats.replicas), nats_sts["spec"]["replicas"]);

    // The image is the Dockerfile's executor target at this version.
    assert!(dockerfile_stages().contains("executor"));
    assert_eq!(image_of(deployment), format!("kubently-executor:{}", env!("CARGO_PKG_VERSION")));

    // The NetworkPolicy: nothing in, out only to DNS, the API server and NATS.
    let policy = one(&objects, "NetworkPolicy", "kubently-executor");
    assert!(selects(policy, &pod_template_labels(deployment)));
    assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    assert!(policy["spec"]["ingress"].as_array().is_none_or(Vec::is_empty), "no ingress rule");
    let ports: BTreeSet<String> = policy["spec"]["egress"]
        .as_array()
        .expect("egress")
        .iter()
        .flat_map(|rule| rule["ports"].as_array().expect("every rule names its ports").clone())
        .map(|p| format!("{}/{}", p["port"], p["protocol"].as_str().unwrap_or("TCP")))
        .collect();
    let expected: BTreeSet<String> =
        ["53/UDP", "53/TCP", "443/TCP", "6443/TCP", "4222/TCP"].iter().map(|s| s.to_string()).collect();
    assert_eq!(ports, expected);
    let nats_pods = pod_template_labels(nats_sts);
    assert!(
        policy["spec"]["egress"].as_array().expect("egress").iter().any(|rule| {
            rule["to"].as_array().into_iter().flatten().any(|peer| {
                peer["podSelector"]["matchLabels"]
                    .as_object()
                    .is_some_and(|m| m.iter().all(|(k, v)| nats_pods.get(k) == Some(v)))
            })
        }),
        "the hub's NATS pods are an allowed egress peer"
    );

    // The RBAC: read only; no Secrets in the base, get/list on them in the overlay.
    let role = one(&objects, "ClusterRole", "kubently-executor");
    let binding = one(&objects, "ClusterRoleBinding", "kubently-executor");
    assert_eq!(binding["roleRef"]["name"], name_of(role));
    assert_eq!(
        binding["subjects"][0],
        json!({"kind": "ServiceAccount", "name": name_of(sa), "namespace": EXECUTOR_NAMESPACE})
    );
    for rule in role["rules"].as_array().expect("rules") {
        let verbs: BTreeSet<&str> =
            rule["verbs"].as_array().expect("verbs").iter().filter_map(Value::as_str).collect();
        assert!(verbs.is_subset(&BTreeSet::from(["get", "list", "watch"])), "read verbs only: {rule}");
        assert!(!rule["resources"].to_string().contains("secrets"), "no Secrets by default: {rule}");
        assert!(!rule["resources"].to_string().contains('*'), "no wildcards: {rule}");
    }
    let overlay = kubectl.render("overlays/secrets-metadata", None);
    let secret_rules: Vec<&Value> = one(&overlay, "ClusterRole", "kubently-executor")["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter(|r| r["resources"].to_string().contains("secrets"))
        .collect();
    assert_eq!(
        secret_rules,
        [&json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]})]
    );

    // The namespace-scoped variant: Roles exactly where the executor is told to look.
    let scoped = kubectl.render("overlays/namespaced", None);
    let container = &pod_spec(one(&scoped, "Deployment", "kubently-executor"))["containers"][0];
    let settings = load_with_env::<kubently_executor::Settings>(None, Some(kubently_env(&scoped, container)))
        .expect("the namespaced variant's settings load");
    let bound: BTreeSet<String> = of_kind(&scoped, "RoleBinding")
        .iter()
        .map(|b| b["metadata"]["namespace"].as_str().expect("namespace").to_string())
        .collect();
    let roles: BTreeSet<String> = of_kind(&scoped, "Role")
        .iter()
        .map(|b| b["metadata"]["namespace"].as_str().expect("namespace").to_string())
        .collect();
    assert_eq!(settings.executor.namespaces.iter().cloned().collect::<BTreeSet<_>>(), bound);
    assert_eq!(roles, bound);
    assert!(bound.contains(&settings.kube.default_namespace), "commands without -n run where it may read");
    let cluster_role = one(&scoped, "ClusterRole", "kubently-executor");
    assert!(
        cluster_role["rules"].as_array().expect("rules").iter().all(|r| r["resources"].is_null()),
        "no cluster-wide resource access: {cluster_role}"
    );
}

#[tokio::test]
async fn the_hub_manifests_agree_with_the_code() {
    let ctx = TestContext::new().await;
    let Some(kubectl) = Kubectl::find(&ctx) else { return };
    let objects = kubectl.render("hub", None);
    assert_hardened(&objects);

    // The gateway: settings from the ConfigMap plus the keys file, probes, service.
    let gateway = one(&objects, "Deployment", "kubently-gateway");
    assert_eq!(gateway["spec"]["replicas"], 2);
    let container = &pod_spec(gateway)["containers"][0];
    let keys = one(&objects, "Secret", "kubently-gateway-keys");
    let config_path =
        env_value(container, "KUBENTLY_CONFIG").and_then(|e| e["value"].as_str()).expect("KUBENTLY_CONFIG");
    let config_path = Path::new(config_path);
    let keys_dir = mount_of(gateway, container, |v| v["secret"]["secretName"] == name_of(keys));
    assert_eq!(config_path.parent(), Some(Path::new(&keys_dir)));
    let file_name = config_path.file_name().and_then(|f| f.to_str()).expect("file name");
    let toml = secret_file(keys, file_name);
    assert!(toml.starts_with("# PLACEHOLDER, NOT A CREDENTIAL"), "{toml}");
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join(file_name);
    std::fs::write(&file, toml).expect("write");
    let settings =
        load_with_env::<kubently_gateway::Settings>(Some(&file), Some(kubently_env(&objects, container)))
            .unwrap_or_else(|e| panic!("the gateway's settings do not load: {e}"));
    let refused =
        kubently_gateway::auth::KeyRing::from_settings(&settings.auth).err().expect("placeholder refused");
    assert!(refused.to_string().contains("shorter than 16 characters"), "{refused}");
    assert_eq!(settings.server.host, "0.0.0.0");
    assert_eq!(u64::from(settings.server.port), container_port(container, "http"));
    assert_eq!(probe(container, "livenessProbe"), ("/healthz".into(), "http".into()));
    assert_eq!(probe(container, "readinessProbe"), ("/readyz".into(), "http".into()));
    let service = one(&objects, "Service", "kubently-gateway");
    let labels = pod_template_labels(gateway);
    let selector = service["spec"]["selector"].as_object().expect("selector");
    assert!(selector.iter().all(|(k, v)| labels.get(k) == Some(v)), "the service selects the gateway");
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "http");
    assert!(dockerfile_stages().contains("gateway"));
    assert_eq!(image_of(gateway), format!("kubently-gateway:{}", env!("CARGO_PKG_VERSION")));

    // NATS: 3 nodes behind a headless service; the gateway seeds every node, 3 replicas.
    let sts = one(&objects, "StatefulSet", "kubently-nats");
    let replicas = sts["spec"]["replicas"].as_u64().expect("replicas");
    assert_eq!(replicas, 3);
    assert_eq!(image_of(sts), format!("nats:{NATS_SERVER_VERSION}-alpine"));
    let headless = one(&objects, "Service", sts["spec"]["serviceName"].as_str().expect("serviceName"));
    assert_eq!(headless["spec"]["clusterIP"], "None");
    assert_eq!(headless["spec"]["publishNotReadyAddresses"], true);
    let pods: Vec<String> =
        (0..replicas).map(|i| format!("{}-{i}.{}", name_of(sts), name_of(headless))).collect();
    let seeds: Vec<String> = settings.nats.url.split(',').map(|u| u.trim().to_string()).collect();
    assert_eq!(seeds, pods.iter().map(|p| format!("tls://{p}:4222")).collect::<Vec<_>>());
    // The gateway's bus files: its NATS user, the bus CA, the signing key, from kubently-gateway-bus.
    let bus = one(&objects, "Secret", "kubently-gateway-bus");
    let bus_dir = mount_of(gateway, container, |v| v["secret"]["secretName"] == name_of(bus));
    for file in [
        settings.nats.credentials_file.clone().expect("nats.credentials_file"),
        settings.nats.tls_ca_file.clone().expect("nats.tls_ca_file"),
        settings.signing.key_file.clone().expect("signing.key_file"),
    ] {
        assert_eq!(file.parent(), Some(Path::new(&bus_dir)), "{} is in kubently-gateway-bus", file.display());
        let key = file.file_name().and_then(|f| f.to_str()).expect("file name");
        assert!(
            secret_file(bus, key).starts_with("PLACEHOLDER"),
            "{key} is a placeholder until `kubently-admin hub`"
        );
    }
    assert_eq!(settings.nats.replicas as u64, replicas);
    assert!(!sts["spec"]["volumeClaimTemplates"].as_array().expect("persistent volumes").is_empty());

    // The NATS config is valid for the pinned nats-server, its routes are the pods, and the
    // store is on the persistent volume.
    let nats = &pod_spec(sts)["containers"][0];
    let args: Vec<&str> = nats["args"].as_array().expect("args").iter().filter_map(Value::as_str).collect();
    let config_map = of_kind(&objects, "ConfigMap")
        .into_iter()
        .find(|c| c["data"]["nats.conf"].is_string())
        .expect("the NATS config");
    let conf = config_map["data"]["nats.conf"].as_str().expect("nats.conf");
    let conf_dir = mount_of(sts, nats, |v| v["configMap"]["name"] == name_of(config_map));
    assert_eq!(args[..2], ["-c", &format!("{conf_dir}/nats.conf")]);
    let store = args.iter().position(|a| *a == "-sd").map(|i| args[i + 1]).expect("-sd");
    let data = &sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"];
    let data_dir = nats["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .find(|m| m["name"] == *data)
        .expect("data mounted")["mountPath"]
        .as_str()
        .expect("path");
    assert!(store.starts_with(data_dir), "the store {store} is on the volume at {data_dir}");
    for pod in &pods {
        assert!(conf.contains(&format!("nats-route://{pod}:6222")), "a route to {pod}");
    }
    // Operator mode and TLS come from the kubently-nats-bus Secret, mounted beside the config as
    // `kubently-admin hub` expects; the include resolves there.
    let nats_bus = one(&objects, "Secret", "kubently-nats-bus");
    let nats_bus_dir = mount_of(sts, nats, |v| v["secret"]["secretName"] == name_of(nats_bus));
    assert_eq!(nats_bus_dir, kubently_admin::cli::HUB_NATS_DIR);
    assert!(conf.contains("include \"../nats-bus/nats-auth.conf\""), "the hub's NATS includes its auth");
    let included = Path::new(&conf_dir).parent().map(|etc| etc.join("nats-bus"));
    assert_eq!(included.as_deref(), Some(Path::new(&nats_bus_dir)), "the include names the mounted Secret");
    for key in ["nats-auth.conf", "operator.jwt", "server.crt", "server.key", "ca.crt"] {
        assert!(secret_file(nats_bus, key).starts_with("PLACEHOLDER"), "{key} is a placeholder key");
    }
    assert!(kubently_admin::cli::HUB_RESOLVER_DIR.starts_with(data_dir), "account JWTs on the volume");
    // What `kubently-admin hub` writes, with its pod paths moved into the temporary directory.
    let bus =
        kubently_admin::cli::Setup::create(&dir.path().join("admin"), &["127.0.0.1"], &Default::default())
            .expect("a bus setup");
    let hub_files = dir.path().join("hub-files");
    bus.hub_files(&hub_files, &Default::default()).expect("kubently-admin hub");
    let local_bus = dir.path().join("nats-bus");
    std::fs::create_dir_all(&local_bus).expect("dir");
    for file in ["operator.jwt", "server.crt", "server.key", "ca.crt"] {
        std::fs::copy(hub_files.join(file), local_bus.join(file)).expect("copy");
    }
    assert!(conf.contains(&format!("ca_file: \"{}/ca.crt\"", nats_bus_dir)), "routes verify each other");
    let auth = std::fs::read_to_string(hub_files.join("nats-auth.conf"))
        .expect("nats-auth.conf")
        .replace(kubently_admin::cli::HUB_NATS_DIR, &local_bus.display().to_string())
        .replace(kubently_admin::cli::HUB_RESOLVER_DIR, &dir.path().join("accounts").display().to_string());
    std::fs::write(local_bus.join("nats-auth.conf"), auth).expect("write nats-auth.conf");
    let conf_dir_local = dir.path().join("nats");
    std::fs::create_dir_all(&conf_dir_local).expect("dir");
    let conf_file = conf_dir_local.join("nats.conf");
    // The routes' TLS files, as the pod sees them, moved into the temporary directory too.
    let conf = conf.replace(&nats_bus_dir, &local_bus.display().to_string());
    std::fs::write(&conf_file, conf).expect("write nats.conf");
    let server_name = env_value(nats, "SERVER_NAME").expect("SERVER_NAME from the pod");
    assert_eq!(server_name["valueFrom"]["fieldRef"]["fieldPath"], "metadata.name");
    let nats_bin = paths::nats_server_bin();
    paths::require(&nats_bin, "nats-server").unwrap_or_else(|e| panic!("{e}"));
    // `-t` only parses and checks (no network); the store is a temporary directory.
    let out = Command::new(&nats_bin)
        .arg("-c")
        .arg(&conf_file)
        .arg("-sd")
        .arg(dir.path().join("store"))
        .arg("-t")
        .env("SERVER_NAME", format!("{}-0", name_of(sts)))
        .output()
        .expect("nats-server -t");
    assert!(
        out.status.success(),
        "nats-server {NATS_SERVER_VERSION} rejects the hub's nats.conf: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------- tests: the identity

const WRITE_VERBS: [&str; 5] = ["create", "update", "patch", "delete", "deletecollection"];

/// (group, resource[/subresource], verbs) the executor must never be allowed, Secrets aside.
fn never_allowed() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    let entering = vec!["get", "create"];
    vec![
        ("", "pods/exec", entering.clone()),
        ("", "pods/attach", entering.clone()),
        ("", "pods/portforward", entering.clone()),
        ("", "pods/proxy", entering.clone()),
        ("", "nodes/proxy", entering.clone()),
        ("", "services/proxy", entering),
        ("", "users", vec!["impersonate"]),
        ("", "groups", vec!["impersonate"]),
        ("", "serviceaccounts", vec!["impersonate"]),
        ("authentication.k8s.io", "userextras", vec!["impersonate"]),
        ("rbac.authorization.k8s.io", "clusterroles", vec!["escalate", "bind", "create"]),
        ("rbac.authorization.k8s.io", "roles", vec!["escalate", "bind", "create"]),
        ("rbac.authorization.k8s.io", "clusterrolebindings", vec!["create", "update"]),
        ("certificates.k8s.io", "signers", vec!["approve", "sign"]),
        ("certificates.k8s.io", "certificatesigningrequests/approval", vec!["update"]),
        ("", "serviceaccounts/token", vec!["create"]),
    ]
}

/// Every (namespace, verb, group, resource) and whether `identity` should be allowed it: reads
/// of what `role_rules` grants allowed, every write of it denied, [`never_allowed`] denied,
/// Secrets as `secrets_readable` says.
fn access_matrix(role_rules: &[Value], secrets_readable: bool) -> Vec<(String, String, String, bool)> {
    let mut cases = Vec::new();
    for rule in role_rules.iter().filter(|r| !r["resources"].is_null()) {
        let verbs: Vec<&str> =
            rule["verbs"].as_array().expect("verbs").iter().filter_map(Value::as_str).collect();
        for group in rule["apiGroups"].as_array().expect("groups").iter().filter_map(Value::as_str) {
            for resource in rule["resources"].as_array().expect("resources").iter().filter_map(Value::as_str)
            {
                if resource == "secrets" {
                    continue;
                }
                for verb in ["get", "list", "watch"] {
                    cases.push((
                        verb.to_string(),
                        group.to_string(),
                        resource.to_string(),
                        verbs.contains(&verb),
                    ));
                }
                // Denied whatever the role says: the matrix is the proof, not a mirror.
                for verb in WRITE_VERBS {
                    cases.push((verb.to_string(), group.to_string(), resource.to_string(), false));
                }
            }
        }
    }
    for (group, resource, verbs) in never_allowed() {
        for verb in verbs {
            cases.push((verb.to_string(), group.to_string(), resource.to_string(), false));
        }
    }
    for verb in ["get", "list", "watch"].iter().chain(WRITE_VERBS.iter()) {
        let allowed = secrets_readable && (*verb == "get" || *verb == "list");
        cases.push((verb.to_string(), String::new(), "secrets".to_string(), allowed));
    }
    cases
}

/// Runs the matrix cluster-wide and in `namespace`; returns the cases the server answered
/// otherwise.
async fn check_matrix(
    ctx: &TestContext,
    identity: &Identity,
    namespace: &str,
    cases: &[(String, String, String, bool)],
) -> Vec<String> {
    use futures::StreamExt;
    let checks = cases.iter().flat_map(|case| [(None, case), (Some(namespace), case)]);
    let answers: Vec<Option<String>> = futures::stream::iter(checks)
        .map(|(ns, (verb, group, resource, expected))| async move {
            let allowed = identity.may(ctx, ns, verb, group, resource).await;
            (allowed != *expected).then(|| {
                format!(
                    "{verb} {resource} (group {group:?}) in {}: expected {}, the API server says {}",
                    ns.unwrap_or("every namespace"),
                    if *expected { "allowed" } else { "denied" },
                    if allowed { "allowed" } else { "denied" }
                )
            })
        })
        .buffer_unordered(16)
        .collect()
        .await;
    answers.into_iter().flatten().collect()
}

/// `kubectl <argv>` through the gateway to the app's executor: output then error, as the golden
/// corpus records it.
async fn through_gateway(app: &TestApp, argv: &[&str]) -> String {
    let (status, body) =
        app.execute(argv[0], &argv[1..], json!({"output_budget": 1_048_576, "timeout_seconds": 30})).await;
    assert_eq!(status, 200, "{argv:?}: {body}");
    format!("{}{}", body["output"].as_str().unwrap_or_default(), body["error"].as_str().unwrap_or_default())
}

/// What the admin identity's engine answers, as the golden corpus records it.
async fn as_admin(engine: &Engine, argv: &[&str]) -> String {
    match support::kubectl(engine, argv[0], &argv[1..]).await {
        Ok(o) => o.text,
        Err(e) => format!("{}{e}", e.partial_output().map(|o| o.text.clone()).unwrap_or_default()),
    }
}

/// The app's cluster in `GET /debug/clusters/{id}`'s `access`.
async fn access_shown(app: &TestApp) -> Value {
    let (status, detail) = app.get(&format!("/debug/clusters/{}", app.cluster_id)).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["access"], detail["executors"][0]["access"], "{detail}");
    detail["access"].clone()
}

fn forbidden(user: &str, verb: &str, resource: &str, namespace: &str) -> String {
    format!(
        "Error from server (Forbidden): {resource} \"orders-db-credentials\" is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"\" in the namespace \"{namespace}\""
    )
}

#[tokio::test]
async fn the_least_privilege_role_denies_what_it_must_and_answers_the_whole_vocabulary() {
    let ctx = TestContext::new().await;
    let Some(kubectl) = Kubectl::find(&ctx) else { return };
    let (ns, ns_secrets) = (ctx.namespace("exec").await, ctx.namespace("exec-sec").await);
    let base = Identity::of_overlay(&ctx, &kubectl, "executor", &ctx.id, &ns).await;
    let with_secrets = Identity::of_overlay(
        &ctx,
        &kubectl,
        "overlays/secrets-metadata",
        &format!("{}-s", ctx.id),
        &ns_secrets,
    )
    .await;

    // The SubjectAccessReview matrix, for both identities.
    let rules = one(&kubectl.render("executor", None), "ClusterRole", "kubently-executor")["rules"]
        .as_array()
        .expect("rules")
        .clone();
    let cases = access_matrix(&rules, false);
    assert!(cases.len() > 300, "{} cases", cases.len());
    let wrong = check_matrix(&ctx, &base, "demo-shop", &cases).await;
    assert!(wrong.is_empty(), "the executor's ClusterRole:\n{}", wrong.join("\n"));
    let wrong = check_matrix(&ctx, &with_secrets, "demo-shop", &access_matrix(&rules, true)).await;
    assert!(wrong.is_empty(), "the secrets-metadata overlay:\n{}", wrong.join("\n"));

    // An executor with that identity starts (its self-check passes) and says what it may read.
    let app = TestApp::spawn().await;
    let opts = ExecutorOptions {
        kubeconfig: Some(base.kubeconfig.clone()),
        allow_write_identity: false,
        ..Default::default()
    };
    let executor = app.start_executor("least-privilege", opts).await;
    let access = access_shown(&app).await;
    assert_eq!(
        access,
        json!({"namespaces": ["*"], "secrets": [], "logs": ["*"], "metrics": ["*"], "writeIdentity": false,
               "dangerousPermissions": [], "complete": true})
    );
    let mcp = mcp_raw::Raw::legacy(&app, AGENT_KEY).await;
    let (_, listed) = mcp.request(2, "tools/call", json!({"name": "list_clusters", "arguments": {}})).await;
    let ours = listed["result"]["structuredContent"]["clusters"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["cluster_id"] == app.cluster_id.as_str()))
        .unwrap_or_else(|| panic!("list_clusters shows the cluster: {listed}"));
    assert_eq!(
        ours["access"],
        json!({"namespaces": ["*"], "secrets": [], "logs": ["*"], "metrics": ["*"], "write_identity": false})
    );

    // Its health endpoints, as the kubelet probes them.
    for (path, status) in [("/healthz", "alive"), ("/readyz", "ready")] {
        let response =
            app.http.get(format!("http://{}{path}", executor.health)).send().await.expect("health");
        assert_eq!(response.status(), 200, "{path}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["status"], status, "{path}: {body}");
    }

    // The whole golden corpus: what the admin identity answers, Secrets refused as kubectl says.
    let admin = Engine::new(ctx.kube.clone());
    let mut differences = Vec::new();
    for (name, argv) in golden::CORPUS {
        let ours = through_gateway(&app, argv).await;
        let expected = match *name {
            "get_secret_yaml" | "describe_secret" => forbidden(&base.user, "get", "secrets", "demo-shop"),
            _ => golden::normalise(&as_admin(&admin, argv).await),
        };
        if golden::normalise(&ours) != expected {
            differences.push(format!(
                "$ kubectl {}\n--- expected\n{expected}\n--- least privilege\n{ours}",
                argv.join(" ")
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} differ:\n{}",
        differences.len(),
        golden::CORPUS.len(),
        differences.join("\n")
    );
    executor.stop();

    // With the secrets-metadata overlay, keys and sizes (never values).
    let app = TestApp::spawn().await;
    let opts = ExecutorOptions {
        kubeconfig: Some(with_secrets.kubeconfig.clone()),
        allow_write_identity: false,
        ..Default::default()
    };
    let executor = app.start_executor("secrets-metadata", opts).await;
    assert_eq!(access_shown(&app).await["secrets"], json!(["*"]));
    for (name, argv) in golden::CORPUS.iter().filter(|(n, _)| n.contains("secret")) {
        let ours = through_gateway(&app, argv).await;
        support::assert_no_secrets(name, &ours);
        assert_eq!(golden::normalise(&ours), golden::normalise(&as_admin(&admin, argv).await), "{name}");
    }
    executor.stop();
}

#[tokio::test]
async fn the_namespaced_variant_reads_its_namespaces_only() {
    let ctx = TestContext::new().await;
    let Some(kubectl) = Kubectl::find(&ctx) else { return };
    let ns = ctx.namespace("exec-ns").await;
    let identity = Identity::of_overlay(&ctx, &kubectl, "overlays/namespaced", &ctx.id, &ns).await;
    let objects = kubectl.render("overlays/namespaced", None);
    let container = &pod_spec(one(&objects, "Deployment", "kubently-executor"))["containers"][0];
    let settings =
        load_with_env::<kubently_executor::Settings>(None, Some(kubently_env(&objects, container)))
            .expect("settings");
    let namespaces = settings.executor.namespaces.clone();
    assert_eq!(namespaces, ["demo-shop", "demo-batch"]);

    let mut wrong = Vec::new();
    for (namespace, verb, group, resource, expected) in [
        (Some("demo-shop"), "list", "", "pods", true),
        (Some("demo-batch"), "get", "", "pods/log", true),
        (Some("demo-shop"), "get", "apps", "deployments", true),
        (Some("demo-shop"), "delete", "", "pods", false),
        (Some("demo-shop"), "create", "", "pods/exec", false),
        (Some("demo-shop"), "get", "", "secrets", false),
        (Some("default"), "list", "", "pods", false),
        (None, "list", "", "pods", false),
        (None, "list", "", "nodes", false),
        (None, "list", "", "namespaces", false),
    ] {
        if identity.may(&ctx, namespace, verb, group, resource).await != expected {
            wrong.push(format!("{verb} {resource} in {namespace:?}: expected allowed={expected}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:?}");

    let app = TestApp::spawn().await;
    let opts = ExecutorOptions {
        kubeconfig: Some(identity.kubeconfig.clone()),
        allow_write_identity: false,
        namespaces,
        ..Default::default()
    };
    let executor = app.start_executor("namespaced", opts).await;
    let access = access_shown(&app).await;
    assert_eq!(access["namespaces"], json!(["demo-batch", "demo-shop"]), "{access}");
    assert_eq!(access["logs"], json!(["demo-batch", "demo-shop"]), "{access}");
    assert_eq!((access["secrets"].clone(), access["writeIdentity"].clone()), (json!([]), json!(false)));

    let admin = Engine::new(ctx.kube.clone());
    for argv in [
        &["get", "pods", "-n", "demo-shop"][..],
        &["version"],
        &["explain", "pods.spec.containers.resources"],
    ] {
        assert_eq!(
            golden::normalise(&through_gateway(&app, argv).await),
            golden::normalise(&as_admin(&admin, argv).await),
            "{argv:?}"
        );
    }
    let everywhere = through_gateway(&app, &["get", "pods", "-A"]).await;
    assert_eq!(
        everywhere,
        format!(
            "Error from server (Forbidden): pods is forbidden: User \"{}\" cannot list resource \"pods\" in API group \"\" at the cluster scope",
            identity.user
        )
    );
    executor.stop();
}

/// A ServiceAccount in `ns` bound cluster-wide to one rule (the names carry `tag`).
fn single_rule_identity(ns: &str, tag: &str, rule: Value) -> Vec<Value> {
    let name = format!("kubently-probe-{tag}");
    vec![
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name}, "rules": [rule]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
               "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}]}),
    ]
}

/// What building an executor with `kubeconfig` (and no write allowance) ends with.
async fn build_error(app: &TestApp, kubeconfig: &Path) -> String {
    let opts = ExecutorOptions {
        kubeconfig: Some(kubeconfig.to_path_buf()),
        allow_write_identity: false,
        ..Default::default()
    };
    match kubently_executor::Application::build(app.executor_settings("refused", &opts)).await {
        Ok(_) => panic!("the executor started with {}", kubeconfig.display()),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn the_privilege_check_refuses_write_identities_and_fails_closed() {
    let ctx = TestContext::new().await;
    let Some(kubectl) = Kubectl::find(&ctx) else { return };
    let app = TestApp::spawn().await;

    // cluster-admin (the test apiserver's admin credential).
    let refused = build_error(&app, &ctx.stack.kubeconfig).await;
    for needle in ["refusing to start", "cluster-admin", "deploy/executor", "allow_write_identity"] {
        assert!(refused.contains(needle), "{needle:?} missing from:\n{refused}");
    }

    // An identity that can only delete pods, and one that can only exec into them.
    let ns = ctx.namespace("writer").await;
    for (tag, rule, needle) in [
        (
            "delete",
            json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]}),
            "delete on pods (API group \"\" (core))",
        ),
        (
            "exec",
            json!({"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}),
            "create on pods/exec",
        ),
    ] {
        let objects = single_rule_identity(&ns.name, &format!("{tag}-{}", ctx.id), rule);
        let identity = Identity::apply(&ctx, &kubectl, objects, &ns).await;
        let refused = build_error(&app, &identity.kubeconfig).await;
        assert!(refused.starts_with("refusing to start"), "{refused}");
        assert!(refused.contains(needle), "{needle:?} missing from:\n{refused}");
        assert!(refused.contains("Fix: run the executor as a ServiceAccount"), "{refused}");
    }

    // A write grant in one namespace only (a RoleBinding) is found in the namespaces it is told
    // to read.
    let target = ctx.namespace("target").await;
    let name = format!("kubently-probe-ns-{}", ctx.id);
    let objects = vec![
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns.name}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": name, "namespace": target.name},
               "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": name, "namespace": target.name},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
               "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns.name}]}),
    ];
    let identity = Identity::apply(&ctx, &kubectl, objects, &ns).await;
    let opts = ExecutorOptions {
        kubeconfig: Some(identity.kubeconfig.clone()),
        allow_write_identity: false,
        namespaces: vec![target.name.clone()],
        ..Default::default()
    };
    let refused = match kubently_executor::Application::build(app.executor_settings("scoped", &opts)).await {
        Ok(_) => panic!("the executor started with a patch grant in {}", target.name),
        Err(e) => e.to_string(),
    };
    assert!(
        refused.contains(&format!(
            "patch on deployments (API group apps) in namespace {}: changes the cluster",
            target.name
        )),
        "{refused}"
    );

    // An API server that cannot be asked: no start (fail closed) …
    let dir = tempfile::tempdir().expect("dir");
    let unreachable = dir.path().join("kubeconfig.yaml");
    let mut kubeconfig = Kubeconfig::read_from(&ctx.stack.kubeconfig).expect("kubeconfig");
    for cluster in kubeconfig.clusters.iter_mut().filter_map(|c| c.cluster.as_mut()) {
        cluster.server = Some(format!("https://127.0.0.1:{}", kubently_tests::process::free_port()));
    }
    std::fs::write(&unreachable, serde_yaml::to_string(&kubeconfig).expect("yaml")).expect("write");
    let refused = build_error(&app, &unreachable).await;
    assert!(refused.starts_with("cannot check what the executor's Kubernetes identity may do"), "{refused}");

    // … unless it is a lab (allow_write_identity): it starts, is not ready, and says why.
    let opts = ExecutorOptions { kubeconfig: Some(unreachable.clone()), ..Default::default() };
    let executor = app.start_executor("lab", opts).await;
    assert_eq!(access_shown(&app).await, Value::Null, "no access could be learnt");
    let response = app.http.get(format!("http://{}/readyz", executor.health)).send().await.expect("readyz");
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["checks"]["nats"], "connected", "{body}");
    assert!(body["checks"]["kubernetes_api"].as_str().is_some_and(|c| c.starts_with("failing")), "{body}");
    executor.kill();
}
