//! `events` (being written).

use kubently_shared::policy::{EventsRequest};

use super::discovery::DiscoveryCache;
use super::{EngineError, ExecOptions, Output};

pub(super) async fn run(_client: &kube::Client, _discovery: &DiscoveryCache, _req: &EventsRequest, _opts: &ExecOptions) -> Result<Output, EngineError> {
    Err(EngineError::Unsupported { verb: "events".into() })
}
