//! Table-driven tests of [`parse`](super::parse): what must pass (including upstream's false
//! positives), what must fail (including upstream's bypasses), and exact round-trips.

use super::*;
use crate::policy::request::{
    ApiResourcesOutput, ApiResourcesRequest, DescribeRequest, EventsRequest, GetRequest, LogTarget,
    LogsRequest, NamespaceScope, OutputFormat, ResourceRef, RolloutAction, RolloutRequest, TopKind,
    TopRequest,
};
use crate::policy::{allowed_flags, to_argv, validate};

/// A command line as a test writes it: `command_type` is the first word, the rest are `args`.
fn run_with(
    line: &[&str],
    extra: &[&str],
    namespace: Option<&str>,
    config: &PolicyConfig,
) -> Result<KubectlRequest, PolicyError> {
    let (command_type, args) = line.split_first().expect("a test command has a verb");
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let extra_args: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
    parse(&CommandInput { command_type, args: &args, extra_args: &extra_args, namespace }, config)
}

fn run(line: &[&str]) -> Result<KubectlRequest, PolicyError> {
    run_with(line, &[], None, &PolicyConfig::default())
}

fn secrets_restricted() -> PolicyConfig {
    PolicyConfig { restricted_resources: vec!["secrets".to_owned()] }
}

fn refs(list: &[(&str, &[&str])]) -> Vec<ResourceRef> {
    list.iter()
        .map(|(resource, names)| ResourceRef {
            resource: (*resource).to_owned(),
            names: names.iter().map(|n| (*n).to_owned()).collect(),
        })
        .collect()
}

fn get_request(targets: Vec<ResourceRef>) -> GetRequest {
    GetRequest {
        targets,
        namespace: NamespaceScope::Default,
        label_selector: None,
        field_selector: None,
        output: OutputFormat::Table,
        show_labels: false,
        label_columns: vec![],
        no_headers: false,
        show_kind: false,
        sort_by: None,
        chunk_size: None,
    }
}

fn logs_request(target: LogTarget) -> LogsRequest {
    LogsRequest {
        target,
        namespace: NamespaceScope::Default,
        container: None,
        all_containers: false,
        previous: false,
        tail_lines: None,
        since_seconds: None,
        since_time: None,
        timestamps: false,
        limit_bytes: None,
        follow: false,
        prefix: false,
        compact: false,
    }
}

