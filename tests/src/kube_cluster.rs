//! A real Kubernetes control plane on loopback: etcd, kube-apiserver 1.20 (built by `./dev setup`),
//! kube-controller-manager and kube-scheduler (so Deployments and Jobs create pods), and the fake
//! kubelet (one Node whose pods it drives and whose container logs it serves). The API server
//! writes an audit log ([`AUDIT_POLICY`]) of what service accounts ask, which tests read to see
//! who the API server thought was asking (impersonation).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context;
use k8s_openapi::api::core::v1::{Namespace, Node};
use kube::api::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::paths;
use crate::pki::ClusterPki;
use crate::process::{Daemon, Lifetime, free_port, http_get, wait_until};

/// Name of the fake kubelet's Node.
pub const NODE_NAME: &str = "kubently-node-1";
/// The API server's audit policy: the metadata (who, what, the decision; no bodies) of requests
/// by service accounts, at the end of each request. Executors that tests run under a
/// least-privilege identity authenticate as a ServiceAccount; everything else (the admin
/// credential the control plane and most tests use) is left out, so the log stays small.
pub const AUDIT_POLICY: &str = "apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    userGroups: [\"system:serviceaccounts\"]
  - level: None
";
const SERVICE_CIDR: &str = "10.96.0.0/16";

/// A started (or found running) control plane.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct KubeCluster {
    /// `https://127.0.0.1:<port>`
    pub server: String,
    pub kubeconfig: PathBuf,
    pub kubelet_port: u16,
    pub processes: Vec<Daemon>,
    /// The API server's audit log (JSON lines, [`AUDIT_POLICY`]); None for a cluster started
    /// before the harness wrote one.
    #[serde(default)]
    pub audit_log: Option<PathBuf>,
}

/// Where to put state and how long processes live.
pub struct ClusterOptions<'a> {
    pub dir: &'a Path,
    pub lifetime: Lifetime,
    pub fake_kubelet: PathBuf,
    /// Progress lines ("etcd ready (0.4s)").
    pub progress: &'a (dyn Fn(&str) + Sync),
}

impl KubeCluster {
    pub async fn start(opts: ClusterOptions<'_>) -> anyhow::Result<Self> {
        let bin = paths::k8s_bin_dir();
        for b in ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] {
            paths::require(&bin.join(b), b)?;
        }
        paths::require(&paths::etcd_bin(), "etcd (Debian etcd-server)")?;
        paths::require(&opts.fake_kubelet, "fake-kubelet (cargo build -p kubently-fake-kubelet)")?;
        let dir = opts.dir;
        let logs = dir.join("logs");
        let pki = ClusterPki::load_or_generate(&dir.join("pki"))?;
        let started = std::time::Instant::now();
        let step = |what: &str| (opts.progress)(&format!("{what} ({:.1}s)", started.elapsed().as_secs_f64()));
        let mut processes = Vec::new();

        let (etcd_port, etcd_peer) = (free_port(), free_port());
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let mut etcd = Command::new(paths::etcd_bin());
        etcd.arg("--name=kubently")
            .arg(format!("--data-dir={}", dir.join("etcd").display()))
            .arg(format!("--listen-client-urls={etcd_url}"))
            .arg(format!("--advertise-client-urls={etcd_url}"))
            .arg(format!("--listen-peer-urls=http://127.0.0.1:{etcd_peer}"))
            .arg(format!("--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}"))
            .arg(format!("--initial-cluster=kubently=http://127.0.0.1:{etcd_peer}"))
            .arg("--listen-metrics-urls=")
            .arg("--log-level=warn")
            .arg("--logger=zap");
        let etcd = Daemon::spawn("etcd", etcd, &logs.join("etcd.log"), opts.lifetime)?;
        processes.push(etcd.clone());
        let guard = StopOnError { processes: &mut processes };
        wait_until("etcd", Duration::from_secs(30), Some(&etcd), || async move {
            Ok(http_get(etcd_port, "/health").await?.1.contains("true"))
        })
        .await?;
        step("etcd ready");

