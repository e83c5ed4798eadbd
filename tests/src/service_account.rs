//! Running as a ServiceAccount of the test cluster: the token its 1.20 token controller issues,
//! and a kubeconfig with that token (an executor started with it authenticates as
//! `system:serviceaccount:<namespace>:<name>`).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use kube::config::Kubeconfig;

/// The token Secret the 1.20 token controller issues for ServiceAccount `namespace/name`, waited
/// for up to 30 s.
pub async fn token(kube: &kube::Client, namespace: &str, name: &str) -> anyhow::Result<String> {
    let secrets: Api<Secret> = Api::namespaced(kube.clone(), namespace);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let list = secrets
            .list(&ListParams::default().fields("type=kubernetes.io/service-account-token"))
            .await
            .context("listing token Secrets")?;
        let token = list
            .items
            .iter()
            .filter(|s| {
                s.metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get("kubernetes.io/service-account.name"))
                    .is_some_and(|n| n == name)
            })
            .find_map(|s| s.data.as_ref()?.get("token").map(|b| String::from_utf8_lossy(&b.0).to_string()));
        if let Some(t) = token {
            return Ok(t);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the token controller never issued a token for {namespace}/{name}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Writes to `to` the kubeconfig `admin` with every user's credential replaced by `token`.
pub fn write_kubeconfig_with_token(admin: &Path, token: &str, to: &Path) -> anyhow::Result<()> {
    let mut kubeconfig =
        Kubeconfig::read_from(admin).with_context(|| format!("reading {}", admin.display()))?;
    for user in &mut kubeconfig.auth_infos {
        if let Some(auth) = user.auth_info.as_mut() {
            *auth = kube::config::AuthInfo { token: Some(token.to_string().into()), ..Default::default() };
        }
    }
    std::fs::write(to, serde_yaml::to_string(&kubeconfig)?)
        .with_context(|| format!("writing {}", to.display()))
}
