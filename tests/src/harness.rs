//! What integration tests use.
//!
//! [`TestContext::new`] hands each test typed handles onto one stack per test run: a nats-server
//! on a free port with a temporary store, and the kube test cluster (the dev stack's if `./dev up`
//! is running, else a private one started in a temporary directory and seeded with the demo
//! scenario). Everything it starts is tied to the test process (see [`crate::process`]): stopped
//! at exit, also after panics, and killed by the kernel if the test process dies.
//!
//! Tests isolate themselves with [`TestContext::unique`] names (streams, buckets, cluster ids)
//! and [`TestContext::namespace`], so they run in parallel.

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::Context;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, PostParams};

use crate::kube_cluster::{ClusterOptions, KubeCluster, client_from};
use crate::nats_server::NatsServer;
use crate::process::{Lifetime, remove_at_exit};
use crate::{devstack_state, paths, scenario};
use bytes::Bytes;
use kubently_admin::cli::Setup as BusSetup;
use kubently_admin::trust::Trust;
use kubently_shared::names::{HEADER_MSG_ID, Names};
use kubently_shared::protocol::{self, Command};
use kubently_shared::signing::CommandSigner;

/// The shared, per-run stack.
#[derive(Debug)]
pub struct TestStack {
    pub nats_url: String,
    pub nats_monitor_port: u16,
    /// The run's nats-server process (started once per run).
    pub nats_pid: i32,
    pub kubeconfig: PathBuf,
    pub kube_server: String,
    /// The kube-apiserver's audit log (see `kube_cluster::AUDIT_POLICY`); None when a reused dev
    /// cluster was started before the harness wrote one.
    pub kube_audit_log: Option<PathBuf>,
    /// True when the tests run against `./dev up`'s cluster.
    pub reused_dev_cluster: bool,
    /// The run's bus setup (`kubently-admin init`): trust, TLS, signing key.
    pub bus: BusSetup,
    /// Unrestricted credentials of the Kubently account, for test code's own connection.
    pub root_creds: PathBuf,
    /// The run's command signing key's public half (executors trust it).
    pub signing_public_key: String,
}

impl TestStack {
    /// A connection with `creds` to the run's nats-server (TLS, verified against the bus CA).
    pub async fn connect_as(&self, creds: &std::path::Path) -> async_nats::Client {
        self.connect_to(&self.nats_url, creds).await
    }

    /// A connection with `creds` to `url` (a node of the run's trust and CA).
    pub async fn connect_to(&self, url: &str, creds: &std::path::Path) -> async_nats::Client {
        self.try_connect(url, creds).await.expect("connect to the test nats-server")
    }

    /// [`Self::connect_to`], or why the server refused.
    pub async fn try_connect(
        &self,
        url: &str,
        creds: &std::path::Path,
    ) -> Result<async_nats::Client, async_nats::ConnectError> {
        async_nats::ConnectOptions::with_credentials_file(creds)
            .await
            .expect("credentials file")
            .add_root_certificates(self.bus.tls.ca_cert.clone())
            .require_tls(true)
            .connect(url.split(',').collect::<Vec<_>>())
            .await
    }

    /// The run's trust (to issue and revoke credentials).
    pub fn trust(&self) -> Trust {
        Trust::load(&self.bus.dir.join("trust")).expect("the run's bus trust")
    }

    /// Writes fresh credentials to a file of the run and returns its path.
    pub fn write_creds(&self, name: &str, creds: &kubently_admin::trust::Credentials) -> PathBuf {
        let path = self.bus.dir.join("creds").join(format!("{name}-{}.creds", uuid::Uuid::new_v4().simple()));
        creds.write(&path).expect("write credentials");
        path
    }
}

/// Starts the stack on first use; later calls return the same one. Panics (failing the test)
/// with the reason if it cannot start.
pub fn stack() -> &'static TestStack {
    static STACK: OnceLock<Result<TestStack, String>> = OnceLock::new();
    let result = STACK.get_or_init(|| {
        // Own thread and runtime: callers are inside a test's runtime, where blocking on another
        // runtime is not allowed, and nothing started here may depend on a test's runtime.
        std::thread::spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(start()).map_err(|e| format!("{e:#}"))
        })
        .join()
        .unwrap_or_else(|_| Err("test stack startup panicked".into()))
    });
    match result {
        Ok(stack) => stack,
        Err(e) => panic!("the test stack could not start: {e}"),
    }
}

