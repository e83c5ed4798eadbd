//! Commands run as their caller (`[impersonation]`) on the real API server, whose audit log
//! (`kube_cluster::AUDIT_POLICY`) says who it thought was asking. The executor runs as a
//! ServiceAccount whose only grant is the rule `kubently-admin impersonation-rbac` prints (it can
//! read nothing itself); callers are gateway API keys with a `kubernetes_user`:
//! - a caller's command reaches the API server as `kubently:<user>` (and its groups), with the
//!   command id in the audit event's extras;
//! - the caller's RBAC decides: `alice` (a RoleBinding in namespace A) gets kubectl's own
//!   Forbidden in namespace B, `bob` (a group bound to `view` cluster wide) reads B;
//! - a caller without a Kubernetes identity is refused, and nothing of its command reaches the
//!   API server;
//! - the privilege self-check accepts exactly that rule, and refuses it with impersonation off
//!   and an unrestricted one with it on.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, RoleBinding};
use kube::api::{Api, DeleteParams, PostParams};
use kubently_admin::impersonation::RbacSpec;
use kubently_executor::settings::ImpersonationSettings;
use kubently_gateway::settings::ApiKeySettings;
use kubently_tests::app::{
    AGENT_KEY, ExecutorHandle, ExecutorOptions, GatewayHandle, TestApp, gateway_settings, spawn_gateway,
};
use kubently_tests::harness::{TestContext, TestNamespace};
use kubently_tests::kube_cluster::client_from;
use kubently_tests::service_account;
use serde_json::{Value, json};

/// The executor's ServiceAccount (as in deploy/executor).
const EXECUTOR_SA: &str = "kubently-executor";

/// A caller of the test gateway: its API key and Kubernetes user (before the prefix).
struct Caller {
    key: String,
    user: String,
}

/// Cluster-scoped objects of one test, deleted when it ends.
struct ClusterScoped {
    roles: Vec<String>,
    bindings: Vec<String>,
    kubeconfig: PathBuf,
}

impl Drop for ClusterScoped {
    fn drop(&mut self) {
        let (roles, bindings, kubeconfig) =
            (std::mem::take(&mut self.roles), std::mem::take(&mut self.bindings), self.kubeconfig.clone());
        // The test's runtime may be shutting down: delete from a thread and a client of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let kube = client_from(&kubeconfig).await.ok()?;
                for name in bindings {
                    let _ = Api::<ClusterRoleBinding>::all(kube.clone())
                        .delete(&name, &DeleteParams::default())
                        .await;
                }
                for name in roles {
                    let _ =
                        Api::<ClusterRole>::all(kube.clone()).delete(&name, &DeleteParams::default()).await;
                }
                Some(())
            })
        })
        .join();
    }
}

/// The executor's identity: a ServiceAccount in the test's own namespace, bound to what
/// `kubently-admin impersonation-rbac` printed for the test's callers, and a kubeconfig with its
/// token.
struct ExecutorIdentity {
    /// `system:serviceaccount:<ns>:kubently-executor`.
    user: String,
    kubeconfig: PathBuf,
    _namespace: TestNamespace,
    _objects: ClusterScoped,
    _dir: tempfile::TempDir,
}