const MUST_PASS: &[&[&str]] = &[
    // Upstream false positives (substring matching): all fine here.
    &["logs", "credit-api-123"],
    &["get", "pods", "-l", "app=scaler"],
    &["get", "pods", "-l", "tier=delete-me"],
    &["get", "deploy", "-n", "web-editor"],
    &["get", "pods", "-o", r#"jsonpath={range .items[*]}{.metadata.name}{"|"}{end}"#],
    &["get", "pods", "-o", "jsonpath={.items[*].metadata.name}|x"],
    &["get", "pods", "-o", "jsonpath={.items[?(@.status.phase == \"Running\")].metadata.name}"],
    &["get", "pods", "-o", "custom-columns=NAME:.metadata.name;x,NODE:.spec.nodeName"],
    &["get", "pods", "a;b", "$(id)", "`w`", "x|y&&z"],
    &["get", "pods", "--field-selector", "status.phase!=Running"],
    &["get", "pods", "--field-selector=status.phase=Running"],
    // Flag spellings.
    &["get", "pods", "-ojson"],
    &["get", "pods", "-o=json"],
    &["get", "pods", "--output=yaml"],
    &["get", "pods", "--output", "name"],
    &["get", "pods", "-n=demo"],
    &["get", "pods", "-ndemo"],
    &["get", "pods", "--namespace", "demo"],
    &["get", "pods", "--namespace=demo"],
    &["get", "pods", "-l=app=web"],
    &["get", "pods", "-lapp=web"],
    &["get", "pods", "--selector", "app in (a, b)"],
    &["get", "pods", "-A", "--show-labels", "--no-headers", "--show-kind", "-L", "app,tier"],
    &["get", "pods", "--sort-by=.metadata.creationTimestamp", "--chunk-size=100"],
    &["get", "pods", "-Ao", "wide"],
    &["get", "pods", "--show-labels=false"],
    &["get", "all"],
    &["get", "all", "-A"],
    &["get", "pod/a", "svc/b", "deployments.apps/c"],
    &["get", "Deployment", "web"],
    &["get", "foos.example.com"],
    &["get", "nodes"],
    &["get", "crds"],
    &["describe", "pod", "web-0"],
    &["describe", "pod/web-0", "--show-events=false"],
    &["describe", "nodes"],
    &["describe", "pods", "-l", "app=web", "-A"],
    &["logs", "web-0", "app"],
    &["logs", "web-0", "-c", "app", "--tail", "-1"],
    &["logs", "-l", "app=web", "--all-containers", "--prefix", "--limit-bytes=1000"],
    &["logs", "sts/db", "-f", "--timestamps", "--since=1h30m"],
    &["logs", "job/migrate", "-p=false", "--since-time=2024-05-01T10:00:00Z"],
    &["logs", "web-0", "--follow=true"],
    &["events"],
    &["events", "-A", "--types=Warning,Normal", "-o", "yaml", "--no-headers"],
    &["events", "--for=deploy/web"],
    &["top", "nodes"],
    &["top", "node", "node-1"],
    &["top", "po", "-n", "demo", "--containers", "--sort-by", "memory", "-l", "app=web"],
    &["explain", "pods.spec.containers"],
    &["explain", "deployment.spec", "--recursive", "--api-version=apps/v1"],
    &["version"],
    &["cluster-info"],
    &["api-versions"],
    &["api-resources"],
    &["api-resources", "--api-group=", "--verbs=list,get", "-o", "wide", "--no-headers"],
    &["rollout", "history", "deploy/web", "--revision=2"],
    &["rollout", "status", "sts", "db", "-w"],
    &["rollout", "status", "daemonset.apps/agent", "-n", "kube-system"],
    &["logs", "deploy/web", "--previous", "--compact", "--tail=200"],
    &["diagnose"],
    &["diagnose", "-n", "demo-shop"],
    &["diagnose", "-A", "-o", "json"],
    &["diagnose", "deploy/web", "-n", "demo"],
    &["diagnose", "pod", "web-0", "-ojson"],
    &["diagnose", "cj/nightly", "--output=text"],
];

#[test]
fn commands_that_must_pass() {
    for line in MUST_PASS {
        if let Err(e) = run(line) {
            panic!("{line:?} must pass, got: {e}");
        }
    }
}

#[test]
fn parsed_requests_render_and_validate() {
    let config = PolicyConfig::default();
    for line in MUST_PASS {
        let req = run(line).expect("passes");
        let argv = to_argv(&req);
        assert_eq!(validate(&req, &config), Ok(()), "{line:?} → {argv:?}");
        let (command_type, args) = argv.split_first().expect("verb");
        let input = CommandInput { command_type, args, extra_args: &[], namespace: None };
        assert_eq!(parse(&input, &config), Ok(req), "{line:?} → {argv:?}");
    }
    let req = run(&["get", "pods,svc", "-n", "demo", "-o", "wide"]).expect("passes");
    assert_eq!(to_argv(&req), ["get", "pods,svc", "--namespace=demo", "--output=wide"]);
    let req = run(&["rollout", "status", "deploy", "web", "-w=false"]).expect("passes");
    assert_eq!(to_argv(&req), ["rollout", "status", "deploy/web", "--watch=false"]);
}

#[test]
fn validate_refuses_forged_requests() {
    let config = secrets_restricted();
    let get = |targets| KubectlRequest::Get(get_request(targets));
    let pod =
        |name: &str| LogTarget::Object(ResourceRef { resource: "pods".into(), names: vec![name.into()] });
    let rollout = |action, revision, watch| {
        KubectlRequest::Rollout(RolloutRequest {
            action,
            target: ResourceRef { resource: "deploy".into(), names: vec!["web".into()] },
            namespace: NamespaceScope::Default,
            revision,
            watch,
        })
    };
    let forged: Vec<(&str, KubectlRequest)> = vec![
        ("restricted", get(refs(&[("secrets", &["x"])]))),
        ("restricted kind", get(refs(&[("Secret", &[])]))),
        ("path traversal", get(refs(&[("pods", &["../secrets/x"])]))),
        ("query injection", get(refs(&[("pods", &["x?watch=true"])]))),
        ("no targets", get(vec![])),
        ("bare and named", get(refs(&[("pods", &[]), ("svc", &["x"])]))),
        ("bad resource", get(refs(&[("pods;rm", &[])]))),
        (
            "bad namespace",
            KubectlRequest::Get(GetRequest {
                namespace: NamespaceScope::Namespace("Kube System".into()),
                ..get_request(refs(&[("pods", &[])]))
            }),
        ),
        (
            "empty jsonpath",
            KubectlRequest::Get(GetRequest {
                output: OutputFormat::JsonPath(String::new()),
                ..get_request(refs(&[("pods", &[])]))
            }),
        ),
        (
            "events as wide",
            KubectlRequest::Events(EventsRequest {
                namespace: NamespaceScope::Default,
                for_object: None,
                types: vec![],
                output: OutputFormat::Wide,
                no_headers: false,
            }),
        ),
        (
            "logs zero since",
            KubectlRequest::Logs(LogsRequest { since_seconds: Some(0), ..logs_request(pod("web-0")) }),
        ),
        (
            "logs two pods",
            KubectlRequest::Logs(logs_request(LogTarget::Object(ResourceRef {
                resource: "pods".into(),
                names: vec!["a".into(), "b".into()],
            }))),
        ),
        (
            "logs of a secret",
            KubectlRequest::Logs(logs_request(LogTarget::Object(ResourceRef {
                resource: "secret".into(),
                names: vec!["x".into()],
            }))),
        ),
        ("status with revision", rollout(RolloutAction::Status, Some(2), true)),
        ("history watching", rollout(RolloutAction::History, None, true)),
        (
            "top by name",
            KubectlRequest::Top(TopRequest {
                kind: TopKind::Pods,
                name: None,
                namespace: NamespaceScope::Default,
                label_selector: None,
                containers: false,
                sort_by: Some("name".into()),
                no_headers: false,
            }),
        ),
    ];
    for (what, req) in forged {
        assert!(validate(&req, &config).is_err(), "{what}: {req:?} must be refused");
    }
    assert_eq!(validate(&get(refs(&[("pods", &["web-0"])])), &config), Ok(()));
}

#[test]
fn body_namespace_with_hyphenated_words_passes() {
    let got = run_with(&["get", "pods"], &[], Some("web-editor"), &PolicyConfig::default());
    let KubectlRequest::Get(get) = got.expect("passes") else { panic!("not a get") };
    assert_eq!(get.namespace, NamespaceScope::Namespace("web-editor".into()));
}

#[test]
fn verb_repeated_in_args_and_kubectl_prefix_are_dropped() {
    let want = KubectlRequest::Get(get_request(refs(&[("pods", &[])])));
    assert_eq!(run(&["get", "get", "pods"]), Ok(want.clone()));
    assert_eq!(run(&["get", "kubectl", "get", "pods"]), Ok(want.clone()));
    assert_eq!(run(&["GET", "pods"]), Ok(want.clone()));
    assert_eq!(run(&["get pods"]), Ok(want));
    assert_eq!(run(&["events", "events"]).map(|r| r.verb()), Ok("events"));
    assert_eq!(run(&["rollout status", "deploy/web"]).map(|r| r.verb()), Ok("rollout status"));
    // `events` is both a verb and a resource.
    assert!(run(&["get", "events"]).is_ok());
}

#[test]
fn extra_args_continue_args() {
    let got = run_with(&["get", "pods", "-n"], &["demo", "-o", "wide"], None, &PolicyConfig::default());
    let KubectlRequest::Get(get) = got.expect("passes") else { panic!("not a get") };
    assert_eq!(get.namespace, NamespaceScope::Namespace("demo".into()));
    assert_eq!(get.output, OutputFormat::Wide);
}

/// (command, substring the message must contain). The message must name the offending token.
const MUST_FAIL: &[(&[&str], &str)] = &[
    // Credentials, server, identity: never expressible.
    (&["get", "pods", "--token=abc"], "`--token` would change the credentials"),
    (&["get", "pods", "--token", "abc"], "`--token` would change the credentials"),
    (&["get", "pods", "--server=https://evil"], "`--server`"),
    (&["get", "pods", "-s", "https://evil"], "`-s`"),
    (&["get", "pods", "-shttps://evil"], "`-s`"),
    (&["get", "pods", "--kubeconfig=/x"], "`--kubeconfig`"),
    (&["get", "pods", "--as=admin"], "`--as`"),
    (&["get", "pods", "--as-group=system:masters"], "`--as-group`"),
    (&["get", "pods", "--context", "prod"], "`--context`"),
    (&["get", "pods", "--insecure-skip-tls-verify"], "`--insecure-skip-tls-verify`"),
    (&["get", "pods", "-token=abc"], "`-token`"),
    (&["logs", "web-0", "--token=abc"], "credentials"),
    (&["version", "--server=https://evil"], "`--server`"),
    // Files and raw paths.
    (&["get", "-f", "x.yaml"], "`-f`"),
    (&["get", "--filename=x.yaml"], "`--filename`"),
    (&["get", "pods", "-k", "dir"], "`-k`"),
    (&["get", "--raw", "/api/v1/secrets"], "`--raw`"),
    (&["get", "pods", "-o", "jsonpath-file=/etc/passwd"], "read a file"),
    (&["get", "pods", "-o", "custom-columns-file=/etc/passwd"], "read a file"),
    (&["get", "pods", "-o", "go-template={{.}}"], "Go templates"),
    (&["get", "pods", "-o", "go-template-file=/x"], "Go templates"),
    (&["get", "pods", "--template={{.}}"], "`--template`"),
    // Watching.
    (&["get", "pods", "-w"], "`-w`"),
    (&["get", "pods", "--watch"], "`--watch`"),
    (&["events", "-w"], "`-w`"),
    (&["rollout", "history", "deploy/x", "--watch"], "`--watch`"),
    // Verbs.
    (&["exec", "web-0", "--", "sh"], "`exec`"),
    (&["delete", "pod", "x"], "`delete` is not supported"),
    (&["apply", "-f", "x"], "`apply`"),
    (&["port-forward", "svc/x", "80"], "`port-forward`"),
    (&["proxy"], "`proxy`"),
    (&["cp", "a", "b"], "`cp`"),
    (&["debug", "node/x"], "`debug`"),
    (&["edit", "deploy/x"], "`edit`"),
    (&["auth", "can-i", "get", "secrets"], "`auth`"),
    (&["config", "view"], "`config`"),
    (&["plugin", "list"], "`plugin`"),
    (&["get", "delete", "pod", "x"], "`delete`"),
    (&["get", "describe", "pod", "x"], "command_type `describe`"),
    (&["rollout", "restart", "deploy/x"], "`rollout restart` is not supported"),
    (&["rollout", "undo", "deploy/x"], "`rollout undo`"),
    (&["rollout", "pause", "deploy/x"], "`rollout pause`"),
    (&["rollout", "resume", "deploy/x"], "`rollout resume`"),
    (&["cluster-info", "dump"], "`cluster-info dump` is not supported"),
    // Namespaces.
    (&["get", "pods", "-A", "-n", "default"], "`-A` and `-n` conflict"),
    (
        &["get", "pods", "--all-namespaces", "--namespace=default"],
        "`--all-namespaces` and `--namespace` conflict",
    ),
    (&["get", "pods", "-n", "Default"], "`Default` is not a valid namespace"),
    (&["get", "pods", "-n", "a;b"], "`a;b` is not a valid namespace"),
    (&["get", "pods", "-n", "-A"], "`-n` needs a value"),
    (&["get", "pods", "-n"], "`-n` needs a value"),
    // Unknown flags, exact names only.
    (&["get", "pods", "--foo"], "`--foo` is not allowed for `get`"),
    (&["get", "pods", "--tail=5"], "`--tail` is accepted by `logs`"),
    (&["logs", "web-0", "-previous"], "did you mean `--previous`?"),
    (&["version", "--short"], "`version` takes no flags"),
    (&["version", "-o", "json"], "`version` takes no flags"),
    (
        &["get", "pods", "--show-labels=yes"],
        "write `--show-labels`, `--show-labels=true` or `--show-labels=false`",
    ),
    (&["get", "pods", "--", "x"], "`--`"),
    // Values.
    (&["get", "pods", "-o", "jsonpath"], "needs a template"),
    (&["get", "pods", "-o", "xml"], "`xml` is not a valid value for `-o`"),
    (&["get", "pods", "-l", "''"], "`''` is not a valid value for `-l`"),
    (&["get", "pods", "-l", "a=b", "-l", "c=d"], "`-l` is given more than once"),
    (&["get", "pods", "--chunk-size=-1"], "`--chunk-size`"),
    (&["logs", "web-0", "--since=1d"], "no `d` unit"),
    (&["logs", "web-0", "--since=5"], "`5` is not a valid value for `--since`"),
    (&["logs", "web-0", "--since=-5m"], "`--since`"),
    (&["logs", "web-0", "--since-time=yesterday"], "RFC 3339"),
    (
        &["logs", "web-0", "--since=5m", "--since-time=2024-05-01T10:00:00Z"],
        "`--since` and `--since-time` conflict",
    ),
    (&["logs", "web-0", "--tail=-2"], "`--tail`"),
    (&["logs", "web-0", "--limit-bytes=0"], "`--limit-bytes`"),
    (&["logs", "web-0", "app", "-c", "app"], "give the container once"),
    (&["logs", "web-0", "-c", "app", "--all-containers"], "conflict"),
    (&["events", "--types=Error"], "`Error` is not a valid value for `--types`"),
    (&["events", "--for", "web-0"], "TYPE/NAME"),
    (&["events", "-o", "wide"], "`wide` is not a valid value for `-o`"),
    (&["top", "pods", "--sort-by=name"], "`cpu` or `memory`"),
    (&["api-resources", "-o", "json"], "`wide` or `name`"),
    (&["explain", "pods", "--api-version=Apps/V1"], "`--api-version`"),
    // Positionals.
    (&["get"], "`get` needs a resource type"),
    (&["get", "-n", "demo"], "`get` needs a resource type"),
    (&["describe"], "`describe` needs"),
    (&["logs"], "`logs` needs a pod name"),
    (&["logs", "web-0", "app", "extra"], "unexpected argument `extra`"),
    (&["logs", "web-0", "-l", "app=web"], "not both"),
    (&["get", "pods", "x", "-l", "app=web"], "select by name or by label"),
    (&["get", "pods", "x", "-A"], "cannot be combined with `-A`"),
    (&["get", "pod/a", "b"], "all must be"),
    (&["get", "pod/a/b"], "`a/b` is not a valid name"),
    (&["get", "pods", "a b"], "whitespace"),
    (&["get", "pods", "x?watch=true"], "`?`"),
    (&["get", "pods", ".."], "`..`"),
    (&["get", "all", "x"], "`all`"),
    (
        &["get", "pods,,svc"],
        "`pods,,svc` is not a valid resource type: the comma-separated list has an empty item",
    ),
    (&["get", "pods;rm"], "not a valid resource type"),
    (&["get", "get pods"], "not a valid resource type"),
    (&["events", "pod/x"], "`--for TYPE/NAME`"),
    (&["top"], "`pods` or `nodes`"),
    (&["top", "deploy"], "`top` shows `pods` or `nodes`"),
    (&["top", "nodes", "--containers"], "`top pods` only"),
    (&["top", "pods", "x", "-A"], "`-A`"),
    (&["explain"], "`explain` needs"),
    (&["explain", "pods/x"], "RESOURCE.FIELD"),
    (&["version", "extra"], "takes no arguments"),
    (&["api-resources", "pods"], "takes no arguments"),
    (&["rollout"], "`history` or `status`"),
    (&["rollout", "status"], "`rollout status` needs"),
    (&["rollout", "status", "deploy"], "`rollout status` needs"),
    (&["rollout", "status", "pod/x"], "deployments, statefulsets and daemonsets"),
    (&["rollout", "status", "deploy/x", "--revision=2"], "`--revision` is not allowed for `rollout status`"),
    (&["rollout", "status", "deploy/x", "--timeout=5m"], "`--timeout`"),
    (&["rollout", "history", "deploy/x", "--revision=-1"], "`--revision`"),
    (
        &["rollout", "history", "deploy/x", "-A"],
        "`-A` is not allowed for `rollout history`; allowed flags: -n/--namespace, --revision",
    ),
    // Tokens.
    (&["get", "pods", ""], "empty argument in args[1]"),
    (&["get", "pods", "-o", "jsonpath={.a}\n"], "control character"),
    (&["frobnicate"], "`frobnicate` is not a supported command"),
    (&[""], "command_type is empty"),
];

#[test]
fn commands_that_must_fail() {
    for (line, needle) in MUST_FAIL {
        match run(line) {
            Ok(req) => panic!("{line:?} must fail, parsed as {req:?}"),
            Err(e) => assert!(e.to_string().contains(needle), "{line:?}: `{e}` does not contain `{needle}`"),
        }
    }
}

#[test]
fn restricted_resources_under_every_spelling() {
    let config = secrets_restricted();
    let cases: &[&[&str]] = &[
        &["get", "secret", "x"],
        &["get", "secrets"],
        &["get", "Secret"],
        &["get", "SECRETS", "-A"],
        &["get", "secret/x"],
        &["get", "Secret/x"],
        &["get", "pods,secret"],
        &["get", "pod/a", "secret/x"],
        &["get", "secrets.v1"],
        &["get", "secret.v1/x"],
        &["describe", "secret", "x"],
        &["describe", "secrets/x"],
        &["logs", "secret/x"],
        &["events", "--for", "secret/x"],
    ];
    for line in cases {
        match run_with(line, &[], None, &config) {
            Ok(req) => panic!("{line:?} must be refused, parsed as {req:?}"),
            Err(e) => {
                assert!(matches!(e, PolicyError::RestrictedResource { .. }), "{line:?}: {e:?}");
                assert!(e.to_string().contains("rule `secrets`"), "{e}");
            }
        }
    }
    // Not secrets: fine. `all` does not include secrets; `explain` shows only the schema.
    for line in [&["get", "pods"][..], &["get", "all"], &["explain", "secrets"], &["get", "secretstores"]] {
        assert!(run_with(line, &[], None, &config).is_ok(), "{line:?}");
    }
}

#[test]
fn restricting_a_member_of_all_refuses_all() {
    let config = PolicyConfig { restricted_resources: vec!["pods".into()] };
    let err = run_with(&["get", "all"], &[], None, &config).expect_err("refused");
    assert!(matches!(err, PolicyError::RestrictedResource { ref resource, .. } if resource == "all"));
    assert!(run_with(&["logs", "web-0"], &[], None, &config).is_err());
    assert!(run_with(&["top", "po"], &[], None, &config).is_err());
}

#[test]
fn namespace_rules() {
    let config = PolicyConfig::default();
    let ns = |line: &[&str], body: Option<&str>| match run_with(line, &[], body, &config) {
        Ok(KubectlRequest::Get(get)) => Ok(get.namespace),
        Ok(other) => panic!("not a get: {other:?}"),
        Err(e) => Err(e),
    };
    assert_eq!(ns(&["get", "pods"], None), Ok(NamespaceScope::Default));
    assert_eq!(ns(&["get", "pods"], Some("")), Ok(NamespaceScope::Default));
    assert_eq!(ns(&["get", "pods"], Some("demo")), Ok(NamespaceScope::Namespace("demo".into())));
    assert_eq!(
        ns(&["get", "pods", "-n", "demo"], Some("demo")),
        Ok(NamespaceScope::Namespace("demo".into()))
    );
    // Upstream appended `-n default` to `-A` and ran across every namespace; a namespace with `-A`
    // is refused now (ambiguous), naming both.
    let err = ns(&["get", "pods", "-A"], Some("default")).expect_err("-A with a namespace");
    assert!(err.to_string().contains("`-A`") && err.to_string().contains("namespace default"), "{err}");
    assert_eq!((err.field(), err.index()), ("args", Some(1)));
    assert_eq!(ns(&["get", "pods", "-A"], None), Ok(NamespaceScope::All));
    assert_eq!(ns(&["get", "pods", "-A=false"], Some("demo")), Ok(NamespaceScope::Namespace("demo".into())));

    let err = ns(&["get", "pods", "-n", "kube-system"], Some("default")).expect_err("conflict");
    let msg = err.to_string();
    assert!(msg.contains("`default`") && msg.contains("`-n kube-system`"), "{msg}");
    assert_eq!((err.field(), err.index()), ("args", Some(1)));

    let err = ns(&["get", "pods"], Some("Bad_NS")).expect_err("invalid");
    assert_eq!((err.field(), err.index()), ("namespace", None));
    assert!(err.to_string().contains("`Bad_NS` is not a valid namespace"));

    // Verbs without namespaces ignore the body's (upstream clients send `default` by default).
    for line in [&["version"][..], &["api-resources"], &["explain", "pods"], &["cluster-info"]] {
        assert!(run_with(line, &[], Some("default"), &config).is_ok(), "{line:?}");
    }
}

/// (command line, extra_args, expected `(field, index)`).
type LocationCase = (&'static [&'static str], &'static [&'static str], (&'static str, Option<usize>));

#[test]
fn errors_point_at_the_field_and_index() {
    let cases: &[LocationCase] = &[
        (&["delete", "pod"], &[], ("command_type", None)),
        (&["get", "pods", "--token=x"], &[], ("args", Some(1))),
        (&["get", "pods"], &["-o", "wide", "--kubeconfig=/x"], ("extra_args", Some(2))),
        (&["get", "pods", "-o"], &["go-template=x"], ("args", Some(1))),
        (&["get", "get", "exec"], &[], ("args", Some(1))),
    ];
    for (line, extra, want) in cases {
        let err = run_with(line, extra, None, &PolicyConfig::default()).expect_err("refused");
        assert_eq!((err.field(), err.index()), *want, "{line:?} {extra:?}: {err}");
    }
}

#[test]
fn limits() {
    let config = PolicyConfig::default();
    let mut line = vec!["get", "pods"];
    line.extend(std::iter::repeat_n("x", 19));
    assert!(run_with(&line, &[], None, &config).is_ok(), "20 args");
    line.push("y");
    let err = run_with(&line, &[], None, &config).expect_err("21 args");
    assert!(matches!(err, PolicyError::TooManyTokens { count: 21, max: 20, .. }), "{err:?}");
    assert_eq!(err.field(), "args");

    let extra = vec!["--no-headers"; 21];
    let err = run_with(&["get", "pods"], &extra, None, &config).expect_err("21 extra_args");
    assert_eq!(err.field(), "extra_args");

    let long = "a".repeat(1025);
    let err = run(&["get", "pods", &long]).expect_err("long token");
    assert!(err.to_string().contains("longer than 1024"), "{err}");
    let long_selector = format!("-l=app={}", "a".repeat(1020));
    assert!(run(&["get", "pods", &long_selector]).is_err());
}

#[test]
fn unknown_flag_messages_list_the_allowed_flags() {
    let err = run(&["get", "pods", "--foo"]).expect_err("refused");
    let PolicyError::UnknownFlag { verb, ref flag, ref allowed, .. } = err else { panic!("{err:?}") };
    assert_eq!((verb, flag.as_str()), ("get", "--foo"));
    assert!(allowed.contains(&"-n/--namespace") && allowed.contains(&"--field-selector"));
    let msg = err.to_string();
    assert!(
        msg.starts_with("`--foo` is not allowed for `get`; allowed flags: -n/--namespace, -A/--all-namespaces, -l/--selector"),
        "{msg}"
    );

    let msg = run(&["logs", "x", "-A"]).expect_err("refused").to_string();
    assert!(msg.contains("`-A` is not allowed for `logs`") && msg.contains("-c/--container"), "{msg}");

    let msg = run(&["delete", "pod", "x"]).expect_err("refused").to_string();
    assert!(msg.contains("allowed command types: get, describe, logs"), "{msg}");

    let msg = run(&["rollout", "restart", "deploy/x"]).expect_err("refused").to_string();
    assert!(msg.contains("`rollout history`, `rollout status`"), "{msg}");

    let msg = run(&["get", "pods", "-o", "go-template={{.}}"]).expect_err("refused").to_string();
    assert!(msg.contains("`go-template={{.}}` is not a valid value for `-o`"), "{msg}");

    assert_eq!(allowed_flags("events").map(|f| f.len()), Some(6));
    assert_eq!(allowed_flags("version"), Some(vec![]));
    assert_eq!(allowed_flags("delete"), None);
}

#[test]
fn round_trips() {
    let cases: Vec<(&[&str], KubectlRequest)> = vec![
        (
            &["get", "pods,svc", "-n", "demo", "-o", "wide"],
            KubectlRequest::Get(GetRequest {
                namespace: NamespaceScope::Namespace("demo".into()),
                output: OutputFormat::Wide,
                ..get_request(refs(&[("pods", &[]), ("svc", &[])]))
            }),
        ),
        (&["get", "pods", "a", "b"], KubectlRequest::Get(get_request(refs(&[("pods", &["a", "b"])])))),
        (
            &["get", "pod/a", "svc/b", "pod/c", "-o", "jsonpath='{.metadata.name}'"],
            KubectlRequest::Get(GetRequest {
                output: OutputFormat::JsonPath("{.metadata.name}".into()),
                ..get_request(refs(&[("pod", &["a", "c"]), ("svc", &["b"])]))
            }),
        ),
        (
            &["get", "Pods", "-l", "'app=web'", "-L", "app,tier", "--sort-by={.metadata.name}"],
            KubectlRequest::Get(GetRequest {
                label_selector: Some("app=web".into()),
                label_columns: vec!["app".into(), "tier".into()],
                sort_by: Some("{.metadata.name}".into()),
                ..get_request(refs(&[("pods", &[])]))
            }),
        ),
        (
            &["describe", "deploy", "web", "--show-events=false"],
            KubectlRequest::Describe(DescribeRequest {
                targets: refs(&[("deploy", &["web"])]),
                namespace: NamespaceScope::Default,
                label_selector: None,
                show_events: false,
            }),
        ),
        (
            &["logs", "deploy/orders-api", "--previous", "--tail=50", "-n", "demo-shop"],
            KubectlRequest::Logs(LogsRequest {
                namespace: NamespaceScope::Namespace("demo-shop".into()),
                previous: true,
                tail_lines: Some(50),
                ..logs_request(LogTarget::Object(ResourceRef {
                    resource: "deploy".into(),
                    names: vec!["orders-api".into()],
                }))
            }),
        ),
        (
            &["logs", "web-0", "app", "--since=1h30m", "-f"],
            KubectlRequest::Logs(LogsRequest {
                container: Some("app".into()),
                since_seconds: Some(5400),
                follow: true,
                ..logs_request(LogTarget::Object(ResourceRef {
                    resource: "pods".into(),
                    names: vec!["web-0".into()],
                }))
            }),
        ),
        (
            &["logs", "-l", "app=web", "--since=1.5s", "--prefix"],
            KubectlRequest::Logs(LogsRequest {
                since_seconds: Some(2),
                prefix: true,
                ..logs_request(LogTarget::Selector("app=web".into()))
            }),
        ),
        (
            &["rollout", "status", "deployment/storefront", "--watch=false"],
            KubectlRequest::Rollout(RolloutRequest {
                action: RolloutAction::Status,
                target: ResourceRef { resource: "deployment".into(), names: vec!["storefront".into()] },
                namespace: NamespaceScope::Default,
                revision: None,
                watch: false,
            }),
        ),
        (
            &["rollout", "status", "sts", "db"],
            KubectlRequest::Rollout(RolloutRequest {
                action: RolloutAction::Status,
                target: ResourceRef { resource: "sts".into(), names: vec!["db".into()] },
                namespace: NamespaceScope::Default,
                revision: None,
                watch: true,
            }),
        ),
        (
            &["rollout", "history", "ds/agent", "--revision", "3"],
            KubectlRequest::Rollout(RolloutRequest {
                action: RolloutAction::History,
                target: ResourceRef { resource: "ds".into(), names: vec!["agent".into()] },
                namespace: NamespaceScope::Default,
                revision: Some(3),
                watch: false,
            }),
        ),
        (
            &["api-resources", "--namespaced=true", "-o", "name"],
            KubectlRequest::ApiResources(ApiResourcesRequest {
                namespaced: Some(true),
                api_group: None,
                verbs: vec![],
                output: ApiResourcesOutput::Name,
                no_headers: false,
            }),
        ),
        (&["version"], KubectlRequest::Version),
        (&["api-versions"], KubectlRequest::ApiVersions),
        (&["cluster-info"], KubectlRequest::ClusterInfo),
        (
            &["top", "pods", "-A", "--sort-by=cpu"],
            KubectlRequest::Top(TopRequest {
                kind: TopKind::Pods,
                name: None,
                namespace: NamespaceScope::All,
                label_selector: None,
                containers: false,
                sort_by: Some("cpu".into()),
                no_headers: false,
            }),
        ),
        (
            &["events", "--for", "pod/x", "--types=Warning", "-n", "demo"],
            KubectlRequest::Events(EventsRequest {
                namespace: NamespaceScope::Namespace("demo".into()),
                for_object: Some(ResourceRef { resource: "pod".into(), names: vec!["x".into()] }),
                types: vec!["Warning".into()],
                output: OutputFormat::Table,
                no_headers: false,
            }),
        ),
    ];
    for (line, want) in cases {
        assert_eq!(run(line), Ok(want), "{line:?}");
    }
}

#[test]
fn shorthand_clusters_follow_pflag() {
    let KubectlRequest::Get(get) = run(&["get", "pods", "-Aojson"]).expect("passes") else { panic!() };
    assert_eq!((get.namespace, get.output), (NamespaceScope::All, OutputFormat::Json));
    let KubectlRequest::Logs(logs) = run(&["logs", "web-0", "-pf"]).expect("passes") else { panic!() };
    assert!(logs.previous && logs.follow);
    let msg = run(&["get", "pods", "-Ax"]).expect_err("refused").to_string();
    assert!(msg.contains("`-x`") && msg.contains("in `-Ax`"), "{msg}");
}

#[test]
fn requests_survive_serde() {
    let req =
        run(&["logs", "deploy/orders-api", "--previous", "--tail=50", "-n", "demo-shop"]).expect("passes");
    let json = serde_json::to_string(&req).expect("serializes");
    assert_eq!(serde_json::from_str::<KubectlRequest>(&json).expect("deserializes"), req);
}

#[test]
fn odd_tokens_never_panic_and_accepted_ones_round_trip() {
    let odd = [
        "-",
        "--",
        "---",
        "-é",
        "--é=x",
        "é",
        "-n=",
        "--namespace=",
        "-o=",
        "-\u{301}",
        "=",
        "-=",
        "--=",
        "-A=",
        "-Ap=1",
        "'",
        "\"",
        "''",
        "'x'",
        "/",
        "a/",
        "/a",
        ",",
        "-1",
        "--tail",
        "1.5.5m",
        "∞",
        "-ojsonpath=",
        "\u{200b}",
        "x",
        "pod/x",
        "-c",
        "-l",
        "a=b",
        "--since",
        "5m",
        "-w",
        "-f",
        "-p",
        "status",
        "history",
        "deploy/x",
        "nodes",
        "-n",
        "demo",
        "-A",
        "--for",
        "--types",
        "Warning",
        "all",
        "\"'a'\"",
    ];
    let config = PolicyConfig::default();
    for verb in ALLOWED_VERBS {
        for a in odd {
            for b in odd {
                for line in [&[*verb, a, b][..], &[*verb, "pods", a, b], &[*verb, a, "x", b]] {
                    if let Ok(req) = run(line) {
                        assert_eq!(validate(&req, &config), Ok(()), "{line:?} → {:?}", to_argv(&req));
                    }
                }
            }
        }
    }
}

#[test]
fn diagnose_parses_its_scope_and_refuses_what_it_cannot_look_at() {
    use crate::policy::request::{DiagnoseOutput, DiagnoseRequest, DiagnoseTarget};
    assert_eq!(
        run(&["diagnose", "deploy/web", "-n", "demo", "-o", "json"]).expect("passes"),
        KubectlRequest::Diagnose(DiagnoseRequest {
            namespace: NamespaceScope::Namespace("demo".into()),
            target: Some(DiagnoseTarget::Object(ResourceRef {
                resource: "deploy".into(),
                names: vec!["web".into()]
            })),
            output: DiagnoseOutput::Json,
        })
    );
    assert_eq!(
        run(&["diagnose", "-A"]).expect("passes"),
        KubectlRequest::Diagnose(DiagnoseRequest {
            namespace: NamespaceScope::All,
            target: None,
            output: DiagnoseOutput::Text,
        })
    );
    for (line, needle) in [
        (&["diagnose", "svc/web"][..], "pods and pod-owning workloads"),
        (&["diagnose", "secret/x"][..], "pods and pod-owning workloads"),
        (&["diagnose", "deploy/a", "deploy/b"][..], "TYPE/NAME"),
        (&["diagnose", "a", "b", "c"][..], "TYPE/NAME"),
        (&["diagnose", "a", "-A"][..], "-A"),
        (&["diagnose", "deploy/a", "-A"][..], "-A"),
        (&["diagnose", "-o", "yaml"][..], "`json`"),
        (&["diagnose", "-l", "app=x"][..], "-l"),
        (&["diagnose", "--previous"][..], "--previous"),
    ] {
        let e = run(line).expect_err(&format!("{line:?} must fail"));
        assert!(e.to_string().contains(needle), "{line:?}: {e}");
    }
    assert_eq!(
        run(&["diagnose", "orders-api", "-n", "shop"]).expect("a bare name passes"),
        KubectlRequest::Diagnose(DiagnoseRequest {
            namespace: NamespaceScope::Namespace("shop".into()),
            target: Some(DiagnoseTarget::Named("orders-api".into())),
            output: DiagnoseOutput::Text,
        })
    );
    let restricted = PolicyConfig { restricted_resources: vec!["deployments".to_owned()] };
    assert!(run_with(&["diagnose", "deploy/web"], &[], None, &restricted).is_err());
    for line in [
        &["diagnose", "sts", "db", "-n", "x"][..],
        &["diagnose", "web"][..],
        &["logs", "web-0", "--compact"][..],
    ] {
        let req = run(line).expect("passes");
        validate(&req, &PolicyConfig::default()).expect("round-trips");
    }
}
