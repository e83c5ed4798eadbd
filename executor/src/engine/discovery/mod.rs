//! Discovery: what the API server serves, and resolving what a caller typed (`po`, `Pod`,
//! `deployments.apps`, `cronjobs.v1beta1.batch`) into one resource the way kubectl's REST mapper
//! does.
//!
//! [`ResourceIndex`] is pure data built from discovery documents (legacy `/api` + `/apis/<g>/<v>`
//! on old servers, aggregated `apidiscovery.k8s.io` on new ones; see [`fetch`]); [`DiscoveryCache`]
//! keeps the current index for an [`Engine`](super::Engine) and refreshes it on a miss.

mod cache;
pub mod fetch;

pub use cache::DiscoveryCache;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIGroupList, APIResourceList};
use kube::core::discovery::v2::APIGroupDiscoveryList;

/// kubectl's built-in expansion of `all` when the server publishes no categories.
const LEGACY_ALL: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "replicationcontrollers"),
    ("", "services"),
    ("apps", "statefulsets"),
    ("autoscaling", "horizontalpodautoscalers"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("apps", "daemonsets"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
];

/// One resource (not a subresource) served in one group version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResourceInfo {
    /// `""` for the core group.
    pub group: String,
    pub version: String,
    /// The plural, as in URLs: `pods`, `deployments`.
    pub plural: String,
    /// `pod`; servers before 1.27 leave `singularName` empty, so it falls back to the lowercased kind.
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub verbs: Vec<String>,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Served in the group's preferred version.
    pub preferred: bool,
}

impl ApiResourceInfo {
    /// `v1`, `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// kubectl's lowercased group kind: `pod`, `deployment.apps` (the `-o name` / `kind/name` prefix).
    pub fn kind_prefix(&self) -> String {
        let kind = self.kind.to_lowercase();
        if self.group.is_empty() { kind } else { format!("{kind}.{}", self.group) }
    }

    /// `pods`, `deployments.apps` (what `api-resources -o name` prints).
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() { self.plural.clone() } else { format!("{}.{}", self.plural, self.group) }
    }

    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    fn same_resource(&self, other: &Self) -> bool {
        self.group == other.group && self.plural == other.plural
    }
}

/// A resource name as typed, split the way kubectl's `ParseResourceArg` does.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TypedName {
    /// Lowercased text before the first dot.
    resource: String,
    /// `a.b` → group `b`; `a.v1.b` → group `v1.b` (tried second).
    group: Option<String>,
    /// `a.v1.b` → (v1, b) (tried first).
    version_group: Option<(String, String)>,
}

impl TypedName {
    fn parse(typed: &str) -> Self {
        let lower = typed.trim().to_lowercase();
        let mut parts = lower.splitn(2, '.');
        let resource = parts.next().unwrap_or_default().to_string();
        let group = parts.next().map(str::to_string);
        let version_group = group
            .as_deref()
            .and_then(|rest| rest.split_once('.'))
            .map(|(v, g)| (v.to_string(), g.to_string()));
        Self { resource, group, version_group }
    }
}

/// Everything discovery reported, in kubectl's priority order: the core group first, then the
/// groups in the server's order; inside a group its preferred version first, then the others.
#[derive(Debug, Clone, Default)]
pub struct ResourceIndex {
    resources: Vec<ApiResourceInfo>,
    /// Group versions whose discovery failed (an aggregated API server that is down, …).
    failed: Vec<String>,
}

impl ResourceIndex {
    /// From legacy discovery: `/api/v1`'s resource list (`core`), `/apis`, and each group
    /// version's resource list (any order; failures go to `failed`).
    pub fn from_legacy(
        core: Vec<APIResourceList>,
        groups: &APIGroupList,
        lists: &[APIResourceList],
        failed: Vec<String>,
    ) -> Self {
        let mut resources = Vec::new();
        for (i, list) in core.iter().enumerate() {
            push_list(&mut resources, "", list, i == 0);
        }
        for group in &groups.groups {
            let preferred = group
                .preferred_version
                .as_ref()
                .map(|p| p.version.as_str())
                .or_else(|| group.versions.first().map(|v| v.version.as_str()));
            let mut versions: Vec<&str> = group.versions.iter().map(|v| v.version.as_str()).collect();
            if let Some(p) = preferred {
                versions.sort_by_key(|v| *v != p);
            }
            for version in versions {
                let gv = format!("{}/{version}", group.name);
                if let Some(list) = lists.iter().find(|l| l.group_version == gv) {
                    push_list(&mut resources, &group.name, list, Some(version) == preferred);
                }
            }
        }
        Self { resources, failed }
    }

