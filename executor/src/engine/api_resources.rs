//! `kubectl api-resources`: one line per resource (its preferred version), core group first,
//! then by group and name; `-o wide` adds verbs and categories, `-o name` prints `pods`,
//! `deployments.apps`.

use kubently_shared::policy::{ApiResourcesOutput, ApiResourcesRequest};

use super::discovery::{ApiResourceInfo, ResourceIndex};
use super::{Output, tabwriter};

/// Renders the index as `kubectl api-resources` would (pure; the caller reads discovery).
pub fn render(index: &ResourceIndex, req: &ApiResourcesRequest) -> Output {
    let mut resources: Vec<&ApiResourceInfo> = index.preferred_resources().into_iter().filter(|r| selected(r, req)).collect();
    resources.sort_by(|a, b| a.group.cmp(&b.group).then_with(|| a.plural.cmp(&b.plural)));
    let rows = Some(resources.len() as u64);
    let kind = Some("APIResourceList".to_string());
    if req.output == ApiResourcesOutput::Name {
        let text: String = resources.iter().map(|r| format!("{}\n", r.qualified_plural())).collect();
        return Output { text, kind, rows };
    }
    let wide = req.output == ApiResourcesOutput::Wide;
    let mut lines = Vec::with_capacity(resources.len() + 1);
    if !req.no_headers {
        let mut header: Vec<String> = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"].map(String::from).to_vec();
        if wide {
            header.extend(["VERBS", "CATEGORIES"].map(String::from));
        }
        lines.push(header);
    }
    for r in resources {
        let mut line = vec![r.plural.clone(), r.short_names.join(","), r.api_version(), r.namespaced.to_string(), r.kind.clone()];
        if wide {
            let mut verbs = r.verbs.clone();
            verbs.sort();
            verbs.dedup();
            line.push(verbs.join(","));
            line.push(r.categories.join(","));
        }
        lines.push(line);
    }
    Output { text: tabwriter::align(&lines), kind, rows }
}

fn selected(r: &ApiResourceInfo, req: &ApiResourcesRequest) -> bool {
    req.namespaced.is_none_or(|n| r.namespaced == n)
        && req.api_group.as_deref().is_none_or(|g| r.group == g)
        && req.verbs.iter().flat_map(|v| v.split(',')).map(str::trim).filter(|v| !v.is_empty()).all(|v| r.supports(v))
}
