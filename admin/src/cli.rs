//! `kubently-admin`: set up the bus's trust, add and revoke clusters, make signing keys.
//!
//! ```text
//! kubently-admin init           --dir D [--host H]... [--cluster C]...   trust, bus TLS, signing key, creds, nats-server.conf
//! kubently-admin add-cluster    --dir D --cluster C [--format secret|creds] [--namespace N] [--prefix P]
//! kubently-admin leaf           --dir D --cluster C --hub URL... --out OUT [--prefix P]
//! kubently-admin revoke-cluster --dir D --cluster C --nats-url U
//! kubently-admin signing-key    --out F
//! kubently-admin impersonation-rbac --user U [--user U]... [--group G]... [--user-prefix P] [--group-prefix P]
//!                                   [--namespace NS] [--service-account SA] [--name N]
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine;
use kubently_shared::names::Names;
use kubently_shared::signing::{CommandSigner, generate_seed};

use crate::impersonation::RbacSpec;
use crate::tls::BusTls;
use crate::trust::Trust;
use crate::write_private;

/// Where deploy/hub's NATS pods see the kubently-nats-bus Secret (their nats.conf, in /etc/nats,
/// includes `../nats-bus/nats-auth.conf`).
pub const HUB_NATS_DIR: &str = "/etc/nats-bus";
/// Where deploy/hub's NATS pods keep the account JWTs they resolve (on their volume).
pub const HUB_RESOLVER_DIR: &str = "/data/accounts";

