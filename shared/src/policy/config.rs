//! Operator policy settings: which resources may not be read at all.

use serde::Deserialize;

use super::error::{Location, PolicyError};
use super::resources::{ALL_CATEGORY, canonical_resource, group_of, is_version, plural_of};

/// Policy settings shared by the gateway and the executor (`[policy]` section).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// Resources no command may read, e.g. `["secrets"]`. Any spelling works here (`secret`,
    /// `Secret`, `deployments.apps`); a built-in resource is blocked under every name a caller
    /// could type for it, in any API group. For custom resources write the plural, optionally
    /// group-qualified (`sealedsecrets.bitnami.com`): the gateway catches the plural, the executor
    /// catches every other spelling after discovery ([`PolicyConfig::check_resolved`]). Accepts a
    /// list or a comma-separated string (handy for environment variables).
    #[serde(deserialize_with = "crate::config::list_or_csv")]
    pub restricted_resources: Vec<String>,
}

/// A resource as far as restriction cares: plural name and, when known, API group.
#[derive(Debug, PartialEq, Eq)]
struct Key {
    plural: String,
    /// `None`: any group (for a rule) / not known yet (for a typed token).
    group: Option<String>,
}

impl Key {
    fn matches(&self, typed: &Key) -> bool {
        self.plural == typed.plural
            && match (&self.group, &typed.group) {
                (Some(rule), Some(typed)) => rule == typed,
                _ => true,
            }
    }
}

/// `qualifier` after the plural: `apps`, `v1`, `v1.apps`, `example.com` → the group.
fn group_from_qualifier(qualifier: &str) -> String {
    let (first, rest) = qualifier.split_once('.').unwrap_or((qualifier, ""));
    if is_version(first) { rest.to_owned() } else { qualifier.to_owned() }
}

/// The key of a configured rule. Built-in resources match in any group (conservative).
fn rule_key(entry: &str) -> Option<Key> {
    let lower = entry.trim().to_ascii_lowercase();
    if lower.is_empty() {
        return None;
    }
    if let Some(canonical) = canonical_resource(&lower) {
        return Some(Key { plural: plural_of(canonical).to_owned(), group: None });
    }
    Some(match lower.split_once('.') {
        Some((plural, qualifier)) => {
            Key { plural: plural.to_owned(), group: Some(group_from_qualifier(qualifier)) }
        }
        None => Key { plural: lower, group: None },
    })
}

/// The key of a resource token as a caller typed it. When the token's base names a built-in
/// resource but its qualifier is unknown (`secret.foo`), the group is left open so that the rule
/// still applies.
fn typed_key(token: &str) -> Key {
    let lower = token.to_ascii_lowercase();
    if let Some(canonical) = canonical_resource(&lower) {
        return Key { plural: plural_of(canonical).to_owned(), group: Some(group_of(canonical).to_owned()) };
    }
    match lower.split_once('.') {
        Some((base, qualifier)) => match canonical_resource(base) {
            Some(canonical) => Key { plural: plural_of(canonical).to_owned(), group: None },
            None => Key { plural: base.to_owned(), group: Some(group_from_qualifier(qualifier)) },
        },
        None => Key { plural: lower, group: None },
    }
}

impl PolicyConfig {
    /// The configured rule that forbids `resource` (any spelling a caller can type: plural,
    /// singular, kind, short name, `plural.group`, `plural.version[.group]`), if any. `all`
    /// is forbidden when any member of kubectl's `all` category is.
    pub fn restricted_rule(&self, resource: &str) -> Option<&str> {
        if resource.eq_ignore_ascii_case("all") {
            return ALL_CATEGORY.iter().find_map(|member| self.restricted_rule(member));
        }
        self.rule_matching(&typed_key(resource))
    }

    /// Re-check after discovery: `plural` and `group` as the API server names them (`secrets`,
    /// `""`; `deployments`, `apps`). The executor calls this for every resource it resolved.
    pub fn check_resolved(&self, plural: &str, group: &str) -> Result<(), PolicyError> {
        let key = Key { plural: plural.to_ascii_lowercase(), group: Some(group.to_ascii_lowercase()) };
        match self.rule_matching(&key) {
            None => Ok(()),
            Some(rule) => Err(PolicyError::RestrictedResource {
                resource: if group.is_empty() { plural.to_owned() } else { format!("{plural}.{group}") },
                rule: rule.to_owned(),
                at: Location::ARGS,
            }),
        }
    }

