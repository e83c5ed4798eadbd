//! `describe` (being written).

use kubently_shared::policy::{DescribeRequest};

use super::discovery::DiscoveryCache;
use super::{EngineError, ExecOptions, Output};

pub(super) async fn run(_client: &kube::Client, _discovery: &DiscoveryCache, _policy: &kubently_shared::policy::PolicyConfig, _req: &DescribeRequest, _opts: &ExecOptions) -> Result<Output, EngineError> {
    Err(EngineError::Unsupported { verb: "describe".into() })
}
