//! MCP resources, read-only views of what the caller may see:
//!
//! | URI | what |
//! |---|---|
//! | `kubently://clusters` | the clusters this key may use (as `list_clusters` returns them) |
//! | `kubently://clusters/{cluster_id}` | one cluster's status and capabilities: connected, versions, fetch mode, the verbs its executor serves, its read access, each executor |
//! | `kubently://results/{result_id}` | a stored command result (kept an hour): its first page, with how to read the rest |
//!
//! `resources/list` names the clusters list and each cluster the key may use; the two
//! `{…}` forms are templates. A URI that names nothing this key may see (another key's
//! result, a cluster out of its scope, a malformed id) is -32602 with the URI in the error's
//! data, as for an unknown URI.

use rmcp::ErrorData;
use rmcp::model::{Resource, ResourceContents, ResourceTemplate};
use serde_json::json;

use super::tools;
use crate::AppState;
use crate::app::{access, clusters, results};
use crate::auth::Caller;
use crate::error::AppError;
use kubently_shared::protocol::CommandStatus;

pub const CLUSTERS: &str = "kubently://clusters";
pub const CLUSTER_TEMPLATE: &str = "kubently://clusters/{cluster_id}";
pub const RESULT_TEMPLATE: &str = "kubently://results/{result_id}";
const CLUSTER_PREFIX: &str = "kubently://clusters/";
const RESULT_PREFIX: &str = "kubently://results/";
const JSON: &str = "application/json";
const TEXT: &str = "text/plain";

/// What a URI names.
#[derive(Debug, PartialEq, Eq)]
pub enum Target<'a> {
    Clusters,
    Cluster(&'a str),
    Result(&'a str),
}

/// The resource `uri` names, if it names one of Kubently's.
pub fn parse(uri: &str) -> Option<Target<'_>> {
    fn segment(rest: &str) -> Option<&str> {
        (!rest.is_empty() && !rest.contains(['/', '?', '#'])).then_some(rest)
    }
    if uri == CLUSTERS {
        Some(Target::Clusters)
    } else if let Some(rest) = uri.strip_prefix(CLUSTER_PREFIX) {
        segment(rest).map(Target::Cluster)
    } else {
        uri.strip_prefix(RESULT_PREFIX).and_then(segment).map(Target::Result)
    }
}

/// `resources/list`: the clusters list and each cluster the caller may use.
pub fn list(state: &AppState, caller: &Caller) -> Vec<Resource> {
    let mut out = vec![
        Resource::new(CLUSTERS, "clusters")
            .with_title("Clusters")
            .with_description(
                "The clusters this key may use: connected or not, Kubernetes version, read access.",
            )
            .with_mime_type(JSON),
    ];
    out.extend(access::visible_clusters(state, caller).into_iter().map(|id| {
        Resource::new(format!("{CLUSTER_PREFIX}{id}"), format!("cluster {id}"))
            .with_title(format!("Cluster {id}"))
            .with_description(format!(
                "Status and capabilities of cluster {id}: connected, versions, verbs served, read access."
            ))
            .with_mime_type(JSON)
    }));
    out
}

/// `resources/templates/list`.
pub fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new(CLUSTER_TEMPLATE, "cluster")
            .with_title("Cluster status and capabilities")
            .with_description("One cluster's status and capabilities (complete cluster_id for the ids).")
            .with_mime_type(JSON),
        ResourceTemplate::new(RESULT_TEMPLATE, "result")
            .with_title("Stored command result")
            .with_description(
                "A command's stored output by its result_id (kept 1 hour, only for the key that ran it): the first page; page or search the rest with get_command_result.",
            )
            .with_mime_type(TEXT),
    ]
}

fn not_found(uri: &str, why: &str) -> ErrorData {
    ErrorData::invalid_params(format!("Resource not found: {uri} ({why})"), Some(json!({"uri": uri})))
}

fn to_json(uri: &str, value: &impl serde::Serialize) -> Result<ResourceContents, ErrorData> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| ErrorData::internal_error(format!("cannot render {uri}: {e}"), None))?;
    Ok(ResourceContents::text(text, uri).with_mime_type(JSON))
}

/// `resources/read`.
pub async fn read(state: &AppState, caller: &Caller, uri: &str) -> Result<ResourceContents, ErrorData> {
    match parse(uri) {
        None => Err(not_found(
            uri,
            &format!("Kubently's resources are {CLUSTERS}, {CLUSTER_TEMPLATE} and {RESULT_TEMPLATE}"),
        )),
        Some(Target::Clusters) => to_json(uri, &tools::cluster_list(state, caller)),
        Some(Target::Cluster(id)) => match clusters::status(state, caller, id) {
            Ok(status) => to_json(uri, &status),
            Err(_) => Err(not_found(uri, "no such cluster for this key; see kubently://clusters")),
        },
        Some(Target::Result(id)) => {
            let page = results::read(state, caller, id, None, None).await.map_err(|e| match e {
                AppError::NotFound(m) => not_found(uri, &m),
                other => ErrorData::internal_error(other.for_agent(), None),
            })?;
            let mut text = match page.status {
                CommandStatus::Success => page.output,
                status => format!(
                    "command {id}: {status}{}\n{}",
                    page.error.map(|e| format!(": {e}")).unwrap_or_default(),
                    page.output
                ),
            };
            if let Some(next) = page.next_offset {
                text.push_str(&format!(
                    "\n[kubently: {} of {} bytes shown. The rest: get_command_result with result_id {id} and offset {next}; or search it with grep]",
                    next, page.total_bytes
                ));
            }
            Ok(ResourceContents::text(text, uri).with_mime_type(TEXT))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_name_one_resource_or_none() {
        assert_eq!(parse("kubently://clusters"), Some(Target::Clusters));
        assert_eq!(parse("kubently://clusters/local"), Some(Target::Cluster("local")));
        assert_eq!(parse("kubently://results/0e3c"), Some(Target::Result("0e3c")));
        for uri in [
            "kubently://clusters/",
            "kubently://clusters/a/b",
            "kubently://clusters/a?x=1",
            "kubently://results/",
            "kubently://other",
            "test://static-text",
            "",
        ] {
            assert_eq!(parse(uri), None, "{uri}");
        }
    }
}
