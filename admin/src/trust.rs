//! The bus's chain of trust, kept in one directory (the admin's; never on a cluster): an operator,
//! the system account (for pushing account updates), and the Kubently account whose signing key
//! issues every user. nats-server is configured with the operator and both account JWTs and
//! resolves accounts itself (`resolver: full`), so:
//!
//! * adding a cluster is signing a user JWT offline: the server checks the chain on connect,
//!   nothing to restart or reload;
//! * revoking one is an account JWT with the user in its `revocations`, signed by the operator and
//!   pushed to the servers over the system account (`$SYS.REQ.CLAIMS.UPDATE`): connections of that
//!   user are closed and new ones refused.
//!
//! Files: `operator.nk`, `system.nk`, `account.nk`, `account-signing.nk` (seeds, mode 0600),
//! `operator.jwt`, `system.jwt`, `account.jwt`, and `issued/<cluster>.keys` (the public keys of
//! the executor credentials issued to each cluster, so they can be revoked by cluster).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kubently_shared::names::Names;
use nkeys::KeyPair;

use crate::jwt::{self, Account, AccountLimits, Claims, Operator, User};
use crate::permissions::{self, Permissions};
use crate::{Error, write_private};

/// The name of the account every Kubently connection uses.
pub const ACCOUNT_NAME: &str = "KUBENTLY";

pub struct Trust {
    dir: PathBuf,
    operator: KeyPair,
    system: KeyPair,
    account: KeyPair,
    account_signer: KeyPair,
    system_jwt: String,
    account_jwt: String,
}

/// A user's credentials: its JWT and nkey seed.
pub struct Credentials {
    pub public_key: String,
    pub jwt: String,
    seed: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("public_key", &self.public_key).finish_non_exhaustive()
    }
}

impl Credentials {
    /// The `.creds` file text (contains the secret seed).
    pub fn file_text(&self) -> String {
        jwt::creds_file(&self.jwt, &self.seed)
    }

    /// Writes the `.creds` file (mode 0600).
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        write_private(path, &self.file_text())
    }
}

impl Trust {
    /// Loads the trust in `dir`, creating it if there is none.
    pub fn load_or_create(dir: &Path) -> Result<Self, Error> {
        if dir.join("account.jwt").exists() { Self::load(dir) } else { Self::create(dir) }
    }

    /// A new operator, system account and Kubently account in `dir`.
    pub fn create(dir: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(dir.join("issued")).map_err(Error::io(dir))?;
        let (operator, system, account, account_signer) =
            (KeyPair::new_operator(), KeyPair::new_account(), KeyPair::new_account(), KeyPair::new_account());
        let operator_jwt = jwt::encode(
            Claims {
                jti: String::new(),
                iat: jwt::now(),
                iss: String::new(),
                name: "kubently".into(),
                sub: operator.public_key(),
                nats: Operator { system_account: system.public_key(), kind: "operator".into(), version: 2 },
            },
            &operator,
        )?;
        let system_jwt =
            account_jwt(&operator, &system, "SYS", AccountLimits::unlimited(false), vec![], BTreeMap::new())?;
        let account_jwt = account_jwt(
            &operator,
            &account,
            ACCOUNT_NAME,
            AccountLimits::unlimited(true),
            vec![account_signer.public_key()],
            BTreeMap::new(),
        )?;
        for (file, key) in [
            ("operator.nk", &operator),
            ("system.nk", &system),
            ("account.nk", &account),
            ("account-signing.nk", &account_signer),
        ] {
            write_private(&dir.join(file), &key.seed().map_err(|e| Error::Key(e.to_string()))?)?;
        }
        for (file, token) in
            [("operator.jwt", &operator_jwt), ("system.jwt", &system_jwt), ("account.jwt", &account_jwt)]
        {
            write_private(&dir.join(file), token)?;
        }
        Self::load(dir)
    }

