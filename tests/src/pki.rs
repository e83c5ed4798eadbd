//! Certificates and keys for the local cluster: a CA, the apiserver's serving certificate
//! (127.0.0.1/localhost), the service-account signing key and a static admin token.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};

pub struct ClusterPki {
    pub ca_cert: PathBuf,
    pub serving_cert: PathBuf,
    pub serving_key: PathBuf,
    pub service_account_key: PathBuf,
    pub service_account_pub: PathBuf,
    pub token_file: PathBuf,
    pub admin_token: String,
}

impl ClusterPki {
    /// Loads the PKI in `dir`, generating whatever is missing (so a restarted dev stack keeps
    /// its kubeconfig valid).
    pub fn load_or_generate(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let pki = Self {
            ca_cert: dir.join("ca.crt"),
            serving_cert: dir.join("apiserver.crt"),
            serving_key: dir.join("apiserver.key"),
            service_account_key: dir.join("sa.key"),
            service_account_pub: dir.join("sa.pub"),
            token_file: dir.join("tokens.csv"),
            admin_token: String::new(),
        };
        let complete = [
            &pki.ca_cert,
            &pki.serving_cert,
            &pki.serving_key,
            &pki.service_account_key,
            &pki.service_account_pub,
            &pki.token_file,
        ]
        .iter()
        .all(|p| p.exists());
        if !complete {
            pki.generate().context("generating cluster certificates")?;
        }
        let tokens = std::fs::read_to_string(&pki.token_file)?;
        let admin_token = tokens.split(',').next().context("token file is empty")?.to_string();
        Ok(Self { admin_token, ..pki })
    }

    fn generate(&self) -> anyhow::Result<()> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.distinguished_name.push(DnType::CommonName, "kubently-local-ca");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

        let sans = [
            "127.0.0.1",
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "10.96.0.1",
        ];
        let mut params = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
        params.distinguished_name.push(DnType::CommonName, "kube-apiserver");
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &ca)?;

        write_private(&self.ca_cert, &ca.pem())?;
        write_private(&self.serving_cert, &cert.pem())?;
        write_private(&self.serving_key, &key.serialize_pem())?;
        let sa = KeyPair::generate()?;
        write_private(&self.service_account_key, &sa.serialize_pem())?;
        write_private(&self.service_account_pub, &sa.public_key_pem())?;
        let token = uuid::Uuid::new_v4().simple().to_string();
        write_private(
            &self.token_file,
            &format!("{token},kubently-admin,kubently-admin,\"system:masters\"\n"),
        )?;
        Ok(())
    }
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().create(true).write(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}