/// Progress on the real stderr (libtest captures `eprintln!`, not direct writes).
fn progress(msg: &str) {
    let _ = writeln!(std::io::stderr().lock(), "[kubently-tests] {msg}");
}

/// The run's nats-server hosts hundreds of installations (one name prefix per test), and
/// nats-server reserves every stream's `max_bytes` against `max_file_store` when it creates it:
/// the run's ceiling is a reservation far above what the tests write (a few MB each).
const TEST_STORE_LIMITS: &str = "jetstream {\n  max_memory_store: 256MB\n  max_file_store: 4TB\n}";

async fn start() -> anyhow::Result<TestStack> {
    let t0 = Instant::now();
    let dir = tempfile::Builder::new().prefix("kubently-tests-").tempdir()?.keep();
    remove_at_exit(&dir);
    let bus = BusSetup::create(&dir.join("bus"), &["127.0.0.1", "localhost"], &Names::new())?;
    let root_creds = dir.join("bus/root.creds");
    Trust::load(&dir.join("bus/trust"))?.user("tests", None)?.write(&root_creds)?;
    let nats = NatsServer::start_with(
        &dir.join("nats"),
        &dir.join("nats-server.log"),
        Lifetime::TiedToTestProcess,
        Some(&bus.nats_config),
        Some(TEST_STORE_LIMITS),
    )
    .await
    .context("starting nats-server")?
    .keep_running();
    progress(&format!("nats-server {} ready ({:.1}s)", nats.url, t0.elapsed().as_secs_f64()));

    let (cluster, reused) = match devstack_state::running_cluster() {
        Some(cluster) => {
            progress(&format!("reusing the running dev cluster at {}", cluster.server));
            (cluster, true)
        }
        None => {
            progress(
                "starting a private kube cluster (etcd, kube-apiserver, controller-manager, scheduler, fake kubelet)",
            );
            let cluster = KubeCluster::start(ClusterOptions {
                dir: &dir.join("kube"),
                lifetime: Lifetime::TiedToTestProcess,
                fake_kubelet: fake_kubelet_bin()?,
                progress: &progress,
            })
            .await
            .context("starting the kube test cluster")?;
            (cluster, false)
        }
    };
    let client = client_from(&cluster.kubeconfig).await?;
    scenario::seed(&client).await.context("seeding the demo scenario")?;
    scenario::wait_converged(&client, Duration::from_secs(180), &progress).await?;
    progress(&format!("stack ready ({:.1}s)", t0.elapsed().as_secs_f64()));
    let signing_public_key = bus.public_key()?;
    Ok(TestStack {
        bus,
        root_creds,
        signing_public_key,
        nats_url: nats.url.clone(),
        nats_monitor_port: nats.monitor_port,
        nats_pid: nats.daemon.pid,
        kubeconfig: cluster.kubeconfig.clone(),
        kube_server: cluster.server.clone(),
        kube_audit_log: cluster.audit_log.clone(),
        reused_dev_cluster: reused,
    })
}