    pub fn load(dir: &Path) -> Result<Self, Error> {
        let read = |file: &str| -> Result<String, Error> {
            let path = dir.join(file);
            Ok(std::fs::read_to_string(&path).map_err(Error::io(&path))?.trim().to_string())
        };
        let key = |file: &str| -> Result<KeyPair, Error> {
            KeyPair::from_seed(&read(file)?).map_err(|e| Error::Key(format!("{file}: {e}")))
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            operator: key("operator.nk")?,
            system: key("system.nk")?,
            account: key("account.nk")?,
            account_signer: key("account-signing.nk")?,
            system_jwt: read("system.jwt")?,
            account_jwt: read("account.jwt")?,
        })
    }

    /// The operator JWT (public: what servers verify accounts against).
    pub fn operator_jwt(&self) -> Result<String, Error> {
        let path = self.dir.join("operator.jwt");
        std::fs::read_to_string(&path).map_err(Error::io(&path))
    }

    /// The Kubently account's public key.
    pub fn account_public_key(&self) -> String {
        self.account.public_key()
    }

    /// The nats-server configuration that turns on operator mode with this trust: the operator,
    /// the system account, a full resolver keeping account JWTs in `resolver_dir`, preloaded
    /// with both accounts. Anonymous connections are refused.
    pub fn server_config(&self, resolver_dir: &Path) -> Result<String, Error> {
        self.server_config_at(&self.dir.join("operator.jwt"), resolver_dir)
    }

    /// [`Self::server_config`] for a server that sees the operator JWT at `operator_file` (a pod
    /// with the hub's Secret mounted).
    pub fn server_config_at(&self, operator_file: &Path, resolver_dir: &Path) -> Result<String, Error> {
        Ok(format!(
            "# Operator mode (decentralized JWT auth): every connection presents a user JWT issued in\n\
             # the chain below; anonymous connections are refused.\n\
             operator: {operator}\n\
             system_account: {system}\n\
             resolver: {{\n  type: full\n  dir: {dir}\n  allow_delete: false\n  interval: \"2m\"\n  timeout: \"1.9s\"\n}}\n\
             resolver_preload: {{\n  {system}: {system_jwt}\n  {account}: {account_jwt}\n}}\n",
            operator = quoted(&operator_file.display().to_string()),
            system = self.system.public_key(),
            dir = quoted(&resolver_dir.display().to_string()),
            system_jwt = quoted(&self.system_jwt),
            account = self.account.public_key(),
            account_jwt = quoted(&self.account_jwt),
        ))
    }

    /// A user of the Kubently account with `permissions` (`None`: unrestricted, for operators'
    /// tools and tests only).
    pub fn user(&self, name: &str, permissions: Option<&Permissions>) -> Result<Credentials, Error> {
        let key = KeyPair::new_user();
        let (publish, subscribe) =
            permissions.map_or_else(Default::default, |p| (p.publish.clone(), p.subscribe.clone()));
        let claims = Claims {
            jti: String::new(),
            iat: jwt::now(),
            iss: String::new(),
            name: name.into(),
            sub: key.public_key(),
            nats: User::new(publish, subscribe, &self.account.public_key()),
        };
        let token = jwt::encode(claims, &self.account_signer)?;
        Ok(Credentials {
            public_key: key.public_key(),
            jwt: token,
            seed: key.seed().map_err(|e| Error::Key(e.to_string()))?,
        })
    }

    /// The gateway's credentials.
    pub fn gateway(&self, names: &Names) -> Result<Credentials, Error> {
        self.user("kubently-gateway", Some(&permissions::gateway(names)))
    }

    /// New executor credentials for `cluster_id`, recorded so that [`Self::revoke_cluster`] finds them.
    pub fn issue_executor(&self, names: &Names, cluster_id: &str) -> Result<Credentials, Error> {
        kubently_shared::names::validate_cluster_id(cluster_id)
            .map_err(|reason| Error::Invalid { what: "cluster id", reason })?;
        let creds = self.user(
            &format!("kubently-executor-{cluster_id}"),
            Some(&permissions::executor(names, cluster_id)),
        )?;
        self.record_issued(cluster_id, &creds.public_key)?;
        Ok(creds)
    }

    /// New credentials for the leaf node of edge cluster `cluster_id` (its remote to the hub),
    /// recorded with the cluster's executor credentials: revoking the cluster cuts the link too.
    pub fn issue_leaf(&self, names: &Names, cluster_id: &str) -> Result<Credentials, Error> {
        kubently_shared::names::validate_cluster_id(cluster_id)
            .map_err(|reason| Error::Invalid { what: "cluster id", reason })?;
        let creds =
            self.user(&format!("kubently-leaf-{cluster_id}"), Some(&permissions::leaf(names, cluster_id)))?;
        self.record_issued(cluster_id, &creds.public_key)?;
        Ok(creds)
    }

    fn record_issued(&self, cluster_id: &str, public_key: &str) -> Result<(), Error> {
        let path = self.issued_file(cluster_id);
        let mut keys = std::fs::read_to_string(&path).unwrap_or_default();
        keys.push_str(public_key);
        keys.push('\n');
        write_private(&path, &keys)
    }

    /// The configuration of a leaf node in operator mode with this trust: the operator and both
    /// accounts preloaded in a memory resolver (the leaf resolves nothing itself: a new account
    /// JWT, e.g. a revocation, is a new leaf configuration; the hub enforces revocations of the
    /// leaf's own link at once).
    ///
    /// The Kubently account the leaf sees has no JetStream: the hub holds every stream, and a
    /// leaf whose account has JetStream tells the hub so when it connects, and the hub then keeps
    /// the JetStream API to itself (each side would own its own JetStream, a JetStream domain
    /// each). Without it, the executors' JetStream API requests cross the link to the hub.
    pub fn leaf_server_config(&self, operator_file: &Path) -> Result<String, Error> {
        let claims: Claims<Account> = jwt::decode(&self.account_jwt)?;
        let account_jwt = account_jwt(
            &self.operator,
            &self.account,
            ACCOUNT_NAME,
            AccountLimits::unlimited(false),
            claims.nats.signing_keys,
            claims.nats.revocations,
        )?;
        Ok(format!(
            "# Operator mode with the hub's trust: executors connect with their own credentials.\n\
             operator: {operator}\n\
             system_account: {system}\n\
             resolver: MEMORY\n\
             resolver_preload: {{\n  {system}: {system_jwt}\n  {account}: {account_jwt}\n}}\n",
            operator = quoted(&operator_file.display().to_string()),
            system = self.system.public_key(),
            system_jwt = quoted(&self.system_jwt),
            account = self.account.public_key(),
            account_jwt = quoted(&account_jwt),
        ))
    }

    /// A user of the system account (pushes account updates).
    pub fn system_user(&self) -> Result<Credentials, Error> {
        let key = KeyPair::new_user();
        let claims = Claims {
            jti: String::new(),
            iat: jwt::now(),
            iss: String::new(),
            name: "kubently-admin".into(),
            sub: key.public_key(),
            nats: User::new(vec![], vec![], ""),
        };
        let token = jwt::encode(claims, &self.system)?;
        Ok(Credentials {
            public_key: key.public_key(),
            jwt: token,
            seed: key.seed().map_err(|e| Error::Key(e.to_string()))?,
        })
    }

    fn issued_file(&self, cluster_id: &str) -> PathBuf {
        self.dir.join("issued").join(format!("{cluster_id}.keys"))
    }

    /// Revokes the executor credentials issued to `cluster_id` in the stored account JWT (push it
    /// with [`Self::push_account`]), all but the `keep` issued last (a rotation: issue, roll, then
    /// revoke keeping 1). Returns how many keys it revoked.
    pub fn revoke_cluster(&mut self, cluster_id: &str, keep: usize) -> Result<usize, Error> {
        let mut keys: Vec<String> = std::fs::read_to_string(self.issued_file(cluster_id))
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(String::from)
            .collect();
        let kept = keys.split_off(keys.len().saturating_sub(keep));
        if keys.is_empty() {
            return Err(Error::Invalid {
                what: "cluster id",
                reason: format!("no credentials of {cluster_id:?} to revoke (keeping the newest {keep})"),
            });
        }
        self.revoke_users(&keys)?;
        let remaining: String = kept.iter().map(|k| format!("{k}\n")).collect();
        write_private(&self.issued_file(cluster_id), &remaining)?;
        Ok(keys.len())
    }

    /// Revokes users by public key (their JWTs issued up to now) in the stored account JWT.
    pub fn revoke_users(&mut self, public_keys: &[String]) -> Result<(), Error> {
        let claims: Claims<Account> = jwt::decode(&self.account_jwt)?;
        let mut revocations = claims.nats.revocations;
        let now = jwt::now();
        for key in public_keys {
            revocations.insert(key.clone(), now);
        }
        self.account_jwt = account_jwt(
            &self.operator,
            &self.account,
            ACCOUNT_NAME,
            claims.nats.limits,
            claims.nats.signing_keys,
            revocations,
        )?;
        write_private(&self.dir.join("account.jwt"), &self.account_jwt)
    }

    /// Sends the stored account JWT to the servers (`$SYS.REQ.CLAIMS.UPDATE`) over `system`, a
    /// connection with [`Self::system_user`]'s credentials. The full resolver stores it and
    /// shares it with the other servers of the cluster.
    pub async fn push_account(&self, system: &async_nats::Client) -> Result<(), Error> {
        let reply = system
            .request("$SYS.REQ.CLAIMS.UPDATE", self.account_jwt.clone().into())
            .await
            .map_err(|e| Error::Push(e.to_string()))?;
        let answer: serde_json::Value =
            serde_json::from_slice(&reply.payload).map_err(Error::json("the server's answer"))?;
        match answer.get("error") {
            Some(error) => Err(Error::Push(error.to_string())),
            None => Ok(()),
        }
    }
}

fn account_jwt(
    operator: &KeyPair,
    account: &KeyPair,
    name: &str,
    limits: AccountLimits,
    signing_keys: Vec<String>,
    revocations: BTreeMap<String, i64>,
) -> Result<String, Error> {
    jwt::encode(
        Claims {
            jti: String::new(),
            iat: jwt::now(),
            iss: String::new(),
            name: name.into(),
            sub: account.public_key(),
            nats: Account { limits, signing_keys, revocations, kind: "account".into(), version: 2 },
        },
        operator,
    )
}

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
