//! `spawn_app` for the command path: a real gateway and real executors in-process, on the run's
//! nats-server and kube cluster, isolated per test by a NATS name prefix and a unique cluster id.
//! Each executor runs on its own runtime thread, so a test can stop it gracefully or kill it
//! (everything it was doing stops at once, its NATS connection drops, nothing is acked).

use std::sync::Arc;
use std::time::Duration;

use kubently_gateway::settings::ApiKeySettings;
use serde_json::Value;
use tokio::sync::oneshot;

use crate::harness::TestContext;

/// Keys every test app accepts (service names are the identities).
pub const AGENT_KEY: &str = "agent-key-0123456789abcdef";
pub const OTHER_KEY: &str = "other-key-0123456789abcdef";
pub const ADMIN_KEY: &str = "admin-key-0123456789abcdef";
/// May only use the cluster `elsewhere`.
pub const SCOPED_KEY: &str = "scoped-key-0123456789abcdef";

pub struct TestApp {
    pub ctx: TestContext,
    pub prefix: String,
    pub cluster_id: String,
    /// The NATS this app's gateways and executors use: the run's server, or a seed list.
    pub nats: NatsTarget,
    pub gateway: GatewayHandle,
    pub http: reqwest::Client,
    /// Changes to the test gateway settings, applied to every gateway this app starts.
    overrides: Option<SettingsOverride>,
}

/// A change to [`gateway_settings`] for one app's gateways.
pub type SettingsOverride = Arc<dyn Fn(&mut kubently_gateway::Settings) + Send + Sync>;

/// A gateway on its own runtime thread, like an executor: [`GatewayHandle::stop`] is a graceful
/// shutdown, [`GatewayHandle::kill`] a crash (every task it runs, webhook deliveries included,
/// stops at once and nothing is acked).
pub struct GatewayHandle {
    pub url: String,
    pub state: std::sync::Arc<kubently_gateway::AppState>,
    stop: Option<oneshot::Sender<()>>,
    kill: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GatewayHandle {
    /// Graceful stop (finishes in-flight requests).
    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.join().await;
    }

    /// Crash-like: drop everything now.
    pub async fn kill(&mut self) {
        if let Some(tx) = self.kill.take() {
            let _ = tx.send(());
        }
        self.join().await;
    }

    async fn join(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

impl Drop for GatewayHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.kill.take() {
            let _ = tx.send(());
        }
    }
}

/// An executor on its own runtime thread.
pub struct ExecutorHandle {
    pub id: String,
    /// Its health endpoints (`/healthz`, `/readyz`), on a free loopback port.
    pub health: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    kill: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ExecutorHandle {
    /// SIGTERM-like: stop fetching, finish in-flight commands, leave the registry.
    pub fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.join();
    }

    /// Crash-like: drop everything now (no ack, no goodbye).
    pub fn kill(mut self) {
        if let Some(tx) = self.kill.take() {
            let _ = tx.send(());
        }
        self.join();
    }

    fn join(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ExecutorHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.kill.take() {
            let _ = tx.send(());
        }
        self.join();
    }
}

/// Where an app's gateways and executors connect.
#[derive(Debug, Clone)]
pub struct NatsTarget {
    /// One URL or a comma-separated seed list (`nats.url`).
    pub url: String,
    /// Stream and bucket replicas.
    pub replicas: usize,
}

/// Executor knobs tests change.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    pub ack_wait_seconds: u64,
    /// Presence heartbeat; the registry forgets the executor after 3 missed beats.
    pub heartbeat_seconds: u64,
    pub concurrency: usize,
    pub restricted_resources: Vec<String>,
    /// The Kubernetes identity: the run's admin kubeconfig unless a test gives another (a
    /// least-privilege ServiceAccount's, see `deploy.rs`).
    pub kubeconfig: Option<std::path::PathBuf>,
    /// `executor.allow_write_identity`. True by default: test executors run with the test
    /// apiserver's admin credential (cluster-admin), which the privilege self-check refuses
    /// otherwise; the tests of the check itself and of the least-privilege role set it false.
    pub allow_write_identity: bool,
    /// `executor.namespaces`: reviewed by the privilege check even when not listable.
    pub namespaces: Vec<String>,
    /// `[impersonation]`: off unless a test runs commands as their callers.
    pub impersonation: kubently_executor::settings::ImpersonationSettings,
}

