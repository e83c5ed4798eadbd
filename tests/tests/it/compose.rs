//! `compose.yaml`, the `Dockerfile` and the `nats/` configs agree with the code: every
//! `KUBENTLY__*` variable loads into the real settings types, ports and service names line up,
//! build targets exist, and the NATS version is the pinned one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use kubently_shared::config::{LogFormat, load_with_env};
use kubently_shared::names::{self, ENV_PREFIX, ENV_SEPARATOR};
use kubently_tests::paths::{self, repo_root};
use serde_json::Value;

const DEMO_SERVICES: [&str; 4] = ["nats", "gateway", "executor", "k3s"];
const NATS_DEFAULT_CLIENT_PORT: u16 = 4222;
const CLUSTER_CONFS: [&str; 3] =
    ["nats/cluster/node-1.conf", "nats/cluster/node-2.conf", "nats/cluster/node-3.conf"];

// ---------------------------------------------------------------- helpers: files

fn read_repo_file(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn compose() -> Value {
    serde_yaml::from_str(&read_repo_file("compose.yaml"))
        .unwrap_or_else(|e| panic!("compose.yaml is not valid YAML: {e}"))
}

fn services(compose: &Value) -> &serde_json::Map<String, Value> {
    compose["services"].as_object().expect("compose.yaml has a `services` mapping")
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    services(compose).get(name).unwrap_or_else(|| {
        panic!(
            "expected a service `{name}`, compose.yaml has {:?}",
            services(compose).keys().collect::<Vec<_>>()
        )
    })
}

/// A scalar YAML value as the string a container would see.
fn scalar(value: &Value, what: &str) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("expected a scalar for {what}, compose.yaml has {other}"),
    }
}

// ---------------------------------------------------------------- helpers: compose syntax

/// `environment:` in map or `KEY=VALUE` list form.
fn environment(compose: &Value, name: &str) -> BTreeMap<String, String> {
    match &service(compose, name)["environment"] {
        Value::Null => BTreeMap::new(),
        Value::Object(map) => {
            map.iter().map(|(k, v)| (k.clone(), scalar(v, &format!("{name}.environment.{k}")))).collect()
        }
        Value::Array(items) => items
            .iter()
            .map(|item| {
                let item = scalar(item, &format!("{name}.environment[]"));
                let (k, v) = item.split_once('=').unwrap_or_else(|| {
                    panic!("expected KEY=VALUE in {name}.environment, compose.yaml has `{item}`")
                });
                (k.to_string(), v.to_string())
            })
            .collect(),
        other => panic!("expected a map or list for {name}.environment, compose.yaml has {other}"),
    }
}

/// The service's `KUBENTLY__*` variables, as the settings loader would see them.
fn kubently_env(compose: &Value, name: &str) -> HashMap<String, String> {
    let prefix = format!("{ENV_PREFIX}{ENV_SEPARATOR}");
    let env: HashMap<_, _> =
        environment(compose, name).into_iter().filter(|(k, _)| k.starts_with(&prefix)).collect();
    assert!(!env.is_empty(), "expected {prefix}* variables on service `{name}`, compose.yaml sets none");
    env
}

/// `command:` as a list of arguments (string form split on whitespace).
fn command(compose: &Value, name: &str) -> Vec<String> {
    match &service(compose, name)["command"] {
        Value::Null => Vec::new(),
        Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
        Value::Array(items) => items.iter().map(|v| scalar(v, &format!("{name}.command[]"))).collect(),
        other => panic!("expected a string or list for {name}.command, compose.yaml has {other}"),
    }
}

#[derive(Debug)]
struct PortMapping {
    published: Option<u16>,
    target: u16,
}

fn parse_port(text: &str, what: &str) -> u16 {
    text.trim().parse().unwrap_or_else(|_| panic!("expected a single port number in {what}, found `{text}`"))
}