/// The `fake-kubelet` a private cluster runs, next to this test binary. It is package
/// `kubently-fake-kubelet`'s binary, and for an integration test cargo builds only the tested
/// package's binaries; so when cargo runs the tests (`$CARGO` is set), cargo is first asked to bring
/// it up to date, as it did when the fake kubelet was a binary of this package. The build uses this
/// test binary's target dir and profile, and selects `kubently-tests` too, so dependencies resolve
/// with the features this test build already compiled: at most the one binary is built.
fn fake_kubelet_bin() -> anyhow::Result<PathBuf> {
    let bin = paths::sibling_bin("fake-kubelet");
    let Some(cargo) = std::env::var_os("CARGO") else { return Ok(bin) };
    let Some(profile_dir) = bin.parent() else { return Ok(bin) };
    let Some(target_dir) = profile_dir.parent() else { return Ok(bin) };
    let mut cmd = std::process::Command::new(cargo);
    // Without the variables cargo sets for the test process (CARGO_MANIFEST_DIR, CARGO_PKG_*, …):
    // build scripts that watch one (ring watches CARGO_MANIFEST_DIR) would otherwise see it change
    // and rebuild, here and again in the next cargo run from a shell.
    for (key, _) in std::env::vars_os() {
        let key_str = key.to_string_lossy();
        if key_str.starts_with("CARGO_PKG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "OUT_DIR",
            ]
            .contains(&key_str.as_ref())
        {
            cmd.env_remove(&key);
        }
    }
    cmd.args([
        "build",
        "--quiet",
        "-p",
        "kubently-tests",
        "-p",
        "kubently-fake-kubelet",
        "--bin",
        "fake-kubelet",
        "--manifest-path",
    ])
    .arg(paths::repo_root().join("Cargo.toml"))
    .arg("--target-dir")
    .arg(target_dir);
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(profile) => {
            cmd.args(["--profile", profile]);
        }
    }
    let t0 = Instant::now();
    let out = cmd.output().context("running cargo to build fake-kubelet")?;
    anyhow::ensure!(
        out.status.success(),
        "building fake-kubelet (cargo build -p kubently-fake-kubelet) failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    progress(&format!("fake-kubelet is up to date ({:.1}s)", t0.elapsed().as_secs_f64()));
    Ok(bin)
}

/// One test's view of the stack.
pub struct TestContext {
    pub stack: &'static TestStack,
    /// Unique per test: use it in every name the test creates.
    pub id: String,
    /// A client bound to this test's runtime.
    pub kube: kube::Client,
    pub nats: async_nats::Client,
}

impl TestContext {
    pub async fn new() -> Self {
        let stack = stack();
        let id = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
        let kube = client_from(&stack.kubeconfig).await.expect("kube client for the test cluster");
        let nats = stack.connect_as(&stack.root_creds).await;
        Self { stack, id, kube, nats }
    }

    /// `<prefix>-<test id>`: valid as a NATS stream/bucket name, cluster id and namespace.
    pub fn unique(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.id)
    }

    pub fn jetstream(&self) -> async_nats::jetstream::Context {
        async_nats::jetstream::new(self.nats.clone())
    }

    /// `command` as a gateway publishes it: the payload and headers signed with the run's key.
    pub fn signed_command(&self, command: &Command) -> (async_nats::HeaderMap, Bytes) {
        let payload = protocol::encode(command).expect("encode the command");
        let signer = CommandSigner::from_file(&self.stack.bus.signing_key).expect("the run's signing key");
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(HEADER_MSG_ID, command.id.to_string().as_str());
        signer.sign_into(&payload, &mut headers);
        (headers, payload)
    }

    /// Publishes `command` signed on its cluster's subject of `names` and waits for the stream to
    /// store it.
    pub async fn publish_signed(&self, names: &Names, command: &Command) {
        let (headers, payload) = self.signed_command(command);
        self.jetstream()
            .publish_with_headers(names.command_subject(&command.cluster_id), headers, payload)
            .await
            .expect("publish")
            .await
            .expect("the commands stream stores it");
    }

    /// A fresh namespace `t-<id>-<suffix>`, deleted when the guard drops.
    pub async fn namespace(&self, suffix: &str) -> TestNamespace {
        let name = format!("t-{}-{suffix}", self.id);
        let ns: Namespace =
            serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).expect("namespace body");
        Api::<Namespace>::all(self.kube.clone())
            .create(&PostParams::default(), &ns)
            .await
            .expect("create test namespace");
        TestNamespace { name, kubeconfig: self.stack.kubeconfig.clone() }
    }
}

/// A namespace owned by one test.
pub struct TestNamespace {
    pub name: String,
    kubeconfig: PathBuf,
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        // A test's runtime (and clients bound to it) may be shutting down: delete from a fresh one.
        let (name, kubeconfig) = (self.name.clone(), self.kubeconfig.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let client = client_from(&kubeconfig).await.ok()?;
                Api::<Namespace>::all(client).delete(&name, &DeleteParams::background()).await.ok()
            })
        })
        .join();
    }
}