impl Default for ExecutorOptions {
    fn default() -> Self {
        Self {
            ack_wait_seconds: 30,
            heartbeat_seconds: 1,
            concurrency: 16,
            restricted_resources: Vec::new(),
            kubeconfig: None,
            allow_write_identity: true,
            namespaces: Vec::new(),
            impersonation: Default::default(),
        }
    }
}

impl TestApp {
    /// A gateway for a fresh cluster id on the run's nats-server; no executor yet.
    pub async fn spawn() -> Self {
        let ctx = TestContext::new().await;
        let nats = NatsTarget { url: ctx.stack.nats_url.clone(), replicas: 1 };
        Self::spawn_in(ctx, nats).await
    }

    /// A gateway for a fresh cluster id on another NATS (the 3-node cluster: its seed list and
    /// 3 replicas); no executor yet.
    pub async fn spawn_on(nats: NatsTarget) -> Self {
        Self::spawn_in(TestContext::new().await, nats).await
    }

    /// A gateway whose settings `overrides` changes, for a fresh cluster id; no executor yet.
    pub async fn spawn_with(overrides: SettingsOverride) -> Self {
        let ctx = TestContext::new().await;
        let nats = NatsTarget { url: ctx.stack.nats_url.clone(), replicas: 1 };
        Self::start(ctx, nats, Some(overrides)).await
    }

    async fn spawn_in(ctx: TestContext, nats: NatsTarget) -> Self {
        Self::start(ctx, nats, None).await
    }