/// `ports:` in short (`[IP:][PUBLISHED:]TARGET[/PROTO]`) or long (`{target, published}`) syntax.
fn ports(compose: &Value, name: &str) -> Vec<PortMapping> {
    let what = format!("compose.yaml {name}.ports");
    let Some(items) = service(compose, name)["ports"].as_array() else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| match item {
            Value::Object(long) => PortMapping {
                published: long.get("published").map(|p| parse_port(&scalar(p, &what), &what)),
                target: parse_port(&scalar(&long["target"], &what), &what),
            },
            short => {
                let short = scalar(short, &what);
                let without_proto = short.split('/').next().unwrap_or_default();
                let mut parts = without_proto.rsplitn(3, ':');
                let target = parse_port(parts.next().unwrap_or_default(), &what);
                let published = parts.next().map(|p| parse_port(p, &what));
                PortMapping { published, target }
            }
        })
        .collect()
}

#[derive(Debug)]
struct Mount {
    /// Named volume or host path; `None` for an anonymous volume.
    source: Option<String>,
    target: String,
    read_only: bool,
}

impl Mount {
    fn named_volume(&self) -> Option<&str> {
        self.source.as_deref().filter(|s| !s.starts_with(['/', '.', '~', '$']))
    }
}

/// `volumes:` of a service in short (`SOURCE:TARGET[:MODE]`) or long (`{source, target}`) syntax.
fn mounts(compose: &Value, name: &str) -> Vec<Mount> {
    let what = format!("{name}.volumes");
    let Some(items) = service(compose, name)["volumes"].as_array() else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| match item {
            Value::Object(long) => Mount {
                source: long.get("source").map(|s| scalar(s, &what)),
                target: scalar(&long["target"], &what),
                read_only: long.get("read_only").and_then(Value::as_bool).unwrap_or(false),
            },
            short => {
                let short = scalar(short, &what);
                let parts: Vec<&str> = short.split(':').collect();
                match parts.as_slice() {
                    [target] => Mount { source: None, target: target.to_string(), read_only: false },
                    [source, target] => Mount {
                        source: Some(source.to_string()),
                        target: target.to_string(),
                        read_only: false,
                    },
                    [source, target, mode] => Mount {
                        source: Some(source.to_string()),
                        target: target.to_string(),
                        read_only: mode.split(',').any(|m| m == "ro"),
                    },
                    _ => panic!("expected SOURCE:TARGET[:MODE] in {what}, compose.yaml has `{short}`"),
                }
            }
        })
        .collect()
}

/// `depends_on:` in list or map form: (service, condition).
fn depends_on(compose: &Value, name: &str) -> Vec<(String, Option<String>)> {
    match &service(compose, name)["depends_on"] {
        Value::Null => Vec::new(),
        Value::Array(items) => {
            items.iter().map(|v| (scalar(v, &format!("{name}.depends_on[]")), None)).collect()
        }
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.get("condition").map(|c| scalar(c, &format!("{name}.depends_on.{k}.condition"))),
                )
            })
            .collect(),
        other => panic!("expected a list or map for {name}.depends_on, compose.yaml has {other}"),
    }
}

/// The client port the `nats` service listens on inside the compose network.
fn nats_client_port(compose: &Value) -> u16 {
    let args = command(compose, "nats");
    args.iter()
        .position(|a| a == "-p" || a == "--port")
        .map(|i| {
            parse_port(
                args.get(i + 1).map(String::as_str).unwrap_or_default(),
                "compose.yaml nats.command --port",
            )
        })
        .unwrap_or(NATS_DEFAULT_CLIENT_PORT)
}

/// Checks a `nats://host:port` URL points at the compose `nats` service; returns nothing, panics with context.
fn assert_points_at_nats_service(compose: &Value, service_name: &str, url: &str) {
    let rest = url.strip_prefix("tls://").unwrap_or_else(|| {
        panic!("expected a tls:// URL (the bus is TLS-only) for {service_name}'s nats.url, compose.yaml has `{url}`")
    });
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, parse_port(port, &format!("compose.yaml {service_name}'s nats.url"))),
        None => (authority, NATS_DEFAULT_CLIENT_PORT),
    };
    assert_eq!(
        host, "nats",
        "expected {service_name}'s nats.url to name the `nats` service, compose.yaml has `{url}`"
    );
    assert!(
        services(compose).contains_key(host),
        "{service_name}'s nats.url names `{host}`, which is not a service"
    );
    let listening = nats_client_port(compose);
    assert_eq!(
        port, listening,
        "expected {service_name}'s nats.url port to be nats's client port {listening}, compose.yaml has `{url}`"
    );
}

