//! `kubectl api-versions`: every group version the server serves (`apps/v1`, `v1`, …), sorted.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIGroupList, APIVersions};

use super::http::{ACCEPT_JSON, get_text};
use super::{EngineError, Output};

pub(super) async fn run(client: &kube::Client) -> Result<Output, EngineError> {
    let (core, groups) =
        futures::try_join!(get_text(client, "/api", ACCEPT_JSON), get_text(client, "/apis", ACCEPT_JSON))?;
    let core: APIVersions = serde_json::from_str(&core).map_err(|e| EngineError::decode("/api", e))?;
    let groups: APIGroupList = serde_json::from_str(&groups).map_err(|e| EngineError::decode("/apis", e))?;
    Ok(render(&core, &groups))
}

/// One group version per line, sorted as Go sorts strings (so `v1` comes last).
pub fn render(core: &APIVersions, groups: &APIGroupList) -> Output {
    let mut versions: Vec<String> = core.versions.clone();
    versions.extend(groups.groups.iter().flat_map(|g| g.versions.iter().map(|v| v.group_version.clone())));
    versions.sort();
    versions.dedup();
    let rows = Some(versions.len() as u64);
    let text = versions.iter().map(|v| format!("{v}\n")).collect();
    Output { text, kind: Some("APIVersions".into()), rows, ..Output::default() }
}
