//! `rollout` (being written).

use kubently_shared::policy::{RolloutRequest};

use super::discovery::DiscoveryCache;
use super::{EngineError, ExecOptions, Output};

pub(super) async fn run(_client: &kube::Client, _discovery: &DiscoveryCache, _req: &RolloutRequest, _opts: &ExecOptions) -> Result<Output, EngineError> {
    Err(EngineError::Unsupported { verb: "rollout".into() })
}