fn load_gateway_settings(env: HashMap<String, String>) -> kubently_gateway::Settings {
    load_with_env::<kubently_gateway::Settings>(None, Some(env)).unwrap_or_else(|e| {
        panic!(
            "gateway's KUBENTLY__* variables in compose.yaml do not load into kubently_gateway::Settings: {e}"
        )
    })
}

fn load_executor_settings(env: HashMap<String, String>) -> kubently_executor::Settings {
    load_with_env::<kubently_executor::Settings>(None, Some(env))
        .unwrap_or_else(|e| panic!("executor's KUBENTLY__* variables in compose.yaml do not load into kubently_executor::Settings: {e}"))
}

// ---------------------------------------------------------------- helpers: Dockerfile, nats configs

struct Stage {
    name: Option<String>,
    exposed: Vec<u16>,
}

/// The Dockerfile's stages (`FROM image [AS name]`) with their `EXPOSE`d ports.
fn dockerfile_stages() -> Vec<Stage> {
    let mut stages: Vec<Stage> = Vec::new();
    for line in read_repo_file("Dockerfile").lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first().map(|w| w.to_ascii_uppercase()).as_deref() {
            Some("FROM") => {
                let name = match words.as_slice() {
                    [.., as_kw, name] if as_kw.eq_ignore_ascii_case("as") => Some(name.to_string()),
                    _ => None,
                };
                stages.push(Stage { name, exposed: Vec::new() });
            }
            Some("EXPOSE") => {
                let stage = stages.last_mut().expect("EXPOSE comes after a FROM in the Dockerfile");
                stage.exposed.extend(
                    words[1..]
                        .iter()
                        .map(|p| parse_port(p.split('/').next().unwrap_or_default(), "Dockerfile EXPOSE")),
                );
            }
            _ => {}
        }
    }
    stages
}

/// Lines of a nats-server config with comments removed.
fn config_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(|l| l.split('#').next().unwrap_or_default().trim()).filter(|l| !l.is_empty())
}

fn nats_server_binary() -> PathBuf {
    let path = paths::nats_server_bin();
    paths::require(&path, "nats-server").unwrap_or_else(|e| panic!("{e}"));
    path
}

// ---------------------------------------------------------------- tests: compose.yaml

#[test]
fn compose_defines_the_demo_services() {
    let compose = compose();
    let defined: BTreeSet<&str> = services(&compose).keys().map(String::as_str).collect();
    for name in DEMO_SERVICES {
        assert!(defined.contains(name), "expected a service `{name}`, compose.yaml has {defined:?}");
    }
}

#[test]
fn compose_runs_the_pinned_nats_version_with_jetstream() {
    let compose = compose();
    let image = scalar(&service(&compose, "nats")["image"], "nats.image");
    let tag = image
        .rsplit('/')
        .next()
        .and_then(|last| last.split_once(':'))
        .map(|(_, tag)| tag)
        .unwrap_or_else(|| panic!("expected a pinned tag on the nats image, compose.yaml has `{image}`"));
    let version = names::parse_nats_version(tag)
        .unwrap_or_else(|| panic!("expected a version tag on the nats image, compose.yaml has `{image}`"));
    let pinned = names::parse_nats_version(names::NATS_SERVER_VERSION).expect("NATS_SERVER_VERSION parses");
    assert!(
        (version.0, version.1) >= names::NATS_SERVER_MIN_VERSION,
        "expected nats >= {:?}, compose.yaml has `{image}`",
        names::NATS_SERVER_MIN_VERSION
    );
    assert_eq!(
        version,
        pinned,
        "expected nats {} (names::NATS_SERVER_VERSION), compose.yaml has `{image}`",
        names::NATS_SERVER_VERSION
    );

    let args = command(&compose, "nats");
    assert!(
        args.iter().any(|a| a == "-js" || a == "--jetstream"),
        "expected JetStream enabled (-js) in nats.command, compose.yaml has {args:?}"
    );
    let client_port = nats_client_port(&compose);
    assert!(
        ports(&compose, "nats").iter().any(|p| p.target == client_port),
        "expected nats's client port {client_port} in nats.ports, compose.yaml has {:?}",
        ports(&compose, "nats")
    );
}

