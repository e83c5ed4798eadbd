//! `cluster-info` (being written).

use super::{EngineError, Output};

pub(super) async fn run(_client: &kube::Client) -> Result<Output, EngineError> {
    Err(EngineError::Unsupported { verb: "cluster-info".into() })
}