    async fn start(ctx: TestContext, nats: NatsTarget, overrides: Option<SettingsOverride>) -> Self {
        let prefix = format!("T{}", ctx.id);
        let cluster_id = ctx.unique("c");
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(90)).build().expect("http client");
        let gateway = start_gateway(&ctx, &prefix, &nats, overrides.as_ref()).await;
        Self { ctx, prefix, cluster_id, nats, gateway, http, overrides }
    }

    /// A gateway plus one connected executor.
    pub async fn spawn_with_executor() -> (Self, ExecutorHandle) {
        let app = Self::spawn().await;
        let executor = app.start_executor("e1", ExecutorOptions::default()).await;
        (app, executor)
    }

    pub fn executor_settings(&self, id: &str, opts: &ExecutorOptions) -> kubently_executor::Settings {
        let mut s = kubently_executor::Settings::default();
        s.executor.cluster_id = self.cluster_id.clone();
        s.executor.id = Some(id.to_string());
        s.executor.concurrency = opts.concurrency;
        s.executor.heartbeat_seconds = opts.heartbeat_seconds;
        s.executor.fast_fetch_ms = 200;
        s.executor.slow_fetch_seconds = 2;
        s.executor.shutdown_grace_seconds = 20;
        s.executor.health_host = "127.0.0.1".into();
        s.executor.health_port = 0;
        s.executor.allow_write_identity = opts.allow_write_identity;
        s.executor.namespaces = opts.namespaces.clone();
        s.impersonation = opts.impersonation.clone();
        s.nats.url = self.nats.url.clone();
        s.nats.replicas = self.nats.replicas;
        s.nats.prefix = Some(self.prefix.clone());
        s.nats.ack_wait_seconds = opts.ack_wait_seconds;
        s.kube.kubeconfig =
            Some(opts.kubeconfig.clone().unwrap_or_else(|| self.ctx.stack.kubeconfig.clone()));
        s.policy.restricted_resources = opts.restricted_resources.clone();
        s.signing.trusted_keys = vec![self.ctx.stack.signing_public_key.clone()];
        s.nats.tls_ca_file = Some(self.ctx.stack.bus.tls.ca_cert.clone());
        s.nats.credentials_file = Some(self.executor_creds(&self.cluster_id));
        s
    }

    /// Fresh NATS credentials for an executor of `cluster_id` in this app's installation.
    pub fn executor_creds(&self, cluster_id: &str) -> std::path::PathBuf {
        let names = kubently_shared::names::Names::with_prefix(&self.prefix).expect("prefix");
        let creds = self.ctx.stack.trust().issue_executor(&names, cluster_id).expect("issue executor creds");
        self.ctx.stack.write_creds(cluster_id, &creds)
    }

    /// Starts an executor and waits until the gateway sees it connected.
    pub async fn start_executor(&self, id: &str, opts: ExecutorOptions) -> ExecutorHandle {
        let settings = self.executor_settings(id, &opts);
        self.run_executor(settings).await
    }

    /// Starts an executor of another cluster of this installation (its own NATS credentials) and
    /// waits until the gateway sees that cluster connected.
    pub async fn start_executor_on(
        &self,
        cluster_id: &str,
        id: &str,
        opts: ExecutorOptions,
    ) -> ExecutorHandle {
        let mut settings = self.executor_settings(id, &opts);
        settings.executor.cluster_id = cluster_id.to_string();
        settings.nats.credentials_file = Some(self.executor_creds(cluster_id));
        self.run_executor(settings).await
    }

    /// Starts an executor with `settings` (see [`Self::executor_settings`]) and waits until the
    /// gateway sees its cluster connected.
    pub async fn start_executor_with(&self, settings: kubently_executor::Settings) -> ExecutorHandle {
        self.run_executor(settings).await
    }

    async fn run_executor(&self, settings: kubently_executor::Settings) -> ExecutorHandle {
        let (id, cluster_id) =
            (settings.executor.id.clone().unwrap_or_default(), settings.executor.cluster_id.clone());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (kill_tx, kill_rx) = oneshot::channel::<()>();
        let (ready_tx, ready_rx) = oneshot::channel::<Result<std::net::SocketAddr, String>>();
        let thread = std::thread::Builder::new()
            .name(format!("executor-{id}"))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("executor runtime");
                rt.block_on(async move {
                    let app = match kubently_executor::Application::build(settings).await {
                        Ok(a) => a,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.to_string()));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(app.health_addr()));
                    tokio::select! {
                        r = app.run_until(async { let _ = stop_rx.await; }) => if let Err(e) = r { tracing::error!(error = %e, "executor failed") },
                        _ = kill_rx => {}
                    }
                });
                rt.shutdown_background();
            })
            .expect("executor thread");
        let health = ready_rx.await.expect("executor thread alive").expect("executor builds");
        let handle =
            ExecutorHandle { id, health, stop: Some(stop_tx), kill: Some(kill_tx), thread: Some(thread) };
        self.wait_cluster_connected(&cluster_id, true).await;
        handle
    }

    /// Waits until the gateway's registry shows the cluster (dis)connected.
    pub async fn wait_connected(&self, connected: bool) {
        self.wait_cluster_connected(&self.cluster_id, connected).await;
    }

    /// Waits until the gateway's registry shows `cluster_id` (dis)connected.
    pub async fn wait_cluster_connected(&self, cluster_id: &str, connected: bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while self.gateway.state.registry.is_connected(cluster_id) != connected {
            assert!(
                tokio::time::Instant::now() < deadline,
                "cluster {cluster_id} never became connected={connected}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the gateway gracefully and starts a new one on the same NATS state.
    pub async fn restart_gateway(&mut self) {
        let new = start_gateway(&self.ctx, &self.prefix, &self.nats, self.overrides.as_ref()).await;
        let mut old = std::mem::replace(&mut self.gateway, new);
        old.stop().await;
    }

    /// Another gateway replica on the same NATS state (same prefix).
    pub async fn start_replica(&self) -> GatewayHandle {
        start_gateway(&self.ctx, &self.prefix, &self.nats, self.overrides.as_ref()).await
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.gateway.url));
        if let Some(k) = key {
            req = req.header("X-API-Key", k);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("gateway reachable");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("response body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.request(reqwest::Method::POST, path, Some(AGENT_KEY), Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.request(reqwest::Method::GET, path, Some(AGENT_KEY), None).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.request(reqwest::Method::DELETE, path, Some(AGENT_KEY), None).await
    }

    /// `POST /debug/execute` of `body` (its `cluster_id` set to this app's) in the background;
    /// resolves to (HTTP status, body). For commands a test faults while they run.
    pub fn execute_in_background(&self, mut body: Value) -> tokio::task::JoinHandle<(u16, Value)> {
        let (http, url) = (self.http.clone(), self.gateway.url.clone());
        body["cluster_id"] = serde_json::json!(self.cluster_id);
        tokio::spawn(async move {
            let resp = http
                .post(format!("{url}/debug/execute"))
                .header("X-API-Key", AGENT_KEY)
                .json(&body)
                .send()
                .await
                .expect("send");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        })
    }

    /// `POST /debug/execute` for this app's cluster.
    pub async fn execute(&self, command_type: &str, args: &[&str], extra: Value) -> (u16, Value) {
        let mut body =
            serde_json::json!({"cluster_id": self.cluster_id, "command_type": command_type, "args": args});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        self.post("/debug/execute", &body).await
    }
}

/// The settings of every test gateway: the run's NATS under the test's prefix, the test keys,
/// loopback webhook targets allowed, and a short retry schedule (three attempts in about 2 s).
pub fn gateway_settings(ctx: &TestContext, prefix: &str) -> kubently_gateway::Settings {
    let mut s = kubently_gateway::Settings::default();
    s.server.port = 0;
    s.nats.url = ctx.stack.nats_url.clone();
    s.nats.prefix = Some(prefix.to_string());
    s.auth.api_keys = vec![format!("agent:{AGENT_KEY}"), format!("other:{OTHER_KEY}")];
    s.auth.keys = vec![
        ApiKeySettings { service: "admin".into(), key: ADMIN_KEY.into(), admin: true, ..Default::default() },
        ApiKeySettings {
            service: "scoped".into(),
            key: SCOPED_KEY.into(),
            clusters: vec!["elsewhere".into()],
            ..Default::default()
        },
    ];
    s.signing.key_file = Some(ctx.stack.bus.signing_key.clone());
    let names = kubently_shared::names::Names::with_prefix(prefix).expect("prefix");
    let creds = ctx.stack.trust().gateway(&names).expect("gateway creds");
    s.nats.credentials_file = Some(ctx.stack.write_creds("gateway", &creds));
    s.nats.tls_ca_file = Some(ctx.stack.bus.tls.ca_cert.clone());
    s.webhooks.allow_loopback = true;
    s.webhooks.retry_schedule_seconds = vec![1, 1];
    s.webhooks.timeout_seconds = 2;
    s
}

async fn start_gateway(
    ctx: &TestContext,
    prefix: &str,
    nats: &NatsTarget,
    overrides: Option<&SettingsOverride>,
) -> GatewayHandle {
    let mut settings = gateway_settings(ctx, prefix);
    if let Some(change) = overrides {
        change(&mut settings);
    }
    settings.nats.url = nats.url.clone();
    settings.nats.replicas = nats.replicas;
    spawn_gateway(settings).await
}

/// Builds and runs a gateway with `settings` on its own runtime thread.
pub async fn spawn_gateway(settings: kubently_gateway::Settings) -> GatewayHandle {
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (kill_tx, kill_rx) = oneshot::channel::<()>();
    let (ready_tx, ready_rx) =
        oneshot::channel::<Result<(String, std::sync::Arc<kubently_gateway::AppState>), String>>();
    let thread = std::thread::Builder::new()
        .name("gateway".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("gateway runtime");
            rt.block_on(async move {
                let app = match kubently_gateway::Application::build(settings).await {
                    Ok(a) => a,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok((format!("http://{}", app.local_addr()), app.state())));
                tokio::select! {
                    r = app.run_until(async { let _ = stop_rx.await; }) => if let Err(e) = r { tracing::error!(error = %e, "gateway failed") },
                    _ = kill_rx => {}
                }
            });
            rt.shutdown_background();
        })
        .expect("gateway thread");
    let (url, state) = ready_rx.await.expect("gateway thread alive").expect("gateway builds");
    GatewayHandle { url, state, stop: Some(stop_tx), kill: Some(kill_tx), thread: Some(thread) }
}

/// An executor as a process of its own (`kubently-test-executor`), so a test can freeze it
/// (SIGSTOP) or kill -9 it; its log (JSON lines) is kept for the test to read.
pub struct ExecutorProcess {
    pub id: String,
    pub daemon: crate::process::Daemon,
    pub log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl ExecutorProcess {
    /// SIGSTOP: the process freezes (no progress acks, no heartbeats) until [`Self::resume`].
    pub fn pause(&self) {
        self.daemon.signal(libc::SIGSTOP);
    }
    pub fn resume(&self) {
        self.daemon.signal(libc::SIGCONT);
    }
    /// kill -9.
    pub fn kill(&self) {
        self.daemon.signal(libc::SIGKILL);
    }
    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ExecutorProcess {
    fn drop(&mut self) {
        self.resume();
        self.kill();
    }
}

impl TestApp {
    /// Starts `bin` (the test binary `kubently-test-executor`: pass
    /// `env!("CARGO_BIN_EXE_kubently-test-executor")`) as executor `id` of this app's cluster and
    /// waits until the gateway sees it connected.
    pub async fn start_executor_process(
        &self,
        bin: &str,
        id: &str,
        opts: ExecutorOptions,
    ) -> ExecutorProcess {
        let s = self.executor_settings(id, &opts);
        let dir = tempfile::Builder::new().prefix("kubently-executor-").tempdir().expect("temp dir");
        let log = dir.path().join(format!("{id}.log"));
        let mut cmd = std::process::Command::new(bin);
        let kubeconfig = s.kube.kubeconfig.as_ref().expect("test executors have a kubeconfig");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .env("KUBENTLY__LOG__FORMAT", "json")
            .env("KUBENTLY__EXECUTOR__CLUSTER_ID", &s.executor.cluster_id)
            .env("KUBENTLY__EXECUTOR__ID", id)
            .env("KUBENTLY__EXECUTOR__CONCURRENCY", s.executor.concurrency.to_string())
            .env("KUBENTLY__EXECUTOR__HEARTBEAT_SECONDS", s.executor.heartbeat_seconds.to_string())
            .env("KUBENTLY__EXECUTOR__FAST_FETCH_MS", s.executor.fast_fetch_ms.to_string())
            .env("KUBENTLY__EXECUTOR__SLOW_FETCH_SECONDS", s.executor.slow_fetch_seconds.to_string())
            .env("KUBENTLY__NATS__URL", &s.nats.url)
            .env("KUBENTLY__NATS__REPLICAS", s.nats.replicas.to_string())
            .env("KUBENTLY__NATS__PREFIX", &self.prefix)
            .env("KUBENTLY__NATS__ACK_WAIT_SECONDS", s.nats.ack_wait_seconds.to_string())
            .env("KUBENTLY__EXECUTOR__HEALTH_PORT", "0")
            .env("KUBENTLY__EXECUTOR__ALLOW_WRITE_IDENTITY", s.executor.allow_write_identity.to_string())
            .env("KUBENTLY__KUBE__KUBECONFIG", kubeconfig)
            .env("KUBENTLY__IMPERSONATION__ENABLED", s.impersonation.enabled.to_string())
            .env("KUBENTLY__IMPERSONATION__USER_PREFIX", &s.impersonation.user_prefix)
            .env("KUBENTLY__IMPERSONATION__GROUP_PREFIX", &s.impersonation.group_prefix)
            .env("KUBENTLY__SIGNING__TRUSTED_KEYS", s.signing.trusted_keys.join(","))
            .env(
                "KUBENTLY__NATS__CREDENTIALS_FILE",
                s.nats.credentials_file.as_ref().expect("executor creds"),
            )
            .env("KUBENTLY__NATS__TLS_CA_FILE", s.nats.tls_ca_file.as_ref().expect("bus CA"));
        let daemon = crate::process::Daemon::spawn(
            &format!("executor {id}"),
            cmd,
            &log,
            crate::process::Lifetime::TiedToTestProcess,
        )
        .expect("start the executor process");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !self.gateway.state.registry.executors(&self.cluster_id).iter().any(|e| e.executor_id == id) {
            assert!(
                tokio::time::Instant::now() < deadline && daemon.is_alive(),
                "executor process {id} never connected: {}",
                daemon.log_tail(30)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        ExecutorProcess { id: id.to_string(), daemon, log, _dir: dir }
    }
}