#[test]
fn gateway_environment_loads_into_the_gateway_settings() {
    let compose = compose();
    let settings = load_gateway_settings(kubently_env(&compose, "gateway"));

    assert!(
        settings.server.host == "0.0.0.0" || settings.server.host == "::",
        "expected the gateway to listen on all interfaces inside its container, compose.yaml gives server.host `{}`",
        settings.server.host
    );
    assert_points_at_nats_service(&compose, "gateway", &settings.nats.url);
    assert_eq!(
        settings.log.format,
        LogFormat::Json,
        "expected JSON logs from the gateway, compose.yaml sets another log.format"
    );
}

#[test]
fn gateway_publishes_the_port_its_settings_listen_on() {
    let compose = compose();
    let settings = load_gateway_settings(kubently_env(&compose, "gateway"));
    let mappings = ports(&compose, "gateway");
    let mapping = mappings.iter().find(|p| p.target == settings.server.port).unwrap_or_else(|| {
        panic!(
            "expected gateway.ports to publish server.port {}, compose.yaml has {mappings:?}",
            settings.server.port
        )
    });
    assert!(
        mapping.published.is_some(),
        "expected gateway port {} published on the host, compose.yaml has {mapping:?}",
        mapping.target
    );
}

#[test]
fn executor_environment_loads_into_the_executor_settings() {
    let compose = compose();
    let settings = load_executor_settings(kubently_env(&compose, "executor"));

    let cluster_id = &settings.executor.cluster_id;
    assert!(
        !cluster_id.is_empty()
            && cluster_id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
        "expected a cluster id of lowercase letters, digits and `-`, compose.yaml has `{cluster_id}`"
    );
    assert_points_at_nats_service(&compose, "executor", &settings.nats.url);
    assert_eq!(
        settings.log.format,
        LogFormat::Json,
        "expected JSON logs from the executor, compose.yaml sets another log.format"
    );
}

#[test]
fn executor_kubeconfig_comes_from_a_volume_another_service_writes() {
    let compose = compose();
    let settings = load_executor_settings(kubently_env(&compose, "executor"));
    let kubeconfig = settings.kube.kubeconfig.as_ref().expect(
        "expected KUBENTLY__KUBE__KUBECONFIG on the executor, compose.yaml leaves kube.kubeconfig unset",
    );
    let env = environment(&compose, "executor");
    if let Some(plain) = env.get("KUBECONFIG") {
        assert_eq!(
            Path::new(plain),
            kubeconfig.as_path(),
            "expected KUBECONFIG to equal kube.kubeconfig on the executor, compose.yaml has `{plain}`"
        );
    }

    let executor_mounts = mounts(&compose, "executor");
    let mount = executor_mounts.iter().find(|m| kubeconfig.starts_with(&m.target)).unwrap_or_else(|| {
        panic!(
            "expected kube.kubeconfig {} under a mounted volume, compose.yaml mounts {executor_mounts:?}",
            kubeconfig.display()
        )
    });
    assert!(
        mount.read_only,
        "expected the executor's kubeconfig mount read-only, compose.yaml has {mount:?}"
    );
    let volume = mount.named_volume().unwrap_or_else(|| {
        panic!("expected the kubeconfig to come from a named volume, compose.yaml has {mount:?}")
    });

    let writers: Vec<&String> = services(&compose)
        .keys()
        .filter(|name| {
            mounts(&compose, name).iter().any(|m| m.named_volume() == Some(volume) && !m.read_only)
        })
        .collect();
    assert!(
        !writers.is_empty(),
        "expected some service to write volume `{volume}` (the executor's kubeconfig), none mounts it writable"
    );
    let deps: Vec<String> = depends_on(&compose, "executor").into_iter().map(|(name, _)| name).collect();
    assert!(
        writers.iter().any(|w| deps.contains(w)),
        "expected the executor to depend on a writer of `{volume}` ({writers:?}), compose.yaml has depends_on {deps:?}"
    );
}

