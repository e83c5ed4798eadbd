//! `explain` (being written).

use kubently_shared::policy::ExplainRequest;

use super::discovery::DiscoveryCache;
use super::{EngineError, Output};

pub(super) async fn run(_client: &kube::Client, _discovery: &DiscoveryCache, _req: &ExplainRequest) -> Result<Output, EngineError> {
    Err(EngineError::Unsupported { verb: "explain".into() })
}
