//! `completion/complete` for the prompts' and resource templates' arguments:
//!
//! * `cluster` (both prompts) and `cluster_id` (`kubently://clusters/{cluster_id}`): the clusters
//!   this key may use;
//! * `namespace` (`debug_workflow`): the namespaces of the cluster named in the context's
//!   `cluster` argument (or the key's only cluster), from [`crate::app::namespaces`] — the
//!   executor's reported namespaces for a namespace-scoped identity, else a `get namespaces`
//!   remembered for a minute;
//! * free-text arguments (`symptom`, `finding`) and `result_id` (results are not listed): none.
//!
//! Values start with the typed prefix, sorted, at most 100 (`hasMore` says when there were
//! more). An unknown prompt or template, or an argument it does not have, is -32602.

use rmcp::ErrorData;
use rmcp::model::{CompleteRequestParams, CompletionInfo, Reference};

use super::{prompts, resources};
use crate::AppState;
use crate::app::{access, namespaces};
use crate::auth::Caller;

/// What an argument completes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Clusters,
    Namespaces,
    Nothing,
}

fn source_of(reference: &Reference, argument: &str) -> Result<Source, ErrorData> {
    let invalid = |m: String| ErrorData::invalid_params(m, None);
    match reference {
        Reference::Prompt(p) => {
            let def = prompts::definition(&p.name)
                .ok_or_else(|| invalid(format!("no prompt named `{}` to complete", p.name)))?;
            if !def.arguments.iter().any(|a| a.name == argument) {
                let names: Vec<&str> = def.arguments.iter().map(|a| a.name).collect();
                return Err(invalid(format!(
                    "{} has no argument `{argument}`; its arguments are: {}",
                    def.name,
                    names.join(", ")
                )));
            }
            Ok(match argument {
                "cluster" => Source::Clusters,
                "namespace" => Source::Namespaces,
                _ => Source::Nothing,
            })
        }
        Reference::Resource(r) => match (r.uri.as_str(), argument) {
            (resources::CLUSTER_TEMPLATE, "cluster_id") => Ok(Source::Clusters),
            (resources::RESULT_TEMPLATE, "result_id") => Ok(Source::Nothing),
            (resources::CLUSTER_TEMPLATE | resources::RESULT_TEMPLATE, other) => {
                Err(invalid(format!("{} has no argument `{other}`", r.uri)))
            }
            (uri, _) => Err(invalid(format!(
                "no resource template `{uri}` to complete; the templates are {} and {}",
                resources::CLUSTER_TEMPLATE,
                resources::RESULT_TEMPLATE
            ))),
        },
        _ => Err(invalid("unknown reference type".into())),
    }
}

/// The values for `params`, best first.
pub async fn complete(
    state: &AppState,
    caller: &Caller,
    params: &CompleteRequestParams,
) -> Result<CompletionInfo, ErrorData> {
    let prefix = params.argument.value.as_str();
    let candidates = match source_of(&params.r#ref, &params.argument.name)? {
        Source::Nothing => Vec::new(),
        Source::Clusters => access::visible_clusters(state, caller),
        Source::Namespaces => {
            let named = params.context.as_ref().and_then(|c| c.get_argument("cluster")).cloned();
            match named.map(Ok).unwrap_or_else(|| access::only_cluster(state, caller)) {
                Ok(cluster) => match namespaces::names(state, caller, &cluster).await {
                    Ok((names, _)) => names,
                    Err(e) => {
                        tracing::debug!(error = %e, %cluster, "no namespaces to complete");
                        Vec::new()
                    }
                },
                Err(_) => Vec::new(),
            }
        }
    };
    Ok(matching(candidates, prefix))
}

/// The candidates that start with `prefix`, sorted, cut to the protocol's 100.
fn matching(candidates: Vec<String>, prefix: &str) -> CompletionInfo {
    let mut values: Vec<String> = candidates.into_iter().filter(|c| c.starts_with(prefix)).collect();
    values.sort();
    values.dedup();
    let total = values.len();
    values.truncate(CompletionInfo::MAX_VALUES);
    let has_more = total > values.len();
    CompletionInfo::with_pagination(values, u32::try_from(total).ok(), has_more)
        .unwrap_or_else(|_| CompletionInfo::default())
}

#[cfg(test)]
mod tests {
    use rmcp::model::{PromptReference, ResourceTemplateReference};

    use super::*;

    #[test]
    fn candidates_are_filtered_by_prefix_and_capped() {
        let info = matching(vec!["demo-shop".into(), "default".into(), "kube-system".into()], "de");
        assert_eq!(info.values, ["default", "demo-shop"]);
        assert_eq!((info.total, info.has_more), (Some(2), Some(false)));
        let many: Vec<String> = (0..150).map(|i| format!("ns-{i:03}")).collect();
        let info = matching(many, "ns-");
        assert_eq!(info.values.len(), 100);
        assert_eq!((info.total, info.has_more), (Some(150), Some(true)));
    }

    #[test]
    fn each_argument_has_its_source_and_unknown_ones_are_invalid() {
        let prompt = |n: &str| Reference::Prompt(PromptReference::new(n));
        let template = |u: &str| Reference::Resource(ResourceTemplateReference::new(u));
        assert_eq!(source_of(&prompt("debug_workflow"), "cluster").ok(), Some(Source::Clusters));
        assert_eq!(source_of(&prompt("debug_workflow"), "namespace").ok(), Some(Source::Namespaces));
        assert_eq!(source_of(&prompt("debug_workflow"), "symptom").ok(), Some(Source::Nothing));
        assert_eq!(source_of(&prompt("explain_finding"), "cluster").ok(), Some(Source::Clusters));
        assert_eq!(
            source_of(&template(resources::CLUSTER_TEMPLATE), "cluster_id").ok(),
            Some(Source::Clusters)
        );
        assert_eq!(source_of(&template(resources::RESULT_TEMPLATE), "result_id").ok(), Some(Source::Nothing));
        for (reference, arg) in [
            (prompt("test_prompt_with_arguments"), "arg1"),
            (prompt("explain_finding"), "namespace"),
            (template("kubently://other/{x}"), "x"),
            (template(resources::CLUSTER_TEMPLATE), "result_id"),
        ] {
            let e = source_of(&reference, arg).expect_err("invalid");
            assert_eq!(e.code.0, -32602, "{reference:?} {arg}");
        }
    }
}
