//! `kubectl version` against a server: the executor is not kubectl, so only the server's side.

use super::{EngineError, Output};

pub(super) async fn run(client: &kube::Client) -> Result<Output, EngineError> {
    let info = client.apiserver_version().await?;
    Ok(Output {
        text: format!("Server Version: {}\n", info.git_version),
        kind: Some("Version".into()),
        rows: None,
        ..Output::default()
    })
}