const USAGE: &str = "usage:
  kubently-admin init           --dir DIR [--host HOST]... [--cluster ID]...
                                set up the bus trust, TLS, signing key, gateway/admin credentials, nats-server.conf,
                                and executor credentials for each --cluster (DIR/clusters/ID.creds)
  kubently-admin add-cluster    --dir DIR --cluster ID [--format secret|creds] [--namespace NS] [--prefix P]
  kubently-admin hub            --dir DIR --out OUT [--prefix P]
                                the hub's secret files for deploy/hub (NATS: nats-auth.conf, operator.jwt,
                                server.crt, server.key, ca.crt; gateway: gateway.creds, ca.crt, signing.key)
  kubently-admin leaf           --dir DIR --cluster ID --hub URL... --out OUT [--prefix P]
                                the files of a leaf node for edge cluster ID's executors (OUT/leaf-auth.conf:
                                operator mode, TLS, the remote to the hub's leafnode port with OUT/leaf.creds);
                                run nats/leaf.conf with it appended; the hub includes nats-leafnodes.conf
  kubently-admin revoke-cluster --dir DIR --cluster ID --nats-url URL [--keep-newest N]
                                revoke the cluster's credentials (all but the N issued last: rotation)
  kubently-admin signing-key    --out FILE
  kubently-admin impersonation-rbac --user USER [--user USER]... [--group GROUP]...
                                [--user-prefix kubently:] [--group-prefix kubently:]
                                [--namespace kubently] [--service-account kubently-executor]
                                [--name kubently-executor-impersonate]
                                print the ClusterRole (+ binding to the executor's ServiceAccount) that lets
                                an executor with [impersonation] enabled run commands as these callers";

/// Runs `kubently-admin` with `args` (without the program name).
pub async fn run(args: Vec<String>) -> anyhow::Result<()> {
    let Some((command, rest)) = args.split_first() else { bail!("{USAGE}") };
    let flags = Flags::parse(rest)?;
    match command.as_str() {
        "init" => {
            let dir = flags.path("dir")?;
            let hosts = flags.all("host");
            let hosts = if hosts.is_empty() { vec!["127.0.0.1", "localhost"] } else { hosts };
            let names = Names::from_prefix(flags.get("prefix"))?;
            let setup = Setup::create(&dir, &hosts, &names)?;
            let trust = setup.trust()?;
            for cluster in flags.all("cluster") {
                let path = dir.join("clusters").join(format!("{cluster}.creds"));
                trust.issue_executor(&names, cluster)?.write(&path)?;
                println!("executor credentials of cluster {cluster}: {}", path.display());
            }
            println!("{}", setup.summary());
        }
        "add-cluster" => {
            let dir = flags.path("dir")?;
            let cluster = flags.required("cluster")?;
            let names = Names::from_prefix(flags.get("prefix"))?;
            let setup = Setup::load(&dir)?;
            let creds = setup.trust()?.issue_executor(&names, cluster)?;
            match flags.get("format").unwrap_or("secret") {
                "creds" => print!("{}", creds.file_text()),
                "secret" => print!(
                    "{}",
                    secret_manifest(
                        flags.get("namespace").unwrap_or("kubently"),
                        &creds.file_text(),
                        &std::fs::read_to_string(&setup.tls.ca_cert)?,
                        &setup.public_key()?,
                    )
                ),
                other => bail!("--format must be `secret` or `creds`, got {other:?}"),
            }
            eprintln!("issued NATS credentials for cluster {cluster} (user {})", creds.public_key);
        }
        "hub" => {
            let dir = flags.path("dir")?;
            let out = flags.path("out")?;
            let setup = Setup::load(&dir)?;
            setup.hub_files(&out, &Names::from_prefix(flags.get("prefix"))?)?;
            println!(
                "the hub's secret files are in {}: point deploy/hub's kubently-nats-bus and \
                 kubently-gateway-bus secretGenerators at them (README, Deploying)",
                out.display()
            );
        }
        "leaf" => {
            let dir = flags.path("dir")?;
            let out = flags.path("out")?;
            let cluster = flags.required("cluster")?;
            let hubs: Vec<String> = flags.all("hub").into_iter().map(String::from).collect();
            let setup = Setup::load(&dir)?;
            let leaf = setup.leaf_files(&out, &Names::from_prefix(flags.get("prefix"))?, cluster, &hubs)?;
            println!(
                "leaf node of cluster {cluster}: cat nats/leaf.conf {auth} > leaf.conf && nats-server -c leaf.conf\n\
                 its executors connect to it with their own credentials (kubently-admin add-cluster); the hub \
                 must include {listener}",
                auth = leaf.auth_config.display(),
                listener = setup.nats_leafnodes.display(),
            );
        }
        "revoke-cluster" => {
            let dir = flags.path("dir")?;
            let cluster = flags.required("cluster")?;
            let url = flags.required("nats-url")?;
            let setup = Setup::load(&dir)?;
            let mut trust = setup.trust()?;
            let keep =
                flags.get("keep-newest").map(str::parse::<usize>).transpose().context("--keep-newest")?;
            let revoked = trust.revoke_cluster(cluster, keep.unwrap_or(0))?;
            let system = setup.connect_system(url).await?;
            trust.push_account(&system).await?;
            eprintln!(
                "revoked {revoked} credential(s) of cluster {cluster}; connections using them are closed"
            );
        }
        "signing-key" => {
            let out = flags.path("out")?;
            write_private(&out, &generate_seed())?;
            println!("{}", CommandSigner::from_file(&out)?.public_key());
        }
        "impersonation-rbac" => {
            let defaults = RbacSpec::default();
            let or = |flag: &str, default: &str| flags.get(flag).unwrap_or(default).to_string();
            let spec = RbacSpec {
                user_prefix: or("user-prefix", &defaults.user_prefix),
                // Each defaults to the executor's default, as the executor's settings do.
                group_prefix: or("group-prefix", &defaults.group_prefix),
                users: flags.all("user").into_iter().map(String::from).collect(),
                groups: flags.all("group").into_iter().map(String::from).collect(),
                namespace: or("namespace", &defaults.namespace),
                service_account: or("service-account", &defaults.service_account),
                name: or("name", &defaults.name),
            };
            print!("{}", spec.manifests()?);
        }
        other => bail!("unknown command {other:?}\n{USAGE}"),
    }
    Ok(())
}

/// Everything `init` makes, in one directory.
#[derive(Debug, Clone)]
pub struct Setup {
    pub dir: PathBuf,
    pub tls: BusTls,
    pub signing_key: PathBuf,
    pub gateway_creds: PathBuf,
    pub admin_creds: PathBuf,
    /// The nats-server configuration block: operator mode with this trust, and TLS.
    pub nats_config: PathBuf,
    /// The same without TLS (the fault-injection suite, whose proxies read the NATS protocol).
    pub nats_config_plain: PathBuf,
    /// Mutual TLS between the nodes of a local cluster (appended after a node's config; see
    /// [`BusTls::route_config`]).
    pub nats_route_tls: PathBuf,
    /// A complete nats-server configuration: Kubently's settings and `include nats-auth.conf`
    /// (`nats-server -c DIR/nats-server.conf -js -sd STORE`).
    pub nats_server_config: PathBuf,
    /// The gateway's public signing key, for executors' `signing.trusted_keys_file`.
    pub trusted_keys: PathBuf,
    /// The hub's `leafnodes {}` listener (TLS) for edge leaf nodes, on 127.0.0.1:7422; include it
    /// in the hub's configuration to accept them (change `listen` for a real hub).
    pub nats_leafnodes: PathBuf,
}

/// What [`Setup::leaf_files`] wrote.
#[derive(Debug, Clone)]
pub struct LeafFiles {
    /// Append to `nats/leaf.conf`: operator mode, TLS for the executors, the remote to the hub.
    pub auth_config: PathBuf,
    /// The leaf's credentials for its link to the hub.
    pub creds: PathBuf,
}

/// The hub's default leafnode listener (`nats-leafnodes.conf`).
pub const LEAFNODE_LISTEN: &str = "127.0.0.1:7422";

impl Setup {
    fn paths(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            tls: BusTls {
                ca_cert: dir.join("tls/ca.crt"),
                server_cert: dir.join("tls/server.crt"),
                server_key: dir.join("tls/server.key"),
            },
            signing_key: dir.join("signing.key"),
            gateway_creds: dir.join("gateway.creds"),
            admin_creds: dir.join("admin.creds"),
            nats_config: dir.join("nats-auth.conf"),
            nats_config_plain: dir.join("nats-auth-plain.conf"),
            nats_route_tls: dir.join("nats-route-tls.conf"),
            nats_server_config: dir.join("nats-server.conf"),
            trusted_keys: dir.join("trusted-signing-keys"),
            nats_leafnodes: dir.join("nats-leafnodes.conf"),
        }
    }

    /// Creates whatever is missing in `dir` (a second run keeps the existing trust and keys).
    /// The gateway's credentials are scoped to `names`' installation.
    pub fn create(dir: &Path, hosts: &[&str], names: &Names) -> anyhow::Result<Self> {
        // Absolute: the paths end up in nats-server's configuration.
        std::fs::create_dir_all(dir)?;
        let dir = &std::fs::canonicalize(dir)?;
        let setup = Self::paths(dir);
        let trust = Trust::load_or_create(&dir.join("trust"))?;
        BusTls::load_or_create(&dir.join("tls"), hosts)?;
        if !setup.signing_key.exists() {
            write_private(&setup.signing_key, &generate_seed())?;
        }
        trust.gateway(names)?.write(&setup.gateway_creds)?;
        trust.system_user()?.write(&setup.admin_creds)?;
        let auth = trust.server_config(&dir.join("nats-accounts"))?;
        write_private(&setup.nats_config, &format!("{auth}\n{}", setup.tls.server_config()))?;
        write_private(&setup.nats_config_plain, &auth)?;
        write_private(&setup.nats_route_tls, &setup.tls.route_config())?;
        write_private(
            &setup.nats_server_config,
            "# Kubently's NATS: results (pod logs, large manifests) exceed the 1 MB default payload.\n\
             max_payload: 8MB\n\
             # Operator-mode authentication and TLS (kubently-admin init).\n\
             include \"nats-auth.conf\"\n",
        )?;
        write_private(&setup.trusted_keys, &format!("{}\n", setup.public_key()?))?;
        write_private(&setup.nats_leafnodes, &setup.leafnode_hub_config(LEAFNODE_LISTEN)?)?;
        Ok(setup)
    }

    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let setup = Self::paths(dir);
        for path in [&setup.tls.ca_cert, &setup.signing_key, &setup.admin_creds] {
            if !path.exists() {
                bail!(
                    "{} is missing: run `kubently-admin init --dir {}` first",
                    path.display(),
                    dir.display()
                );
            }
        }
        Ok(setup)
    }

    /// The chain of trust.
    pub fn trust(&self) -> anyhow::Result<Trust> {
        Ok(Trust::load(&self.dir.join("trust"))?)
    }

    /// The settings (as `KUBENTLY__*` variables) of a gateway of `names`' installation: its own
    /// scoped credentials (written into this directory), the bus CA and the signing key.
    pub fn gateway_env(&self, names: &Names) -> anyhow::Result<Vec<(&'static str, String)>> {
        let creds =
            self.dir.join("creds").join(format!("gateway-{}.creds", names.prefix().unwrap_or("default")));
        self.trust()?.gateway(names)?.write(&creds)?;
        Ok(vec![
            ("KUBENTLY__NATS__CREDENTIALS_FILE", creds.display().to_string()),
            ("KUBENTLY__NATS__TLS_CA_FILE", self.tls.ca_cert.display().to_string()),
            ("KUBENTLY__SIGNING__KEY_FILE", self.signing_key.display().to_string()),
        ])
    }

    /// The settings of an executor of `cluster_id` in `names`' installation: credentials issued
    /// to that cluster, the bus CA and the trusted signing key.
    pub fn executor_env(
        &self,
        names: &Names,
        cluster_id: &str,
    ) -> anyhow::Result<Vec<(&'static str, String)>> {
        let creds = self
            .dir
            .join("creds")
            .join(format!("executor-{}-{cluster_id}.creds", names.prefix().unwrap_or("default")));
        self.trust()?.issue_executor(names, cluster_id)?.write(&creds)?;
        Ok(vec![
            ("KUBENTLY__NATS__CREDENTIALS_FILE", creds.display().to_string()),
            ("KUBENTLY__NATS__TLS_CA_FILE", self.tls.ca_cert.display().to_string()),
            ("KUBENTLY__SIGNING__TRUSTED_KEYS", self.public_key()?),
        ])
    }

    /// Unrestricted credentials of the Kubently account (developer tools only), made once.
    pub fn root_creds(&self) -> anyhow::Result<PathBuf> {
        let path = self.dir.join("root.creds");
        if !path.exists() {
            self.trust()?.user("kubently-tools", None)?.write(&path)?;
        }
        Ok(path)
    }

    /// A connection with [`Self::root_creds`] (developer tools: the bench, the chaos suite).
    pub async fn connect_root(&self, url: &str) -> anyhow::Result<async_nats::Client> {
        let seeds: Vec<&str> = url.split(',').collect();
        async_nats::ConnectOptions::with_credentials_file(self.root_creds()?)
            .await?
            .add_root_certificates(self.tls.ca_cert.clone())
            .require_tls(true)
            .connect(seeds)
            .await
            .with_context(|| format!("connecting to {url}"))
    }

    /// The files of deploy/hub's two Secrets, into `out`: for the NATS pods (mounted at
    /// [`HUB_NATS_DIR`], account JWTs resolved into [`HUB_RESOLVER_DIR`] on their volume)
    /// `nats-auth.conf`, `operator.jwt`, `server.crt`, `server.key`, `ca.crt` (the routes verify
    /// each other against it); for the gateways `gateway.creds` (scoped to `names`), `ca.crt`,
    /// `signing.key`.
    pub fn hub_files(&self, out: &Path, names: &Names) -> anyhow::Result<()> {
        let trust = self.trust()?;
        let at = |file: &str| Path::new(HUB_NATS_DIR).join(file);
        let auth = format!(
            "{}\n{}",
            trust.server_config_at(&at("operator.jwt"), Path::new(HUB_RESOLVER_DIR))?,
            BusTls::server_config_at(&at("server.crt"), &at("server.key"))
        );
        write_private(&out.join("nats-auth.conf"), &auth)?;
        write_private(&out.join("operator.jwt"), &trust.operator_jwt()?)?;
        for (from, to) in [
            (&self.tls.server_cert, "server.crt"),
            (&self.tls.server_key, "server.key"),
            (&self.tls.ca_cert, "ca.crt"),
            (&self.signing_key, "signing.key"),
        ] {
            write_private(&out.join(to), &std::fs::read_to_string(from)?)?;
        }
        trust.gateway(names)?.write(&out.join("gateway.creds"))?;
        Ok(())
    }

    /// The hub's side of edge leaf nodes: a `leafnodes {}` listener on `listen` (TLS) and the
    /// Kubently account's JetStream API allowed across leafnode links ([`js_across_leafnodes`]).
    pub fn leafnode_hub_config(&self, listen: &str) -> anyhow::Result<String> {
        Ok(format!(
            "{}\n{}",
            self.tls.leafnode_listener_config(listen),
            js_across_leafnodes(&self.trust()?.account_public_key())
        ))
    }

    /// The files of a leaf node for edge cluster `cluster_id`, into `out`: `leaf-auth.conf`
    /// (operator mode with this trust, TLS for the cluster's executors with the bus server
    /// certificate, and the remote to `hub_urls`, the hub's leafnode listeners), `leaf.creds`
    /// (the link's credentials: [`Trust::issue_leaf`], what the cluster's executors may do and
    /// nothing else), `operator.jwt`, `ca.crt`, `server.crt`, `server.key`.
    pub fn leaf_files(
        &self,
        out: &Path,
        names: &Names,
        cluster_id: &str,
        hub_urls: &[String],
    ) -> anyhow::Result<LeafFiles> {
        if hub_urls.is_empty() {
            bail!("--hub is required: the hub's leafnode URL(s), e.g. tls://hub.example.com:7422");
        }
        for url in hub_urls {
            if !url.starts_with("tls://") {
                bail!("--hub {url:?}: the link runs over TLS, so the URL must start with tls://");
            }
        }
        std::fs::create_dir_all(out)?;
        let out = &std::fs::canonicalize(out)?;
        let trust = self.trust()?;
        let files = LeafFiles { auth_config: out.join("leaf-auth.conf"), creds: out.join("leaf.creds") };
        trust.issue_leaf(names, cluster_id)?.write(&files.creds)?;
        write_private(&out.join("operator.jwt"), &trust.operator_jwt()?)?;
        for (from, to) in [
            (&self.tls.server_cert, "server.crt"),
            (&self.tls.server_key, "server.key"),
            (&self.tls.ca_cert, "ca.crt"),
        ] {
            write_private(&out.join(to), &std::fs::read_to_string(from)?)?;
        }
        let urls: Vec<String> = hub_urls.iter().map(|u| format!("\"{u}\"")).collect();
        let remote = format!(
            "# The link to the hub: its credentials allow what cluster {cluster_id}'s executors may do.\n\
             leafnodes {{\n  remotes = [\n    {{\n      urls: [{urls}]\n      account: \"{account}\"\n      \
             credentials: \"{creds}\"\n      tls {{\n        ca_file: \"{ca}\"\n      }}\n    }}\n  ]\n}}\n",
            urls = urls.join(", "),
            account = trust.account_public_key(),
            creds = files.creds.display(),
            ca = out.join("ca.crt").display(),
        );
        write_private(
            &files.auth_config,
            &format!(
                "{}\n{}\n{}\n{remote}",
                trust.leaf_server_config(&out.join("operator.jwt"))?,
                BusTls::server_config_at(&out.join("server.crt"), &out.join("server.key")),
                js_across_leafnodes(&trust.account_public_key()),
            ),
        )?;
        Ok(files)
    }

    /// The gateway's public signing key (what executors trust).
    pub fn public_key(&self) -> anyhow::Result<String> {
        Ok(CommandSigner::from_file(&self.signing_key)?.public_key().to_string())
    }

    /// A system-account connection (for pushing account updates).
    pub async fn connect_system(&self, url: &str) -> anyhow::Result<async_nats::Client> {
        async_nats::ConnectOptions::with_credentials_file(&self.admin_creds)
            .await?
            .add_root_certificates(self.tls.ca_cert.clone())
            .require_tls(true)
            .connect(url)
            .await
            .with_context(|| format!("connecting to {url} as the system account"))
    }

    fn summary(&self) -> String {
        format!(
            "bus trust, TLS and keys in {dir}\n\
             nats-server: include {nats} (operator mode + TLS) in its configuration\n\
             gateway:     nats.credentials_file = {gw}, nats.tls_ca_file = {ca}, signing.key_file = {key}\n\
             executors:   signing.trusted_keys = {public}; credentials per cluster: kubently-admin add-cluster --dir {dir} --cluster <id>",
            dir = self.dir.display(),
            nats = self.nats_config.display(),
            gw = self.gateway_creds.display(),
            ca = self.tls.ca_cert.display(),
            key = self.signing_key.display(),
            public = self.public_key().unwrap_or_default(),
        )
    }
}

