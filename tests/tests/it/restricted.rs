//! The executor enforces `restricted_resources` on its own. Commands here skip the gateway: they
//! are published straight to the cluster's command subject, as a gateway that does not know the
//! rule (or a compromised one) could. Every verb that resolves a resource is refused under a
//! spelling only discovery can tie to the rule: a custom resource's kind and singular (the
//! gateway's check knows plurals only), and for `rollout history` the ReplicaSets it reads.

use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, PostParams};
use kubently_shared::policy::{self, CommandInput, KubectlRequest, PolicyConfig};
use kubently_shared::protocol::{self, Caller, Command, CommandResult, CommandStatus};
use kubently_tests::app::{ExecutorHandle, ExecutorOptions, TestApp};
use kubently_tests::kube_cluster::client_from;
use kubently_tests::scenario::{SHOP_NS, STOREFRONT};
use serde_json::json;
use time::OffsetDateTime;

/// A namespaced custom resource made for one test, deleted when dropped. Its names carry the
/// test's id: tests run in parallel, and a kind or singular shared between their CRDs would
/// resolve to whichever group discovery lists first.
struct Widgets {
    /// `widgets<id>`.
    plural: String,
    /// `Widget<id>`.
    kind: String,
    /// `widget<id>`.
    singular: String,
    group: String,
    kubeconfig: PathBuf,
}

impl Widgets {
    /// `widgets<id>.t<id>.kubently.test`, served and in discovery.
    async fn install(app: &TestApp) -> Self {
        let id = &app.ctx.id;
        let (plural, kind, singular) = (format!("widgets{id}"), format!("Widget{id}"), format!("widget{id}"));
        let group = format!("t{id}.kubently.test");
        let crd: CustomResourceDefinition = serde_json::from_value(json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("{plural}.{group}")},
            "spec": {
                "group": group,
                "scope": "Namespaced",
                "names": {"plural": plural, "singular": singular, "kind": kind, "listKind": format!("{kind}List")},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
            }
        }))
        .expect("CRD body");
        let crds: Api<CustomResourceDefinition> = Api::all(app.ctx.kube.clone());
        crds.create(&PostParams::default(), &crd).await.expect("create the CRD");
        let widgets = Self { plural, kind, singular, group, kubeconfig: app.ctx.stack.kubeconfig.clone() };
        // Served once the API server lists it in discovery.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let path = format!("/apis/{}/v1", widgets.group);
        loop {
            let request = http::Request::get(path.as_str()).body(Vec::new()).expect("discovery request");
            if let Ok(text) = app.ctx.kube.request_text(request).await
                && text.contains(&format!("\"{}\"", widgets.plural))
            {
                break widgets;
            }
            assert!(tokio::time::Instant::now() < deadline, "the CRD never showed up in discovery");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn rule(&self) -> String {
        format!("{}.{}", self.plural, self.group)
    }
}