#[test]
fn misspelt_environment_variables_are_rejected_by_the_settings_types() {
    // The checks above rely on unknown names failing to load; make sure they do.
    let typo = HashMap::from([("KUBENTLY__SERVER__PROT".to_string(), "8080".to_string())]);
    assert!(
        load_with_env::<kubently_gateway::Settings>(None, Some(typo)).is_err(),
        "gateway settings accepted KUBENTLY__SERVER__PROT; a typo in compose.yaml would go unnoticed"
    );
    let typo = HashMap::from([("KUBENTLY__EXECUTOR__CLUSTERID".to_string(), "demo".to_string())]);
    assert!(
        load_with_env::<kubently_executor::Settings>(None, Some(typo)).is_err(),
        "executor settings accepted KUBENTLY__EXECUTOR__CLUSTERID; a typo in compose.yaml would go unnoticed"
    );
}

#[test]
fn build_targets_are_dockerfile_stages() {
    let compose = compose();
    let stages = dockerfile_stages();
    let stage_names: Vec<&str> = stages.iter().filter_map(|s| s.name.as_deref()).collect();
    for name in ["gateway", "executor"] {
        let build = &service(&compose, name)["build"];
        let context = scalar(&build["context"], &format!("{name}.build.context"));
        assert_eq!(
            context, ".",
            "expected {name} to build from the repository root, compose.yaml has context `{context}`"
        );
        let target = scalar(&build["target"], &format!("{name}.build.target"));
        assert!(
            stage_names.contains(&target.as_str()),
            "expected a `FROM … AS {target}` stage in the Dockerfile for {name}, the Dockerfile has stages {stage_names:?}"
        );
    }

    let port = load_gateway_settings(kubently_env(&compose, "gateway")).server.port;
    let gateway_stage = stages
        .iter()
        .find(|s| s.name.as_deref() == Some("gateway"))
        .expect("gateway stage exists (checked above)");
    assert!(
        gateway_stage.exposed.contains(&port),
        "expected the Dockerfile's gateway stage to EXPOSE server.port {port}, it exposes {:?}",
        gateway_stage.exposed
    );
}

#[test]
fn depends_on_and_named_volumes_reference_defined_things() {
    let compose = compose();
    let defined_volumes: BTreeSet<&str> =
        compose["volumes"].as_object().map(|v| v.keys().map(String::as_str).collect()).unwrap_or_default();
    for (name, _) in services(&compose) {
        for (dependency, condition) in depends_on(&compose, name) {
            assert!(
                services(&compose).contains_key(&dependency),
                "{name}.depends_on names `{dependency}`, which compose.yaml does not define as a service"
            );
            if condition.as_deref() == Some("service_healthy") {
                assert!(
                    !service(&compose, &dependency)["healthcheck"].is_null(),
                    "{name} waits for `{dependency}` to be healthy, but compose.yaml gives `{dependency}` no healthcheck"
                );
            }
        }
        for mount in mounts(&compose, name) {
            if let Some(volume) = mount.named_volume() {
                assert!(
                    defined_volumes.contains(volume),
                    "{name} mounts named volume `{volume}`, which compose.yaml does not declare under `volumes:` ({defined_volumes:?})"
                );
            }
        }
    }
}

// ---------------------------------------------------------------- tests: nats/ configs

#[test]
fn nats_configs_exist_and_enable_jetstream() {
    for relative in std::iter::once("nats/dev.conf").chain(CLUSTER_CONFS) {
        let text = read_repo_file(relative);
        assert!(
            config_lines(&text).any(|l| l.to_ascii_lowercase().starts_with("jetstream")),
            "expected a `jetstream` block in {relative}, found none outside comments"
        );
        // The harness always passes -sd; nats-server 2.15 refuses -sd when the file sets store_dir.
        assert!(
            !config_lines(&text).any(|l| l.starts_with("store_dir") || l.starts_with("storedir")),
            "{relative} sets store_dir, which makes `nats-server -c {relative} -sd DIR` fail with \"Duplicate 'store_dir' configuration\""
        );
    }

    let server_names: BTreeSet<String> = CLUSTER_CONFS
        .iter()
        .map(|relative| {
            let text = read_repo_file(relative);
            config_lines(&text)
                .find_map(|l| {
                    l.strip_prefix("server_name")
                        .map(|v| v.trim_start_matches([':', '=', ' ']).trim().to_string())
                })
                .unwrap_or_else(|| panic!("expected a server_name in {relative}"))
        })
        .collect();
    assert_eq!(
        server_names.len(),
        CLUSTER_CONFS.len(),
        "expected a distinct server_name per cluster node, found {server_names:?}"
    );
}

