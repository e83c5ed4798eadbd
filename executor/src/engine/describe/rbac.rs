//! kubectl's describers for Role/ClusterRole (`PolicyRule` rows: each rule broken down to one
//! verb per group/resource/name, merged back per group/resource/name, sorted as kubectl sorts
//! them) and RoleBinding/ClusterRoleBinding (the role and the subjects). None prints events.

use std::collections::HashMap;

use serde_json::Value;

use super::writer::{self, Writer, array, s, string_map};

/// A policy rule's lists (`nil` and empty print alike: `[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Rule {
    verbs: Vec<String>,
    api_groups: Vec<String>,
    resources: Vec<String>,
    resource_names: Vec<String>,
    non_resource_urls: Vec<String>,
}

fn strings(v: &Value, pointer: &str) -> Vec<String> {
    array(v, pointer).iter().filter_map(Value::as_str).map(str::to_string).collect()
}

/// Go's `%v` of a `[]string`.
fn list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

impl Rule {
    fn of(v: &Value) -> Self {
        Self {
            verbs: strings(v, "/verbs"),
            api_groups: strings(v, "/apiGroups"),
            resources: strings(v, "/resources"),
            resource_names: strings(v, "/resourceNames"),
            non_resource_urls: strings(v, "/nonResourceURLs"),
        }
    }

    /// The generated `PolicyRule.String()`, which kubectl sorts the rows by.
    fn sort_key(&self) -> String {
        format!(
            "&PolicyRule{{Verbs:{},APIGroups:{},Resources:{},ResourceNames:{},NonResourceURLs:{},}}",
            list(&self.verbs),
            list(&self.api_groups),
            list(&self.resources),
            list(&self.resource_names),
            list(&self.non_resource_urls)
        )
    }

    /// kubectl's `rbac.BreakdownRule`: one rule per group, resource, verb (and name), then one
    /// per non-resource URL and verb.
    fn breakdown(&self) -> Vec<Rule> {
        let mut out = Vec::new();
        for group in &self.api_groups {
            for resource in &self.resources {
                for verb in &self.verbs {
                    let one = |names: Vec<String>| Rule {
                        verbs: vec![verb.clone()],
                        api_groups: vec![group.clone()],
                        resources: vec![resource.clone()],
                        resource_names: names,
                        non_resource_urls: Vec::new(),
                    };
                    if self.resource_names.is_empty() {
                        out.push(one(Vec::new()));
                    } else {
                        out.extend(self.resource_names.iter().map(|n| one(vec![n.clone()])));
                    }
                }
            }
        }
        for url in &self.non_resource_urls {
            for verb in &self.verbs {
                out.push(Rule {
                    verbs: vec![verb.clone()],
                    non_resource_urls: vec![url.clone()],
                    ..Rule::default()
                });
            }
        }
        out
    }

    /// One group, one resource, at most one name, no URLs: kubectl's "simple" rule.
    fn simple_key(&self) -> Option<(String, String, Option<String>)> {
        let simple = self.resource_names.len() <= 1
            && self.non_resource_urls.is_empty()
            && self.api_groups.len() == 1
            && self.resources.len() == 1;
        simple.then(|| {
            (self.api_groups[0].clone(), self.resources[0].clone(), self.resource_names.first().cloned())
        })
    }
}

/// kubectl's `rbac.CompactRules` over the broken-down rules, sorted by `PolicyRule.String()`.
fn compact(rules: &[Value]) -> Vec<Rule> {
    let mut merged: Vec<Rule> = Vec::new();
    let mut simple: HashMap<(String, String, Option<String>), usize> = HashMap::new();
    let mut other = Vec::new();
    for rule in rules.iter().map(Rule::of).flat_map(|r| r.breakdown()) {
        match rule.simple_key() {
            Some(key) => match simple.get(&key) {
                Some(&at) => {
                    for verb in rule.verbs {
                        if !merged[at].verbs.contains(&verb) {
                            merged[at].verbs.push(verb);
                        }
                    }
                }
                None => {
                    simple.insert(key, merged.len());
                    merged.push(rule);
                }
            },
            None => other.push(rule),
        }
    }
    other.extend(merged);
    other.sort_by_cached_key(Rule::sort_key);
    other
}