    /// As [`Self::restricted_rule`], as an error located at `at`.
    pub(crate) fn check_typed(&self, resource: &str, at: Location) -> Result<(), PolicyError> {
        match self.restricted_rule(resource) {
            None => Ok(()),
            Some(rule) => Err(PolicyError::RestrictedResource {
                resource: resource.to_owned(),
                rule: rule.to_owned(),
                at,
            }),
        }
    }

    fn rule_matching(&self, key: &Key) -> Option<&str> {
        self.restricted_resources
            .iter()
            .find(|entry| rule_key(entry).is_some_and(|rule| rule.matches(key)))
            .map(|entry| entry.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rules: &[&str]) -> PolicyConfig {
        PolicyConfig { restricted_resources: rules.iter().map(|s| (*s).to_owned()).collect() }
    }

    #[test]
    fn every_spelling_of_a_restricted_builtin_is_caught() {
        let c = config(&["secrets"]);
        for typed in ["secrets", "secret", "Secret", "SECRETS", "secrets.v1", "secret.v1", "secrets.foo.io"] {
            assert_eq!(c.restricted_rule(typed), Some("secrets"), "{typed}");
        }
        for typed in ["pods", "configmaps", "secretstores", "all", "sealedsecrets.bitnami.com"] {
            assert_eq!(c.restricted_rule(typed), None, "{typed}");
        }
    }

    #[test]
    fn rules_may_be_written_in_any_spelling() {
        for rule in ["secret", "Secret", "secrets", " secrets "] {
            assert!(config(&[rule]).restricted_rule("secret").is_some(), "{rule}");
        }
        let c = config(&["deploy"]);
        assert_eq!(c.restricted_rule("deployments.v1.apps"), Some("deploy"));
        assert!(c.check_resolved("deployments", "apps").is_err());
    }

    #[test]
    fn all_is_refused_when_a_member_is_restricted() {
        assert_eq!(config(&["pods"]).restricted_rule("all"), Some("pods"));
        assert_eq!(config(&["secrets", "configmaps"]).restricted_rule("all"), None);
    }

    #[test]
    fn custom_resources_by_plural_and_group() {
        let c = config(&["sealedsecrets.bitnami.com"]);
        // The group is not known yet: refuse conservatively.
        assert!(c.restricted_rule("sealedsecrets").is_some());
        assert!(c.restricted_rule("sealedsecrets.bitnami.com").is_some());
        assert!(c.restricted_rule("sealedsecrets.v1alpha1.bitnami.com").is_some());
        assert!(c.restricted_rule("sealedsecrets.other.io").is_none());
        // The singular or kind only resolves in the executor, which re-checks.
        assert!(c.restricted_rule("sealedsecret").is_none());
        assert!(c.check_resolved("sealedsecrets", "bitnami.com").is_err());
        assert!(c.check_resolved("sealedsecrets", "other.io").is_ok());
    }

    #[test]
    fn check_resolved_names_resource_and_rule() {
        let err = config(&["Secret"]).check_resolved("secrets", "").err();
        let msg = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("`secrets`") && msg.contains("rule `Secret`"), "{msg}");
        assert!(config(&["secrets"]).check_resolved("pods", "").is_ok());
        assert!(PolicyConfig::default().check_resolved("secrets", "").is_ok());
    }

    #[test]
    fn deserializes_from_list_or_csv() -> Result<(), serde_json::Error> {
        let c: PolicyConfig = serde_json::from_str(r#"{"restricted_resources":["secrets","cm"]}"#)?;
        assert_eq!(c, config(&["secrets", "cm"]));
        let c: PolicyConfig = serde_json::from_str(r#"{"restricted_resources":"secrets, configmaps"}"#)?;
        assert_eq!(c, config(&["secrets", "configmaps"]));
        let c: PolicyConfig = serde_json::from_str("{}")?;
        assert_eq!(c, PolicyConfig::default());
        Ok(())
    }
}