impl Drop for Widgets {
    fn drop(&mut self) {
        let (kubeconfig, name) = (self.kubeconfig.clone(), self.rule());
        // The test's runtime (and clients bound to it) may be shutting down: delete from a
        // thread and a client of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let kube = client_from(&kubeconfig).await.ok()?;
                Api::<CustomResourceDefinition>::all(kube)
                    .delete(&name, &DeleteParams::background())
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// A gateway (for its NATS names), the widgets CRD, and an executor that restricts widgets
/// and ReplicaSets.
async fn setup() -> (TestApp, Widgets, ExecutorHandle) {
    let app = TestApp::spawn().await;
    let widgets = Widgets::install(&app).await;
    let opts = ExecutorOptions {
        restricted_resources: vec![widgets.rule(), "replicasets".into()],
        ..ExecutorOptions::default()
    };
    let executor = app.start_executor("e1", opts).await;
    (app, widgets, executor)
}

/// The request as a gateway without any rule would build it.
fn request(command_type: &str, args: &[&str]) -> KubectlRequest {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let input = CommandInput { command_type, args: &args, extra_args: &[], namespace: None };
    policy::parse(&input, &PolicyConfig::default())
        .unwrap_or_else(|e| panic!("{command_type} {args:?} parses: {e}"))
}

/// Publishes the command on the cluster's subject (no gateway involved) and waits for the reply.
async fn run_direct(app: &TestApp, command_type: &str, args: &[&str]) -> CommandResult {
    let names = &app.gateway.state.names;
    let now = OffsetDateTime::now_utc();
    let mut command = Command::new(
        app.cluster_id.clone(),
        request(command_type, args),
        Caller::service("direct"),
        String::new(),
        now,
        Duration::from_secs(20),
    );
    // Where a gateway instance named `direct` would wait.
    command.reply_to = names.reply_subject(&command.cluster_id, "direct", command.id);
    let mut replies =
        app.ctx.nats.subscribe(command.reply_to.clone()).await.expect("subscribe to the reply subject");
    app.ctx.publish_signed(names, &command).await;
    let reply = tokio::time::timeout(Duration::from_secs(30), replies.next())
        .await
        .expect("a reply within 30 s")
        .expect("reply subscription open");
    protocol::decode(&reply.payload).expect("decode the reply")
}

/// The executor's engine refused `resource` by `rule` (not the executor's re-parse, which the
/// spellings used here pass).
fn assert_refused(result: &CommandResult, resource: &str, rule: &str) {
    assert_eq!(result.status, CommandStatus::Failure, "{result:?}");
    let error = result.error.as_deref().unwrap_or_default();
    let refusal = format!("error: `{resource}` is restricted on this Kubently deployment (rule `{rule}`)");
    assert!(error.starts_with(&refusal), "expected {refusal:?}, got {error:?}");
    assert!(result.output.is_empty(), "nothing is read: {:?}", result.output);
}

#[tokio::test]
async fn get_refuses_a_restricted_resource_by_kind_and_singular() {
    let (app, widgets, _executor) = setup().await;
    let rule = widgets.rule();
    for typed in [&widgets.singular, &widgets.kind] {
        assert_refused(&run_direct(&app, "get", &[typed, "-n", SHOP_NS]).await, &rule, &rule);
    }
    // The plural is caught earlier, by the executor's re-parse of the request.
    let plural = run_direct(&app, "get", &[&widgets.plural, "-n", SHOP_NS]).await;
    assert_eq!(plural.status, CommandStatus::Failure, "{plural:?}");
    let error = plural.error.as_deref().unwrap_or_default();
    let refusal = format!(
        "refused by the executor's read-only policy: `{}` is restricted on this Kubently deployment (rule `{rule}`)",
        widgets.plural
    );
    assert!(error.starts_with(&refusal), "{error}");
    // The same path runs what is not restricted.
    let ok = run_direct(&app, "get", &["deployments", "-n", SHOP_NS]).await;
    assert_eq!(ok.status, CommandStatus::Success, "{ok:?}");
    assert!(ok.output.contains(STOREFRONT), "{}", ok.output);
}

#[tokio::test]
async fn describe_refuses_a_restricted_resource() {
    let (app, widgets, _executor) = setup().await;
    assert_refused(
        &run_direct(&app, "describe", &[&widgets.kind, "-n", SHOP_NS]).await,
        &widgets.rule(),
        &widgets.rule(),
    );
    assert_refused(
        &run_direct(&app, "describe", &[&widgets.singular, "w1", "-n", SHOP_NS]).await,
        &widgets.rule(),
        &widgets.rule(),
    );
}

#[tokio::test]
async fn logs_refuses_a_restricted_target_type() {
    let (app, widgets, _executor) = setup().await;
    let target = format!("{}/w1", widgets.singular);
    assert_refused(
        &run_direct(&app, "logs", &[&target, "-n", SHOP_NS]).await,
        &widgets.rule(),
        &widgets.rule(),
    );
}

#[tokio::test]
async fn events_refuses_a_restricted_for_object() {
    let (app, widgets, _executor) = setup().await;
    let object = format!("{}/w1", widgets.kind);
    assert_refused(
        &run_direct(&app, "events", &["--for", &object, "-n", SHOP_NS]).await,
        &widgets.rule(),
        &widgets.rule(),
    );
    let ok = run_direct(&app, "events", &["-n", SHOP_NS]).await;
    assert_eq!(ok.status, CommandStatus::Success, "{ok:?}");
}

#[tokio::test]
async fn explain_refuses_a_restricted_resource() {
    let (app, widgets, _executor) = setup().await;
    assert_refused(
        &run_direct(&app, "explain", &[&widgets.singular]).await,
        &widgets.rule(),
        &widgets.rule(),
    );
    assert_refused(
        &run_direct(&app, "explain", &["replicaset.spec"]).await,
        "replicasets.apps",
        "replicasets",
    );
    let ok = run_direct(&app, "explain", &["deployment.spec.replicas"]).await;
    assert_eq!(ok.status, CommandStatus::Success, "{ok:?}");
}

#[tokio::test]
async fn rollout_history_refuses_reading_restricted_replica_sets() {
    let (app, _widgets, _executor) = setup().await;
    let deployment = format!("deployment/{STOREFRONT}");
    assert_refused(
        &run_direct(&app, "rollout", &["history", &deployment, "-n", SHOP_NS]).await,
        "replicasets.apps",
        "replicasets",
    );
    // `status` reads the Deployment only.
    let ok = run_direct(&app, "rollout", &["status", &deployment, "-n", SHOP_NS, "--watch=false"]).await;
    assert_eq!(ok.status, CommandStatus::Success, "{ok:?}");
}