        let api_port = free_port();
        let server = format!("https://127.0.0.1:{api_port}");
        let p = |path: &Path| path.display().to_string();
        let audit_policy = dir.join("audit-policy.yaml");
        std::fs::write(&audit_policy, AUDIT_POLICY)
            .with_context(|| format!("writing {}", audit_policy.display()))?;
        let audit_log = logs.join("kube-apiserver-audit.log");
        let mut api = Command::new(bin.join("kube-apiserver"));
        api.arg("--advertise-address=127.0.0.1")
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--secure-port={api_port}"))
            .arg("--insecure-port=0")
            .arg(format!("--etcd-servers={etcd_url}"))
            .arg(format!("--tls-cert-file={}", p(&pki.serving_cert)))
            .arg(format!("--tls-private-key-file={}", p(&pki.serving_key)))
            .arg(format!("--client-ca-file={}", p(&pki.ca_cert)))
            .arg(format!("--token-auth-file={}", p(&pki.token_file)))
            .arg("--authorization-mode=RBAC")
            .arg(format!("--service-account-key-file={}", p(&pki.service_account_pub)))
            .arg(format!("--service-account-signing-key-file={}", p(&pki.service_account_key)))
            .arg("--service-account-issuer=https://kubernetes.default.svc.cluster.local")
            .arg("--api-audiences=https://kubernetes.default.svc.cluster.local")
            .arg(format!("--service-cluster-ip-range={SERVICE_CIDR}"))
            // No service-account token controller credentials are needed without this plugin.
            .arg("--disable-admission-plugins=ServiceAccount")
            // 127.0.0.1 is not a valid Endpoints address; nothing in-cluster dials the apiserver.
            .arg("--endpoint-reconciler-type=none")
            // Never resolve node hostnames: the fake kubelet is reached at its InternalIP.
            .arg("--kubelet-preferred-address-types=InternalIP")
            // The demo's events must outlive a long session (default is 1h).
            .arg("--event-ttl=168h")
            .arg("--allow-privileged=true")
            .arg("--profiling=false")
            .arg(format!("--audit-policy-file={}", p(&audit_policy)))
            .arg(format!("--audit-log-path={}", p(&audit_log)))
            // Rotated at 20 MB, one old file kept.
            .arg("--audit-log-maxsize=20")
            .arg("--audit-log-maxbackup=1")
            .arg(format!("--cert-dir={}", p(&dir.join("apiserver-certs"))));
        let api = Daemon::spawn("kube-apiserver", api, &logs.join("kube-apiserver.log"), opts.lifetime)?;
        guard.processes.push(api.clone());

        let kubeconfig = dir.join("kubeconfig.yaml");
        write_kubeconfig(&kubeconfig, &server, &pki)?;
        let client = client_from(&kubeconfig).await?;
        {
            let client = client.clone();
            wait_until("kube-apiserver", Duration::from_secs(90), Some(&api), move || {
                let client = client.clone();
                async move {
                    let req = http::Request::get("/readyz").body(Vec::new())?;
                    Ok(client.request_text(req).await.map(|t| t.trim() == "ok").unwrap_or(false))
                }
            })
            .await?;
        }
        step("kube-apiserver ready");

        let common = |cmd: &mut Command, port: u16, certs: &str| {
            let kc = p(&kubeconfig);
            cmd.arg(format!("--kubeconfig={kc}"))
                .arg(format!("--authentication-kubeconfig={kc}"))
                .arg(format!("--authorization-kubeconfig={kc}"))
                .arg("--bind-address=127.0.0.1")
                .arg(format!("--secure-port={port}"))
                .arg("--port=0")
                .arg("--leader-elect=false")
                .arg(format!("--cert-dir={}", p(&dir.join(certs))));
        };
        let mut cm = Command::new(bin.join("kube-controller-manager"));
        common(&mut cm, free_port(), "controller-manager-certs");
        cm.arg("--cluster-name=kubently-local")
            .arg(format!("--service-account-private-key-file={}", p(&pki.service_account_key)))
            .arg(format!("--root-ca-file={}", p(&pki.ca_cert)))
            .arg(format!("--service-cluster-ip-range={SERVICE_CIDR}"));
        guard.processes.push(Daemon::spawn(
            "kube-controller-manager",
            cm,
            &logs.join("kube-controller-manager.log"),
            opts.lifetime,
        )?);
        let mut sched = Command::new(bin.join("kube-scheduler"));
        common(&mut sched, free_port(), "scheduler-certs");
        guard.processes.push(Daemon::spawn(
            "kube-scheduler",
            sched,
            &logs.join("kube-scheduler.log"),
            opts.lifetime,
        )?);