#[test]
fn nats_configs_are_valid_for_the_pinned_nats_server() {
    let binary = nats_server_binary();
    let version = Command::new(&binary).arg("--version").output().expect("nats-server --version runs");
    let version = String::from_utf8_lossy(&version.stdout);
    assert_eq!(
        names::parse_nats_version(&version),
        names::parse_nats_version(names::NATS_SERVER_VERSION),
        "expected nats-server {} at {}, it reports `{}`",
        names::NATS_SERVER_VERSION,
        binary.display(),
        version.trim()
    );

    let store = tempfile::tempdir().expect("temporary store directory");
    for relative in std::iter::once("nats/dev.conf").chain(CLUSTER_CONFS) {
        // `-t` parses the file as the harness would use it (with -sd) and exits without starting.
        let output = Command::new(&binary)
            .arg("-c")
            .arg(repo_root().join(relative))
            .arg("-sd")
            .arg(store.path())
            .arg("-t")
            .output()
            .expect("nats-server -t runs");
        assert!(
            output.status.success(),
            "nats-server {} rejects {relative} (with -sd): {}",
            names::NATS_SERVER_VERSION,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
}

// ---------------------------------------------------------------- tests: the bus is secured

/// compose's bus: `bus-init` runs the real `kubently-admin init` into the `bus` volume; every file
/// nats, the gateway and the executor take from it is one init writes, nats-server accepts the
/// configuration it writes, and the gateway and executor connect with credentials over TLS.
#[tokio::test]
async fn compose_runs_the_bus_with_authentication_tls_and_signed_commands() {
    let compose = compose();
    let init = command(&compose, "bus-init");
    assert_eq!(
        init.first().map(String::as_str),
        Some("init"),
        "bus-init runs `kubently-admin init`: {init:?}"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let args: Vec<String> =
        init.iter().map(|a| if a == "/bus" { dir.path().display().to_string() } else { a.clone() }).collect();
    kubently_admin::cli::run(args).await.expect("kubently-admin init as compose runs it");
    let in_volume = |path: &str| {
        let relative =
            path.strip_prefix("/bus/").unwrap_or_else(|| panic!("{path} is not in the bus volume"));
        let local = dir.path().join(relative);
        assert!(local.exists(), "{path} is not written by bus-init");
        local
    };

    let nats = command(&compose, "nats");
    let config = nats.iter().position(|a| a == "-c").map(|i| nats[i + 1].clone()).expect("nats -c");
    let output = Command::new(nats_server_binary())
        .arg("-c")
        .arg(in_volume(&config))
        .arg("-t")
        .output()
        .expect("nats-server -t runs");
    assert!(
        output.status.success(),
        "nats-server rejects bus-init's config: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("nats-auth.conf")).expect("auth config");
    assert!(text.contains("operator:") && text.contains("tls {"), "operator mode and TLS: {text}");

    let gateway = load_gateway_settings(kubently_env(&compose, "gateway"));
    in_volume(&gateway.nats.credentials_file.expect("gateway credentials").display().to_string());
    in_volume(&gateway.nats.tls_ca_file.expect("gateway TLS CA").display().to_string());
    in_volume(&gateway.signing.key_file.expect("gateway signing key").display().to_string());
    let executor = load_executor_settings(kubently_env(&compose, "executor"));
    in_volume(&executor.nats.credentials_file.expect("executor credentials").display().to_string());
    in_volume(&executor.nats.tls_ca_file.expect("executor TLS CA").display().to_string());
    let trusted = in_volume(&executor.signing.trusted_keys_file.expect("trusted keys").display().to_string());
    let gateway_key = kubently_shared::signing::CommandSigner::from_file(&dir.path().join("signing.key"))
        .expect("signing key");
    assert_eq!(std::fs::read_to_string(trusted).expect("keys").trim(), gateway_key.public_key());
    for service in ["nats", "gateway", "executor"] {
        let deps = depends_on(&compose, service).into_iter().map(|(name, _)| name).collect::<Vec<_>>();
        assert!(
            service != "nats" || deps.contains(&"bus-init".to_string()),
            "nats must wait for bus-init: {deps:?}"
        );
    }
}