impl ExecutorIdentity {
    /// A ServiceAccount allowed what `rbac` (the admin command's output) grants, and nothing else.
    async fn with_rbac(ctx: &TestContext, users: &[&str], groups: &[&str]) -> Self {
        let namespace = ctx.namespace("exec").await;
        let spec = RbacSpec {
            users: users.iter().map(|u| u.to_string()).collect(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            namespace: namespace.name.clone(),
            service_account: EXECUTOR_SA.into(),
            name: format!("kubently-executor-impersonate-{}", ctx.id),
            ..RbacSpec::default()
        };
        let yaml = spec.manifests().expect("the admin command's RBAC");
        let mut objects = ClusterScoped {
            roles: Vec::new(),
            bindings: Vec::new(),
            kubeconfig: ctx.stack.kubeconfig.clone(),
        };
        for document in serde_yaml::Deserializer::from_str(&yaml) {
            let object: Value = serde::Deserialize::deserialize(document).expect("a YAML document");
            match object["kind"].as_str() {
                Some("ClusterRole") => {
                    let role: ClusterRole = serde_json::from_value(object).expect("a ClusterRole");
                    objects.roles.push(create(&ctx.kube, role).await);
                }
                Some("ClusterRoleBinding") => {
                    let binding: ClusterRoleBinding =
                        serde_json::from_value(object).expect("a ClusterRoleBinding");
                    objects.bindings.push(create(&ctx.kube, binding).await);
                }
                other => panic!("unexpected object {other:?} in:\n{yaml}"),
            }
        }
        Self::service_account(ctx, namespace, objects).await
    }

    /// A ServiceAccount whose only grant is `impersonate` on any user: what the self-check must
    /// refuse even with impersonation on.
    async fn unrestricted(ctx: &TestContext) -> Self {
        let namespace = ctx.namespace("wide").await;
        let name = format!("kubently-impersonate-anyone-{}", ctx.id);
        let role: ClusterRole = serde_json::from_value(json!({
            "metadata": {"name": name},
            "rules": [{"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["impersonate"]}]
        }))
        .expect("role");
        let binding = executor_binding(&name, &namespace.name);
        let mut objects = ClusterScoped {
            roles: Vec::new(),
            bindings: Vec::new(),
            kubeconfig: ctx.stack.kubeconfig.clone(),
        };
        objects.roles.push(create(&ctx.kube, role).await);
        objects.bindings.push(create(&ctx.kube, binding).await);
        Self::service_account(ctx, namespace, objects).await
    }

    async fn service_account(ctx: &TestContext, namespace: TestNamespace, objects: ClusterScoped) -> Self {
        let sa: ServiceAccount =
            serde_json::from_value(json!({"metadata": {"name": EXECUTOR_SA}})).expect("sa");
        Api::<ServiceAccount>::namespaced(ctx.kube.clone(), &namespace.name)
            .create(&PostParams::default(), &sa)
            .await
            .expect("create the executor's ServiceAccount");
        let token = service_account::token(&ctx.kube, &namespace.name, EXECUTOR_SA).await.expect("its token");
        let dir = tempfile::tempdir().expect("identity dir");
        let kubeconfig = dir.path().join("kubeconfig.yaml");
        service_account::write_kubeconfig_with_token(&ctx.stack.kubeconfig, &token, &kubeconfig)
            .expect("its kubeconfig");
        Self {
            user: format!("system:serviceaccount:{}:{EXECUTOR_SA}", namespace.name),
            kubeconfig,
            _namespace: namespace,
            _objects: objects,
            _dir: dir,
        }
    }

    fn executor_options(&self, impersonation: bool) -> ExecutorOptions {
        ExecutorOptions {
            kubeconfig: Some(self.kubeconfig.clone()),
            allow_write_identity: false,
            impersonation: ImpersonationSettings { enabled: impersonation, ..Default::default() },
            ..ExecutorOptions::default()
        }
    }
}

fn executor_binding(role: &str, namespace: &str) -> ClusterRoleBinding {
    serde_json::from_value(json!({
        "metadata": {"name": role},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": EXECUTOR_SA, "namespace": namespace}]
    }))
    .expect("binding")
}

/// Creates a cluster-scoped object; returns its name.
async fn create<K>(kube: &kube::Client, object: K) -> String
where
    K: kube::Resource<Scope = k8s_openapi::ClusterResourceScope> + Clone + std::fmt::Debug,
    K: serde::Serialize + serde::de::DeserializeOwned,
    K::DynamicType: Default,
{
    let name = object.meta().name.clone().expect("named");
    Api::<K>::all(kube.clone()).create(&PostParams::default(), &object).await.expect("create");
    name
}

/// A gateway replica (the app's prefix) that knows the test's callers, an executor running as
/// the impersonating ServiceAccount, namespaces A and B, and the callers' RBAC: `alice` may view
/// A (RoleBinding to the user), `bob` may view everything (his group bound to `view`).
struct Setup {
    app: TestApp,
    gateway: GatewayHandle,
    identity: ExecutorIdentity,
    alice: Caller,
    bob: Caller,
    a: TestNamespace,
    b: TestNamespace,
    _executor: ExecutorHandle,
    _viewers: ClusterScoped,
}

impl Setup {
    async fn start() -> Self {
        let app = TestApp::spawn().await;
        let id = app.ctx.id.clone();
        let alice = Caller { key: format!("alice-key-{id}-0123456789"), user: format!("alice-{id}") };
        let bob = Caller { key: format!("bob-key-{id}-0123456789"), user: format!("bob-{id}") };
        let viewers = format!("viewers-{id}");
        let mut settings = gateway_settings(&app.ctx, &app.prefix);
        settings.auth.keys.push(ApiKeySettings {
            service: "alice".into(),
            key: alice.key.clone(),
            kubernetes_user: Some(alice.user.clone()),
            ..Default::default()
        });
        settings.auth.keys.push(ApiKeySettings {
            service: "bob".into(),
            key: bob.key.clone(),
            kubernetes_user: Some(bob.user.clone()),
            kubernetes_groups: vec![viewers.clone()],
            ..Default::default()
        });
        let gateway = spawn_gateway(settings).await;

        let (a, b) = (app.ctx.namespace("a").await, app.ctx.namespace("b").await);
        let alice_views_a: RoleBinding = serde_json::from_value(json!({
            "metadata": {"name": "alice-views", "namespace": a.name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": format!("kubently:{}", alice.user)}]
        }))
        .expect("binding");
        Api::<RoleBinding>::namespaced(app.ctx.kube.clone(), &a.name)
            .create(&PostParams::default(), &alice_views_a)
            .await
            .expect("bind alice in A");
        let viewers_binding: ClusterRoleBinding = serde_json::from_value(json!({
            "metadata": {"name": format!("kubently-viewers-{id}")},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": format!("kubently:{viewers}")}]
        }))
        .expect("binding");
        let viewers_binding = create(&app.ctx.kube, viewers_binding).await;
        let marker: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": "only-in-b"}, "data": {"k": "v"}}))
                .expect("configmap");
        Api::<ConfigMap>::namespaced(app.ctx.kube.clone(), &b.name)
            .create(&PostParams::default(), &marker)
            .await
            .expect("a ConfigMap in B");

        let identity = ExecutorIdentity::with_rbac(&app.ctx, &[&alice.user, &bob.user], &[&viewers]).await;
        let executor = app.start_executor("e1", identity.executor_options(true)).await;
        Self {
            gateway,
            identity,
            alice,
            bob,
            a,
            b,
            _executor: executor,
            _viewers: ClusterScoped {
                roles: Vec::new(),
                bindings: vec![viewers_binding],
                kubeconfig: app.ctx.stack.kubeconfig.clone(),
            },
            app,
        }
    }

    /// POST `body` to `path` with `key` on the replica that knows the callers.
    async fn post(&self, key: &str, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .app
            .http
            .post(format!("{}{path}", self.gateway.url))
            .header("X-API-Key", key)
            .json(body)
            .send()
            .await
            .expect("gateway reachable");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `POST /debug/execute` of `command_type args` (and `extra` fields) with `key`.
    async fn run_with(&self, key: &str, command_type: &str, args: &[&str], extra: Value) -> Value {
        let mut body = json!({"cluster_id": self.app.cluster_id, "command_type": command_type, "args": args});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let (status, outcome) = self.post(key, "/debug/execute", &body).await;
        assert_eq!(status, 200, "{command_type} {args:?}: {outcome}");
        outcome
    }

    async fn run(&self, key: &str, command_type: &str, args: &[&str]) -> Value {
        self.run_with(key, command_type, args, json!({})).await
    }
}

/// The API server's audit events (JSON lines) that satisfy `matches`, waited for up to 10 s
/// (the log backend writes each event before the response; the wait is for the file system).
async fn audit_events(ctx: &TestContext, matches: impl Fn(&Value) -> bool) -> Vec<Value> {
    let log = audit_log(ctx);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let found = read_audit(&log, &matches);
        if !found.is_empty() || tokio::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn audit_log(ctx: &TestContext) -> PathBuf {
    ctx.stack.kube_audit_log.clone().expect(
        "the API server writes no audit log: the reused dev cluster predates it (restart it: ./dev down && ./dev up)",
    )
}

fn read_audit(log: &std::path::Path, matches: &impl Fn(&Value) -> bool) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| matches(event))
        .collect()
}

fn command_id(outcome: &Value) -> String {
    outcome["command_id"].as_str().expect("a command id").to_string()
}

#[tokio::test]
async fn a_command_reaches_the_api_server_as_its_caller_with_its_command_id() {
    let s = Setup::start().await;
    let ran = s.run(&s.alice.key, "get", &["pods", "-n", &s.a.name]).await;
    assert_eq!(ran["status"], "success", "{ran}");
    assert_eq!(ran["output"], format!("No resources found in {} namespace.\n", s.a.name), "{ran}");
    let id = command_id(&ran);
    let events =
        audit_events(&s.app.ctx, |e| e["impersonatedUser"]["extra"]["kubently-command-id"][0] == id).await;
    let list = events
        .iter()
        .find(|e| e["verb"] == "list" && e["objectRef"]["namespace"] == s.a.name.as_str())
        .unwrap_or_else(|| panic!("no audit event lists pods in A for command {id}: {events:#?}"));
    eprintln!("audit event of `get pods -n {}` by alice:\n{list}", s.a.name);
    assert_eq!(list["user"]["username"], s.identity.user, "authenticated as the executor");
    assert_eq!(list["impersonatedUser"]["username"], format!("kubently:{}", s.alice.user));
    assert_eq!(list["objectRef"]["resource"], "pods");
    assert_eq!(list["responseStatus"]["code"], 200);
    // The executor's first command read discovery, as alice too.
    assert!(
        events.iter().any(|e| e["requestURI"] == "/apis"
            && e["impersonatedUser"]["username"] == list["impersonatedUser"]["username"]),
        "discovery was read as the caller: {events:#?}"
    );

    // A caller with groups: each is sent with the group prefix; a session's id rides along.
    let (status, session) = s
        .post(&s.bob.key, "/debug/session", &json!({"cluster_id": s.app.cluster_id, "ttl_seconds": 60}))
        .await;
    assert_eq!(status, 201, "{session}");
    let session = session["session_id"].as_str().expect("a session id").to_string();
    let ran =
        s.run_with(&s.bob.key, "get", &["configmaps", "-n", &s.b.name], json!({"session_id": session})).await;
    assert_eq!(ran["status"], "success", "{ran}");
    let id = command_id(&ran);
    let events =
        audit_events(&s.app.ctx, |e| e["impersonatedUser"]["extra"]["kubently-command-id"][0] == id).await;
    let list = events.iter().find(|e| e["verb"] == "list").unwrap_or_else(|| panic!("{events:#?}"));
    let groups: Vec<&str> = list["impersonatedUser"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert!(groups.contains(&format!("kubently:viewers-{}", s.app.ctx.id).as_str()), "{list}");
    assert_eq!(list["impersonatedUser"]["extra"]["kubently-session-id"][0], session.as_str(), "{list}");
    eprintln!("audit event of `get configmaps -n {}` by bob in a session:\n{list}", s.b.name);
}

#[tokio::test]
async fn the_callers_rbac_decides_and_a_refusal_reads_as_kubectl_prints_it() {
    let s = Setup::start().await;
    let alice = format!("kubently:{}", s.alice.user);
    let refused = s.run(&s.alice.key, "get", &["pods", "-n", &s.b.name]).await;
    assert_eq!(refused["status"], "failure", "{refused}");
    let expected = format!(
        "Error from server (Forbidden): pods is forbidden: User \"{alice}\" cannot list resource \"pods\" in API group \"\" in the namespace \"{}\"",
        s.b.name
    );
    assert_eq!(refused["error"], expected.as_str(), "{refused}");
    // kubectl, as the executor's ServiceAccount impersonating alice, says the same.
    match kubectl() {
        Some(kubectl) => {
            let out = Command::new(kubectl)
                .arg("--kubeconfig")
                .arg(&s.identity.kubeconfig)
                .args(["--as", &alice, "get", "pods", "-n", &s.b.name])
                .output()
                .expect("run kubectl");
            let stderr = String::from_utf8_lossy(&out.stderr);
            let said: Vec<&str> = stderr.lines().filter(|l| l.starts_with("Error from server")).collect();
            assert_eq!(said, [expected.as_str()], "kubectl said:\n{stderr}");
            eprintln!("kubently and `kubectl --as {alice} get pods -n {}` both said:\n{}", s.b.name, said[0]);
        }
        None => eprintln!("kubectl not found (set KUBENTLY_KUBECTL): comparison with kubectl skipped"),
    }
    // The API server refused it as alice, and recorded so.
    let id = command_id(&refused);
    let events = audit_events(&s.app.ctx, |e| {
        e["impersonatedUser"]["extra"]["kubently-command-id"][0] == id && e["responseStatus"]["code"] == 403
    })
    .await;
    assert!(!events.is_empty(), "the API server's audit log shows the refusal of command {id}");
    eprintln!("audit event of the refused `get pods -n {}` by alice:\n{}", s.b.name, events[0]);

    // Another caller, whose group may view everything, reads B.
    let allowed = s.run(&s.bob.key, "get", &["configmaps", "-n", &s.b.name]).await;
    assert_eq!(allowed["status"], "success", "{allowed}");
    assert!(allowed["output"].as_str().unwrap_or_default().contains("only-in-b"), "{allowed}");
    // And alice still reads A, as the audit log says too.
    let own = s.run(&s.alice.key, "get", &["configmaps", "-n", &s.a.name]).await;
    assert_eq!(own["status"], "success", "{own}");
    let id = command_id(&own);
    let events = audit_events(&s.app.ctx, |e| {
        e["impersonatedUser"]["extra"]["kubently-command-id"][0] == id && e["verb"] == "list"
    })
    .await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["impersonatedUser"]["username"], alice.as_str());
    assert_eq!(events[0]["responseStatus"]["code"], 200);
    eprintln!("audit event of `get configmaps -n {}` by alice:\n{}", s.a.name, events[0]);
}

#[tokio::test]
async fn a_caller_without_a_kubernetes_identity_is_refused_and_nothing_reaches_the_api_server() {
    let s = Setup::start().await;
    let untouched = s.app.ctx.unique("never-read");
    let refused = s.run(AGENT_KEY, "get", &["pods", "-n", &untouched]).await;
    assert_eq!(refused["status"], "failure", "{refused}");
    let error = refused["error"].as_str().unwrap_or_default();
    let cluster = &s.app.cluster_id;
    assert!(
        error.starts_with(&format!(
            "cluster '{cluster}' runs every command as its caller (Kubernetes impersonation), and caller 'agent' has no Kubernetes identity"
        )),
        "{error}"
    );
    assert!(error.contains("`kubernetes_user`"), "says how to give the caller one: {error}");
    assert_eq!(refused["execution_time_ms"], 0, "refused before it ran: {refused}");
    assert_eq!(refused["output"].as_str().unwrap_or_default(), "", "{refused}");
    eprintln!("the outcome of `get pods` by a caller without a Kubernetes identity:\n{refused:#}");

    // A later command of alice's is in the log; nothing of the refused one, under any name.
    let ran = s.run(&s.alice.key, "get", &["pods", "-n", &s.a.name]).await;
    let id = command_id(&ran);
    assert!(
        !audit_events(&s.app.ctx, |e| e["impersonatedUser"]["extra"]["kubently-command-id"][0] == id)
            .await
            .is_empty()
    );
    let log = audit_log(&s.app.ctx);
    let leaked = read_audit(&log, &|e: &Value| {
        e["requestURI"].as_str().is_some_and(|uri| uri.contains(&untouched))
            || e["impersonatedUser"]["extra"]["kubently-command-id"][0] == refused["command_id"]
    });
    assert!(leaked.is_empty(), "the refused command reached the API server: {leaked:#?}");
    let as_executor = read_audit(&log, &|e: &Value| {
        e["user"]["username"] == s.identity.user
            && e["impersonatedUser"].is_null()
            && e["objectRef"]["resource"] == "pods"
    });
    assert!(as_executor.is_empty(), "a command ran as the executor itself: {as_executor:#?}");
}

#[tokio::test]
async fn the_self_check_accepts_exactly_the_restricted_impersonate_rule() {
    let app = TestApp::spawn().await;
    let restricted = ExecutorIdentity::with_rbac(&app.ctx, &["alice"], &["sre"]).await;
    // With impersonation on, the rule is what it needs: the executor starts read-only.
    let settings = app.executor_settings("accepted", &restricted.executor_options(true));
    let started =
        kubently_executor::Application::build(settings).await.expect("the restricted rule is accepted");
    let access = started.access().expect("the check ran");
    assert!(!access.write_identity && access.dangerous_permissions.is_empty(), "{access:?}");
    drop(started);

    // With impersonation off, any impersonate is refused, this one too.
    let settings = app.executor_settings("off", &restricted.executor_options(false));
    let error = kubently_executor::Application::build(settings)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.starts_with("refusing to start"), "{error}");
    assert!(error.contains("impersonate on users (API group \"\" (core)) named kubently:alice"), "{error}");
    assert!(error.contains("set impersonation.enabled = true"), "says how to run as callers: {error}");
    eprintln!("the self-check with impersonation off:\n{error}");

    // Impersonating anyone is refused even with impersonation on.
    let unrestricted = ExecutorIdentity::unrestricted(&app.ctx).await;
    let settings = app.executor_settings("wide", &unrestricted.executor_options(true));
    let error = kubently_executor::Application::build(settings)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.starts_with("refusing to start"), "{error}");
    assert!(error.contains("impersonate on users, groups (API group \"\" (core))"), "{error}");
    assert!(error.contains("acts as another user, group or service account"), "{error}");
}

fn kubectl() -> Option<String> {
    let bin = std::env::var("KUBENTLY_KUBECTL").unwrap_or_else(|_| "kubectl".into());
    Command::new(&bin).args(["version", "--client"]).output().ok().filter(|o| o.status.success()).map(|_| bin)
}

/// What impersonation costs per command: the same `get pods` through the engine as the admin
/// itself and as an impersonated viewer (the admin may impersonate anyone), printed as medians.
/// Both read the same rows; the difference is the per-command client and the API server's
/// impersonation checks (one authorization per user, group and extra).
#[tokio::test]
async fn a_command_as_the_caller_reads_what_the_caller_may_at_little_cost() {
    use kubently_executor::engine::Engine;
    use kubently_executor::impersonation::Impersonation;
    use kubently_shared::protocol::{Caller, KubernetesIdentity};

    let ctx = TestContext::new().await;
    let viewer = format!("viewer-{}", ctx.id);
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": format!("kubently-{viewer}")},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": format!("kubently:{viewer}")}]
    }))
    .expect("binding");
    let _binding = ClusterScoped {
        roles: Vec::new(),
        bindings: vec![create(&ctx.kube, binding).await],
        kubeconfig: ctx.stack.kubeconfig.clone(),
    };
    let engine = Engine::new(ctx.kube.clone());
    let impersonation =
        Impersonation::from_settings(&ImpersonationSettings { enabled: true, ..Default::default() }, "c")
            .expect("valid")
            .expect("enabled");
    let caller = Caller {
        kubernetes: Some(KubernetesIdentity { user: viewer.clone(), groups: vec!["sre".into()] }),
        ..Caller::service("viewer")
    };
    let command = kubently_shared::protocol::Command::new(
        "c",
        kubently_shared::policy::KubectlRequest::Version,
        caller,
        "reply",
        time::OffsetDateTime::now_utc(),
        Duration::from_secs(10),
    );
    let as_viewer =
        engine.with_client(impersonation.identity(&command).expect("identity").client(engine.client()));
    let args = ["pods", "-n", kubently_tests::scenario::SHOP_NS];
    let engines = [("the executor itself", &engine), ("the impersonated caller", &as_viewer)];
    const RUNS: usize = 101;
    let mut times = [Vec::new(), Vec::new()];
    let mut rows = [None, None];
    // Warm (discovery, connections), then alternate so both see the same load.
    for (_, engine) in engines {
        crate::support::kubectl(engine, "get", &args).await.expect("get pods");
    }
    for _ in 0..RUNS {
        for (i, (_, engine)) in engines.iter().enumerate() {
            let started = std::time::Instant::now();
            let out = crate::support::kubectl(engine, "get", &args).await.expect("get pods");
            times[i].push(started.elapsed());
            rows[i] = Some(out.rows);
        }
    }
    assert_eq!(rows[0], rows[1], "both read the same rows");
    assert!(rows[0].flatten().is_some_and(|n| n > 0), "the demo namespace has pods");
    for ((who, _), times) in engines.iter().zip(&mut times) {
        times.sort_unstable();
        let ms = |i: usize| times[i].as_secs_f64() * 1000.0;
        eprintln!(
            "get pods -n {}: p50 {:.2} ms, p90 {:.2} ms as {who} ({RUNS} runs, alternating)",
            args[2],
            ms(RUNS / 2),
            ms(RUNS * 9 / 10)
        );
    }
}