/// nats-server keeps each side's JetStream API to itself on a leafnode link (a deny of
/// `$JS.API.>`, `$KV.>` and `$OBJ.>` both ways, for JetStream domains), unless the account's
/// default JetStream domain is the empty one, set on both sides: then the leaf (which runs no
/// JetStream) passes the executors' JetStream API requests, KV reads and writes to the hub's.
fn js_across_leafnodes(account: &str) -> String {
    format!(
        "# The Kubently account's JetStream API crosses leafnode links: leaf nodes run none, the hub\n\
         # serves it (default domain \"\": no JetStream domains).\n\
         default_js_domain: {{\n  {account}: \"\"\n}}\n"
    )
}

/// The Kubernetes Secret that installs a cluster's bus credentials next to its executor: the
/// `.creds` file, the bus CA, and the gateway's public signing key.
pub fn secret_manifest(namespace: &str, creds: &str, ca: &str, public_key: &str) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: kubently-executor-nats\n  namespace: {namespace}\n\
         type: Opaque\ndata:\n  executor.creds: {}\n  ca.crt: {}\n  trusted-signing-keys: {}\n",
        b64(creds),
        b64(ca),
        b64(public_key)
    )
}

struct Flags(HashMap<String, Vec<String>>);

impl Flags {
    fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut flags: HashMap<String, Vec<String>> = HashMap::new();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let Some(name) = arg.strip_prefix("--") else { bail!("unexpected argument {arg:?}\n{USAGE}") };
            let value = it.next().with_context(|| format!("--{name} needs a value"))?;
            flags.entry(name.to_string()).or_default().push(value.clone());
        }
        Ok(Self(flags))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.last()).map(String::as_str)
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.0.get(name).map(|v| v.iter().map(String::as_str).collect()).unwrap_or_default()
    }

    fn required(&self, name: &str) -> anyhow::Result<&str> {
        self.get(name).with_context(|| format!("--{name} is required\n{USAGE}"))
    }

    fn path(&self, name: &str) -> anyhow::Result<PathBuf> {
        self.required(name).map(PathBuf::from)
    }
}
