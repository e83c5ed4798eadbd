//! TLS for the bus: a CA and a server certificate for NATS (every client verifies the server
//! against the CA; `nats.tls_ca_file`).

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};

use crate::{Error, write_private};

/// The files of a bus CA and its server certificate.
#[derive(Debug, Clone)]
pub struct BusTls {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl BusTls {
    /// The CA and server certificate in `dir`, generated (for `hosts`: names and IP literals) if
    /// missing.
    pub fn load_or_create(dir: &Path, hosts: &[&str]) -> Result<Self, Error> {
        let tls = Self {
            ca_cert: dir.join("ca.crt"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
        };
        if [&tls.ca_cert, &tls.server_cert, &tls.server_key].iter().all(|p| p.exists()) {
            return Ok(tls);
        }
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let tls_error = |e: rcgen::Error| Error::Tls(e.to_string());
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls_error)?;
        ca_params.distinguished_name.push(DnType::CommonName, "kubently-bus-ca");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(tls_error)?)
            .map_err(tls_error)?;
        let mut params = CertificateParams::new(hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>())
            .map_err(tls_error)?;
        params.distinguished_name.push(DnType::CommonName, "kubently-nats");
        let key = KeyPair::generate().map_err(tls_error)?;
        let cert = params.signed_by(&key, &ca).map_err(tls_error)?;
        write_private(&tls.ca_cert, &ca.pem())?;
        write_private(&tls.server_cert, &cert.pem())?;
        write_private(&tls.server_key, &key.serialize_pem())?;
        Ok(tls)
    }

    /// The nats-server `tls {}` block for client connections.
    pub fn server_config(&self) -> String {
        Self::server_config_at(&self.server_cert, &self.server_key)
    }

    /// A `cluster { tls {} }` block: routes between the nodes of a cluster over mutual TLS (each
    /// node presents the server certificate and verifies the other's against the CA). It replaces
    /// a `cluster` block earlier in the file, so the cluster's name, listen address and routes
    /// must come from the command line (`--cluster_name`, `--cluster`, `--routes`).
    pub fn route_config(&self) -> String {
        format!(
            "# Routes between the nodes over mutual TLS.\n\
             cluster {{\n  tls {{\n    cert_file: \"{}\"\n    key_file: \"{}\"\n    ca_file: \"{}\"\n    verify: true\n    timeout: 2\n  }}\n}}\n",
            self.server_cert.display(),
            self.server_key.display(),
            self.ca_cert.display()
        )
    }

    /// The `tls {}` block for a server that sees its certificate and key at these paths.
    pub fn server_config_at(cert: &Path, key: &Path) -> String {
        format!(
            "# TLS on client connections (clients verify the server against the bus CA).\n\
             tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  timeout: 2\n}}\n",
            cert.display(),
            key.display()
        )
    }

    /// A hub's `leafnodes {}` block: edge leaf nodes connect on `listen` over TLS (they verify the
    /// hub against the bus CA) and authenticate with their own credentials (operator mode).
    pub fn leafnode_listener_config(&self, listen: &str) -> String {
        format!(
            "# Edge leaf nodes (kubently-admin leaf) connect here over TLS with their credentials.\n\
             leafnodes {{\n  listen: \"{listen}\"\n  tls {{\n    cert_file: \"{}\"\n    key_file: \"{}\"\n    timeout: 2\n  }}\n}}\n",
            self.server_cert.display(),
            self.server_key.display()
        )
    }
}
