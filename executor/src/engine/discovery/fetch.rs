//! Reading discovery from the API server. One round trip asks `/api` and `/apis` for the
//! aggregated form (`apidiscovery.k8s.io`, 1.26+); a server without it answers the same request
//! with the legacy documents (its `Accept` lists plain JSON last), and then every group version's
//! resource list is read, a few at a time, as kubectl does on 1.20.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIGroupList, APIResourceList, APIVersions};
use kube::core::discovery::v2::{ACCEPT_AGGREGATED_DISCOVERY_V2, APIGroupDiscoveryList};
use serde::de::DeserializeOwned;

use super::ResourceIndex;
use crate::engine::EngineError;
use crate::engine::http::get_text;

/// Group-version documents read concurrently in legacy discovery.
const CONCURRENCY: usize = 8;
const AGGREGATED_KIND: &str = "APIGroupDiscoveryList";

/// Reads the server's discovery into a [`ResourceIndex`]: aggregated when served, legacy otherwise.
pub async fn discover(client: &kube::Client) -> Result<ResourceIndex, EngineError> {
    let (core, apis) = futures::try_join!(
        get_text(client, "/api", ACCEPT_AGGREGATED_DISCOVERY_V2),
        get_text(client, "/apis", ACCEPT_AGGREGATED_DISCOVERY_V2)
    )?;
    if kind_of(&core) == AGGREGATED_KIND && kind_of(&apis) == AGGREGATED_KIND {
        let core: APIGroupDiscoveryList = parse(&core, "/api")?;
        let apis: APIGroupDiscoveryList = parse(&apis, "/apis")?;
        return Ok(ResourceIndex::from_aggregated(&core, &apis));
    }
    let core = if kind_of(&core) == AGGREGATED_KIND {
        get_text(client, "/api", "application/json").await?
    } else {
        core
    };
    let apis = if kind_of(&apis) == AGGREGATED_KIND {
        get_text(client, "/apis", "application/json").await?
    } else {
        apis
    };
    legacy(client, parse(&core, "/api")?, parse(&apis, "/apis")?).await
}

async fn legacy(
    client: &kube::Client,
    core: APIVersions,
    groups: APIGroupList,
) -> Result<ResourceIndex, EngineError> {
    let core_reads: Vec<_> =
        core.versions.iter().map(|v| resource_list(client, format!("/api/{v}"))).collect();
    let core_lists: Vec<APIResourceList> =
        futures::stream::iter(core_reads).buffered(CONCURRENCY).try_collect().await?;
    let group_versions: Vec<String> =
        groups.groups.iter().flat_map(|g| g.versions.iter().map(|v| v.group_version.clone())).collect();
    let group_reads: Vec<_> =
        group_versions.iter().map(|gv| resource_list(client, format!("/apis/{gv}"))).collect();
    let results: Vec<Result<APIResourceList, EngineError>> =
        futures::stream::iter(group_reads).buffered(CONCURRENCY).collect().await;
    let mut lists = Vec::new();
    let mut failed = Vec::new();
    for (gv, result) in group_versions.into_iter().zip(results) {
        match result {
            Ok(list) => lists.push(list),
            Err(e) => {
                // kubectl goes on without a group whose (aggregated) API server is down.
                tracing::warn!(group_version = %gv, error = %e, "discovery of a group version failed");
                failed.push(gv);
            }
        }
    }
    Ok(ResourceIndex::from_legacy(core_lists, &groups, &lists, failed))
}

async fn resource_list(client: &kube::Client, path: String) -> Result<APIResourceList, EngineError> {
    let text = get_text(client, &path, "application/json").await?;
    parse(&text, &path)
}

fn kind_of(text: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Kind {
        #[serde(default)]
        kind: String,
    }
    serde_json::from_str::<Kind>(text).map(|k| k.kind).unwrap_or_default()
}

fn parse<T: DeserializeOwned>(text: &str, path: &str) -> Result<T, EngineError> {
    serde_json::from_str(text).map_err(|e| EngineError::decode(format!("discovery document {path}"), e))
}