/// The whole chain with a bearer token: an agent's token from the test OIDC issuer, its username
/// and groups claims as the Kubernetes identity, the executor impersonating it. In its namespace
/// it reads; in another it gets the API server's own Forbidden; both calls are in the API
/// server's audit log under the agent's name. Prints the session (the README's excerpt).
#[tokio::test]
async fn a_bearer_token_callers_rbac_and_audit_trail() {
    use kubently_gateway::settings::IssuerSettings;
    use kubently_tests::oidc_issuer::{Signer, TestIssuer};

    let app = TestApp::spawn().await;
    let id = app.ctx.id.clone();
    let issuer = TestIssuer::start().await;
    let port = kubently_tests::process::free_port();
    let public_url = format!("http://127.0.0.1:{port}");
    let mut settings = gateway_settings(&app.ctx, &app.prefix);
    settings.server.port = port;
    settings.server.public_url = Some(public_url.clone());
    let mut corp = IssuerSettings {
        name: "corp".into(),
        issuer: issuer.url.clone(),
        username_claim: "preferred_username".into(),
        ..Default::default()
    };
    corp.group_clusters.insert("agents".into(), vec!["*".into()]);
    settings.auth.oidc.issuers = vec![corp];
    let gateway = spawn_gateway(settings).await;

    let agent = format!("triage-bot-{id}");
    let (a, b) = (app.ctx.namespace("team-a").await, app.ctx.namespace("team-b").await);
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "triage-bot-views", "namespace": a.name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": format!("kubently:{agent}")}]
    }))
    .expect("binding");
    Api::<RoleBinding>::namespaced(app.ctx.kube.clone(), &a.name)
        .create(&PostParams::default(), &binding)
        .await
        .expect("bind the agent in team-a");
    let identity = ExecutorIdentity::with_rbac(&app.ctx, &[&agent], &["agents"]).await;
    let _executor = app.start_executor("e1", identity.executor_options(true)).await;

    let token = issuer.mint(
        Signer::Rs256,
        &issuer.claims("agent-7", &public_url, json!({"preferred_username": agent, "groups": ["agents"]})),
    );
    let run = |namespace: String| {
        let body = json!({"cluster_id": app.cluster_id, "command_type": "get", "args": ["pods"], "namespace": namespace});
        let request = app
            .http
            .post(format!("{}/debug/execute", gateway.url))
            .header("Authorization", format!("Bearer {token}"))
            .json(&body);
        async move {
            let response = request.send().await.expect("gateway reachable");
            assert_eq!(response.status(), 200);
            let outcome: Value = response.json().await.expect("JSON");
            (body, outcome)
        }
    };
    let (asked_a, in_a) = run(a.name.clone()).await;
    assert_eq!(in_a["status"], "success", "{in_a}");
    let (asked_b, in_b) = run(b.name.clone()).await;
    assert_eq!(in_b["status"], "failure", "{in_b}");
    let forbidden = format!(
        "Error from server (Forbidden): pods is forbidden: User \"kubently:{agent}\" cannot list resource \"pods\" in API group \"\" in the namespace \"{}\"",
        b.name
    );
    assert_eq!(in_b["error"], forbidden.as_str(), "{in_b}");
    eprintln!("POST /debug/execute (Authorization: Bearer <token of corp:agent-7>) {asked_a}\n→ {in_a:#}");
    eprintln!("POST /debug/execute (same token) {asked_b}\n→ {in_b:#}");
    for (outcome, code) in [(&in_a, 200), (&in_b, 403)] {
        let id = command_id(outcome);
        let events = audit_events(&app.ctx, |e| {
            e["impersonatedUser"]["extra"]["kubently-command-id"][0] == id && e["verb"] == "list"
        })
        .await;
        assert_eq!(events.len(), 1, "{events:#?}");
        assert_eq!(events[0]["impersonatedUser"]["username"], format!("kubently:{agent}"));
        assert_eq!(
            events[0]["impersonatedUser"]["groups"],
            json!(["kubently:agents", "system:authenticated"])
        );
        assert_eq!(events[0]["responseStatus"]["code"], code);
        eprintln!("API server audit event:\n{}", events[0]);
    }
    // The gateway's own audit names the token's issuer and subject.
    let audit = app
        .http
        .get(format!("{}/audit?cluster_id={}", gateway.url, app.cluster_id))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .expect("gateway reachable")
        .json::<Value>()
        .await
        .expect("JSON");
    let entry = &audit["entries"][0];
    assert_eq!(entry["service_identity"], "corp:agent-7", "{audit}");
    assert_eq!(entry["subject"], "agent-7", "{audit}");
    eprintln!("Kubently audit entry:\n{entry}");
}