    /// From aggregated discovery (`/api` and `/apis` as `APIGroupDiscoveryList`): versions come
    /// in preference order already.
    pub fn from_aggregated(core: &APIGroupDiscoveryList, apis: &APIGroupDiscoveryList) -> Self {
        let mut resources = Vec::new();
        for group in core.items.iter().chain(&apis.items) {
            let name = group.metadata.as_ref().and_then(|m| m.name.clone()).unwrap_or_default();
            for (i, version) in group.versions.iter().enumerate() {
                let Some(v) = version.version.as_deref() else { continue };
                for r in &version.resources {
                    let Some(plural) = r.resource.as_deref().filter(|p| !p.contains('/')) else { continue };
                    let kind = r.response_kind.as_ref().and_then(|k| k.kind.clone()).unwrap_or_default();
                    let singular = r
                        .singular_resource
                        .clone()
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| kind.to_lowercase());
                    resources.push(ApiResourceInfo {
                        group: name.clone(),
                        version: v.to_string(),
                        plural: plural.to_string(),
                        singular,
                        kind,
                        namespaced: r.scope.as_deref() == Some("Namespaced"),
                        verbs: r.verbs.clone(),
                        short_names: r.short_names.clone(),
                        categories: r.categories.clone(),
                        preferred: i == 0,
                    });
                }
            }
        }
        Self { resources, failed: Vec::new() }
    }

    /// An index over resources already in priority order (tests, mocks).
    pub fn from_resources(resources: Vec<ApiResourceInfo>) -> Self {
        Self { resources, failed: Vec::new() }
    }

    /// Every resource of every group version, in priority order.
    pub fn all(&self) -> &[ApiResourceInfo] {
        &self.resources
    }

    /// Group versions whose discovery failed.
    pub fn failed_group_versions(&self) -> &[String] {
        &self.failed
    }

    /// One entry per resource: the preferred version's, else the first version serving it
    /// (`cronjobs` → `batch/v1beta1` on 1.20). What `kubectl api-resources` lists.
    pub fn preferred_resources(&self) -> Vec<&ApiResourceInfo> {
        let mut out: Vec<&ApiResourceInfo> = Vec::new();
        for r in &self.resources {
            if !out.iter().any(|o| o.same_resource(r)) {
                out.push(r);
            }
        }
        out
    }

    /// Resolves what the caller typed, as kubectl does: a fully specified `res.version.group`
    /// first, then `res.group`/`res`; within those, plural or singular names before short names
    /// before kinds (case-insensitive), the first in priority order winning.
    pub fn resolve(&self, typed: &str) -> Option<&ApiResourceInfo> {
        let name = TypedName::parse(typed);
        if name.resource.is_empty() {
            return None;
        }
        if let Some((version, group)) = &name.version_group
            && let Some(found) = self.find(&name.resource, |r| r.group == *group && r.version == *version)
        {
            return Some(found);
        }
        match &name.group {
            Some(group) => self.find(&name.resource, |r| r.group == *group),
            None => self.find(&name.resource, |_| true),
        }
    }

    /// The resource a category (`all`, or a CRD's own) expands to, in priority order, one version
    /// each; `None` when no resource claims it. `all` falls back to kubectl's fixed list on servers
    /// that publish no categories.
    pub fn category(&self, name: &str) -> Option<Vec<&ApiResourceInfo>> {
        let name = name.to_lowercase();
        let members: Vec<&ApiResourceInfo> =
            self.preferred_resources().into_iter().filter(|r| r.categories.contains(&name)).collect();
        if !members.is_empty() {
            return Some(members);
        }
        if name == "all" {
            let members: Vec<&ApiResourceInfo> = LEGACY_ALL
                .iter()
                .filter_map(|(g, p)| {
                    self.preferred_resources().into_iter().find(|r| r.group == *g && r.plural == *p)
                })
                .collect();
            return (!members.is_empty()).then_some(members);
        }
        None
    }

    fn find(&self, resource: &str, scope: impl Fn(&ApiResourceInfo) -> bool) -> Option<&ApiResourceInfo> {
        let candidates = || self.resources.iter().filter(|r| scope(r));
        candidates()
            .find(|r| r.plural == resource || r.singular == resource)
            .or_else(|| candidates().find(|r| r.short_names.iter().any(|s| s.eq_ignore_ascii_case(resource))))
            .or_else(|| candidates().find(|r| r.kind.eq_ignore_ascii_case(resource)))
    }
}

/// What kubectl names in "doesn't have a resource type" errors: the text before the first dot.
pub fn reported_name(typed: &str) -> String {
    typed.trim().split('.').next().unwrap_or_default().to_string()
}

fn push_list(out: &mut Vec<ApiResourceInfo>, group: &str, list: &APIResourceList, preferred: bool) {
    let version = list.group_version.rsplit('/').next().unwrap_or_default().to_string();
    for r in list.resources.iter().filter(|r| !r.name.contains('/')) {
        let singular =
            if r.singular_name.is_empty() { r.kind.to_lowercase() } else { r.singular_name.clone() };
        out.push(ApiResourceInfo {
            group: group.to_string(),
            version: r.version.clone().filter(|v| !v.is_empty()).unwrap_or_else(|| version.clone()),
            plural: r.name.clone(),
            singular,
            kind: r.kind.clone(),
            namespaced: r.namespaced,
            verbs: r.verbs.clone(),
            short_names: r.short_names.clone().unwrap_or_default(),
            categories: r.categories.clone().unwrap_or_default(),
            preferred,
        });
    }
}

#[cfg(test)]
mod tests;