/// kubectl's `CombineResourceGroup`: `pods`, `deployments.apps`, `deployments.apps/scale`.
fn resource_group(resources: &[String], groups: &[String]) -> String {
    let Some(first) = resources.first() else { return String::new() };
    let (resource, sub) = match first.split_once('/') {
        Some((r, sub)) => (r, Some(sub)),
        None => (first.as_str(), None),
    };
    let mut out = resource.to_string();
    if let Some(group) = groups.first().filter(|g| !g.is_empty()) {
        out.push('.');
        out.push_str(group);
    }
    if let Some(sub) = sub {
        out.push('/');
        out.push_str(sub);
    }
    out
}

/// Role and ClusterRole.
pub fn role(w: &mut Writer, role: &Value) {
    w.line(0, &format!("Name:\t{}", s(role, "/metadata/name")));
    writer::labels_multiline(w, 0, "Labels", &string_map(role, "/metadata/labels"));
    writer::annotations_multiline(w, 0, "Annotations", &string_map(role, "/metadata/annotations"));
    w.line(0, "PolicyRule:");
    w.line(1, "Resources\tNon-Resource URLs\tResource Names\tVerbs");
    w.line(1, "---------\t-----------------\t--------------\t-----");
    for r in compact(array(role, "/rules")) {
        w.line(
            1,
            &format!(
                "{}\t{}\t{}\t{}",
                resource_group(&r.resources, &r.api_groups),
                list(&r.non_resource_urls),
                list(&r.resource_names),
                list(&r.verbs)
            ),
        );
    }
}

/// RoleBinding and ClusterRoleBinding.
pub fn binding(w: &mut Writer, binding: &Value) {
    w.line(0, &format!("Name:\t{}", s(binding, "/metadata/name")));
    writer::labels_multiline(w, 0, "Labels", &string_map(binding, "/metadata/labels"));
    writer::annotations_multiline(w, 0, "Annotations", &string_map(binding, "/metadata/annotations"));
    w.line(0, "Role:");
    w.line(1, &format!("Kind:\t{}", s(binding, "/roleRef/kind")));
    w.line(1, &format!("Name:\t{}", s(binding, "/roleRef/name")));
    w.line(0, "Subjects:");
    w.line(1, "Kind\tName\tNamespace");
    w.line(1, "----\t----\t---------");
    for subject in array(binding, "/subjects") {
        w.line(1, &format!("{}\t{}\t{}", s(subject, "/kind"), s(subject, "/name"), s(subject, "/namespace")));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rules_break_down_merge_and_sort_like_kubectl() {
        let rules = [
            json!({"apiGroups": ["", "apps"], "resources": ["pods", "deployments/scale"], "verbs": ["get", "list"]}),
            json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["watch", "get"]}),
            json!({"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a", "b"], "verbs": ["get"]}),
            json!({"nonResourceURLs": ["/healthz"], "verbs": ["get"]}),
        ];
        let rows: Vec<String> = compact(&rules)
            .iter()
            .map(|r| {
                format!(
                    "{} {} {} {}",
                    resource_group(&r.resources, &r.api_groups),
                    list(&r.non_resource_urls),
                    list(&r.resource_names),
                    list(&r.verbs)
                )
            })
            .collect();
        assert_eq!(
            rows,
            // Sorted as strings: `Verbs:[get list watch]` < `Verbs:[get list]` < `Verbs:[get]`.
            [
                "pods [] [] [get list watch]",
                "deployments/scale [] [] [get list]",
                "deployments.apps/scale [] [] [get list]",
                "pods.apps [] [] [get list]",
                " [/healthz] [] [get]",
                "configmaps [] [a] [get]",
                "configmaps [] [b] [get]",
            ]
        );
    }
}
