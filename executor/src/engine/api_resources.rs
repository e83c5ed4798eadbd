//! `kubectl api-resources`: one line per resource (its preferred version), core group first,
//! then by group and name; `-o wide` adds verbs and categories, `-o name` prints `pods`,
//! `deployments.apps`.

use kubently_shared::policy::{ApiResourcesOutput, ApiResourcesRequest};

use super::discovery::{ApiResourceInfo, ResourceIndex};
use super::{Output, tabwriter};

/// Renders the index as `kubectl api-resources` would (pure; the caller reads discovery).
pub fn render(index: &ResourceIndex, req: &ApiResourcesRequest) -> Output {
    let mut resources: Vec<&ApiResourceInfo> =
        index.preferred_resources().into_iter().filter(|r| selected(r, req)).collect();
    resources.sort_by(|a, b| a.group.cmp(&b.group).then_with(|| a.plural.cmp(&b.plural)));
    let rows = Some(resources.len() as u64);
    let kind = Some("APIResourceList".to_string());
    if req.output == ApiResourcesOutput::Name {
        let text: String = resources.iter().map(|r| format!("{}\n", r.qualified_plural())).collect();
        return Output { text, kind, rows, ..Output::default() };
    }
    let wide = req.output == ApiResourcesOutput::Wide;
    let mut lines = Vec::with_capacity(resources.len() + 1);
    if !req.no_headers {
        let mut header: Vec<String> =
            ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"].map(String::from).to_vec();
        if wide {
            header.extend(["VERBS", "CATEGORIES"].map(String::from));
        }
        lines.push(header);
    }
    for r in resources {
        let mut line = vec![
            r.plural.clone(),
            r.short_names.join(","),
            r.api_version(),
            r.namespaced.to_string(),
            r.kind.clone(),
        ];
        if wide {
            let mut verbs = r.verbs.clone();
            verbs.sort();
            verbs.dedup();
            line.push(verbs.join(","));
            line.push(r.categories.join(","));
        }
        lines.push(line);
    }
    Output { text: tabwriter::align(&lines), kind, rows, ..Output::default() }
}

fn selected(r: &ApiResourceInfo, req: &ApiResourcesRequest) -> bool {
    req.namespaced.is_none_or(|n| r.namespaced == n)
        && req.api_group.as_deref().is_none_or(|g| r.group == g)
        && req
            .verbs
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .all(|v| r.supports(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::discovery::ApiResourceInfo;

    fn resource(group: &str, plural: &str, kind: &str, namespaced: bool, short: &[&str]) -> ApiResourceInfo {
        ApiResourceInfo {
            group: group.into(),
            version: "v1".into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            kind: kind.into(),
            namespaced,
            verbs: vec!["list".into(), "get".into()],
            short_names: short.iter().map(|s| s.to_string()).collect(),
            categories: Vec::new(),
            preferred: true,
        }
    }

    fn request(output: ApiResourcesOutput) -> ApiResourcesRequest {
        ApiResourcesRequest {
            namespaced: None,
            api_group: None,
            verbs: Vec::new(),
            output,
            no_headers: false,
        }
    }

    fn index() -> ResourceIndex {
        ResourceIndex::from_resources(vec![
            resource("apps", "deployments", "Deployment", true, &["deploy"]),
            resource("", "pods", "Pod", true, &["po"]),
            resource("", "nodes", "Node", false, &["no"]),
        ])
    }

    #[test]
    fn table_sorted_core_first() {
        let out = render(&index(), &request(ApiResourcesOutput::Table));
        assert_eq!(
            out.text,
            "NAME          SHORTNAMES   APIVERSION   NAMESPACED   KIND\n\
             nodes         no           v1           false        Node\n\
             pods          po           v1           true         Pod\n\
             deployments   deploy       apps/v1      true         Deployment\n"
        );
        assert_eq!(out.rows, Some(3));
    }

    #[test]
    fn filters_and_names() {
        let mut req = request(ApiResourcesOutput::Name);
        req.namespaced = Some(true);
        assert_eq!(render(&index(), &req).text, "pods\ndeployments.apps\n");
        req.api_group = Some(String::new());
        assert_eq!(render(&index(), &req).text, "pods\n");
        req.verbs = vec!["watch".into()];
        assert_eq!(render(&index(), &req).text, "");
        let mut wide = request(ApiResourcesOutput::Wide);
        wide.no_headers = true;
        wide.api_group = Some("apps".into());
        assert_eq!(
            render(&index(), &wide).text,
            "deployments   deploy   apps/v1   true   Deployment   get,list   \n"
        );
    }
}