        let kubelet_port = free_port();
        let mut kubelet = Command::new(&opts.fake_kubelet);
        kubelet.arg("--kubeconfig").arg(&kubeconfig).args([
            "--node-name",
            NODE_NAME,
            "--port",
            &kubelet_port.to_string(),
        ]);
        let kubelet = Daemon::spawn("fake-kubelet", kubelet, &logs.join("fake-kubelet.log"), opts.lifetime)?;
        guard.processes.push(kubelet.clone());
        wait_node_ready(&client, &kubelet).await?;
        step("fake kubelet's node Ready");

        for d in guard.processes.iter() {
            d.ensure_running()?;
        }
        let processes = guard.disarm();
        Ok(Self { server, kubeconfig, kubelet_port, processes, audit_log: Some(audit_log) })
    }

    /// All processes alive?
    pub fn is_running(&self) -> bool {
        self.processes.iter().all(Daemon::is_alive)
    }

    /// Stops every process, newest first.
    pub fn stop(&self) {
        for d in self.processes.iter().rev() {
            d.stop(Duration::from_secs(5));
        }
    }

    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        client_from(&self.kubeconfig).await
    }
}

/// Stops what was started so far if startup fails half-way.
struct StopOnError<'a> {
    processes: &'a mut Vec<Daemon>,
}

impl StopOnError<'_> {
    fn disarm(self) -> Vec<Daemon> {
        let processes = std::mem::take(self.processes);
        std::mem::forget(self);
        processes
    }
}

impl Drop for StopOnError<'_> {
    fn drop(&mut self) {
        for d in self.processes.iter().rev() {
            d.stop(Duration::from_secs(3));
        }
    }
}

async fn wait_node_ready(client: &kube::Client, kubelet: &Daemon) -> anyhow::Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    wait_until("fake kubelet node", Duration::from_secs(60), Some(kubelet), || {
        let (nodes, namespaces) = (nodes.clone(), namespaces.clone());
        async move {
            let Some(node) = nodes.get_opt(NODE_NAME).await? else { return Ok(false) };
            let ready = node
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            let untainted = node
                .spec
                .and_then(|s| s.taints)
                .unwrap_or_default()
                .iter()
                .all(|t| t.effect != "NoSchedule" && t.effect != "NoExecute");
            // The default namespace exists once the controller-manager's bootstrap has run.
            Ok(ready && untainted && namespaces.get_opt("default").await?.is_some())
        }
    })
    .await
}

/// A kube client for a kubeconfig file.
pub async fn client_from(kubeconfig: &Path) -> anyhow::Result<kube::Client> {
    let kc =
        Kubeconfig::read_from(kubeconfig).with_context(|| format!("reading {}", kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    Ok(kube::Client::try_from(config)?)
}

fn write_kubeconfig(path: &Path, server: &str, pki: &ClusterPki) -> anyhow::Result<()> {
    let yaml = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kubently-local\n  cluster:\n    server: {server}\n    certificate-authority: {ca_path}\n\
contexts:\n- name: kubently-local\n  context:\n    cluster: kubently-local\n    user: kubently-admin\ncurrent-context: kubently-local\n\
users:\n- name: kubently-admin\n  user:\n    token: {token}\n",
        ca_path = pki.ca_cert.display(),
        token = pki.admin_token,
    );
    std::fs::write(path, yaml)?;
    Ok(())
}
