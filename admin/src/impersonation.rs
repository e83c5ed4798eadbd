//! The RBAC that lets an executor run commands as their callers (`kubently-admin
//! impersonation-rbac`): a ClusterRole allowing `impersonate` on exactly the listed users and
//! groups (prefixed as the executor prefixes them) and on the command and session id extras, and
//! its binding to the executor's ServiceAccount. RBAC's `resourceNames` match whole names, not
//! prefixes, so every caller's user and group is listed; the executor's privilege self-check
//! accepts exactly this rule and refuses wider impersonation.

use kubently_shared::impersonation::{
    self as vocabulary, DEFAULT_PREFIX, EXTRA_KEYS, EXTRAS_API_GROUP, EXTRAS_RESOURCE,
};

use crate::Error;

/// What to write the RBAC for.
#[derive(Debug, Clone)]
pub struct RbacSpec {
    /// The executor's `impersonation.user_prefix`.
    pub user_prefix: String,
    /// The executor's `impersonation.group_prefix`.
    pub group_prefix: String,
    /// Callers' Kubernetes users, without the prefix (the gateway's `kubernetes_user`, or a
    /// token's username claim).
    pub users: Vec<String>,
    /// Callers' Kubernetes groups, without the prefix.
    pub groups: Vec<String>,
    /// The executor's ServiceAccount.
    pub namespace: String,
    pub service_account: String,
    /// The ClusterRole's and ClusterRoleBinding's name.
    pub name: String,
}

impl Default for RbacSpec {
    fn default() -> Self {
        Self {
            user_prefix: DEFAULT_PREFIX.into(),
            group_prefix: DEFAULT_PREFIX.into(),
            users: Vec::new(),
            groups: Vec::new(),
            namespace: "kubently".into(),
            service_account: "kubently-executor".into(),
            name: "kubently-executor-impersonate".into(),
        }
    }
}

impl RbacSpec {
    /// The ClusterRole and ClusterRoleBinding, as YAML for `kubectl apply -f -`.
    pub fn manifests(&self) -> Result<String, Error> {
        let invalid = |what: &'static str| {
            move |e: vocabulary::NameError| Error::Invalid { what, reason: e.to_string() }
        };
        vocabulary::validate_prefix(&self.user_prefix).map_err(invalid("--user-prefix"))?;
        vocabulary::validate_prefix(&self.group_prefix).map_err(invalid("--group-prefix"))?;
        if self.users.is_empty() {
            return Err(Error::Invalid {
                what: "--user",
                reason: "name at least one caller's Kubernetes user (repeat --user for more)".into(),
            });
        }
        let users = prefixed_all(&self.user_prefix, &self.users, "--user")?;
        let groups = prefixed_all(&self.group_prefix, &self.groups, "--group")?;
        for (what, value) in [
            ("--namespace", &self.namespace),
            ("--service-account", &self.service_account),
            ("--name", &self.name),
        ] {
            if !is_dns_label_ish(value) {
                return Err(Error::Invalid {
                    what,
                    reason: format!(
                        "{value:?} is not a Kubernetes object name (lowercase letters, digits, '-' and '.')"
                    ),
                });
            }
        }
        let quoted = |names: &[String]| names.iter().map(|n| json(n)).collect::<Vec<_>>().join(", ");
        let mut rules = format!(
            "  - apiGroups: [\"\"]\n    resources: [users]\n    verbs: [impersonate]\n    resourceNames: [{}]\n",
            quoted(&users)
        );
        if !groups.is_empty() {
            rules.push_str(&format!(
                "  - apiGroups: [\"\"]\n    resources: [groups]\n    verbs: [impersonate]\n    resourceNames: [{}]\n",
                quoted(&groups)
            ));
        }
        let extras: Vec<String> = EXTRA_KEYS.iter().map(|k| format!("{EXTRAS_RESOURCE}/{k}")).collect();
        rules.push_str(&format!(
            "  - apiGroups: [{EXTRAS_API_GROUP}]\n    resources: [{}]\n    verbs: [impersonate]\n",
            extras.join(", ")
        ));
        let labels = "  labels:\n    app.kubernetes.io/name: kubently-executor\n    app.kubernetes.io/part-of: kubently\n";
        Ok(format!(
            "# Lets the Kubently executor run commands as their callers: impersonate exactly these users\n\
             # and groups, and send the command and session ids as extras. The executor's settings:\n\
             #   KUBENTLY__IMPERSONATION__ENABLED=true\n\
             #   KUBENTLY__IMPERSONATION__USER_PREFIX={user_prefix}\n\
             #   KUBENTLY__IMPERSONATION__GROUP_PREFIX={group_prefix}\n\
             # Grant each caller what it may read with (Cluster)RoleBindings to these names.\n\
             apiVersion: rbac.authorization.k8s.io/v1\n\
             kind: ClusterRole\n\
             metadata:\n  name: {name}\n{labels}\
             rules:\n{rules}\
             ---\n\
             apiVersion: rbac.authorization.k8s.io/v1\n\
             kind: ClusterRoleBinding\n\
             metadata:\n  name: {name}\n{labels}\
             roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: {name}\n\
             subjects:\n  - kind: ServiceAccount\n    name: {sa}\n    namespace: {namespace}\n",
            user_prefix = self.user_prefix,
            group_prefix = self.group_prefix,
            name = self.name,
            sa = self.service_account,
            namespace = self.namespace,
        ))
    }
}

/// `prefix` + each name, deduplicated and sorted; a name that cannot be sent is an error naming
/// the flag.
fn prefixed_all(prefix: &str, names: &[String], what: &'static str) -> Result<Vec<String>, Error> {
    let mut out = std::collections::BTreeSet::new();
    for name in names {
        let full = vocabulary::prefixed(prefix, name)
            .map_err(|e| Error::Invalid { what, reason: format!("{name:?}: {e}") })?;
        out.insert(full);
    }
    Ok(out.into_iter().collect())
}

/// A JSON string, which YAML reads as a double-quoted scalar (names hold `:`).
fn json(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// Lowercase letters, digits, `-` and `.`, starting and ending alphanumeric, at most 253.
fn is_dns_label_ish(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 253
        && value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value.ends_with(|c: char| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(users: &[&str], groups: &[&str]) -> RbacSpec {
        RbacSpec {
            users: users.iter().map(|s| s.to_string()).collect(),
            groups: groups.iter().map(|s| s.to_string()).collect(),
            ..RbacSpec::default()
        }
    }

    #[test]
    fn the_rule_names_exactly_the_prefixed_callers() {
        let yaml = spec(&["bob", "alice", "alice"], &["sre"]).manifests().expect("valid");
        assert!(yaml.contains("    resources: [users]\n    verbs: [impersonate]\n    resourceNames: [\"kubently:alice\", \"kubently:bob\"]\n"), "{yaml}");
        assert!(
            yaml.contains(
                "    resources: [groups]\n    verbs: [impersonate]\n    resourceNames: [\"kubently:sre\"]\n"
            ),
            "{yaml}"
        );
        assert!(yaml.contains("  - apiGroups: [authentication.k8s.io]\n    resources: [userextras/kubently-command-id, userextras/kubently-session-id]\n"), "{yaml}");
        assert!(
            yaml.contains(
                "subjects:\n  - kind: ServiceAccount\n    name: kubently-executor\n    namespace: kubently\n"
            ),
            "{yaml}"
        );
        assert_eq!(yaml.matches("\nkind: ClusterRole\n").count(), 1, "{yaml}");
        let no_groups = spec(&["alice"], &[]).manifests().expect("valid");
        assert!(!no_groups.contains("resources: [groups]"), "no groups, no group rule: {no_groups}");
    }

    #[test]
    fn bad_input_is_refused_naming_the_flag() {
        let error = |s: RbacSpec| s.manifests().err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            error(spec(&[], &[])),
            "invalid --user: name at least one caller's Kubernetes user (repeat --user for more)"
        );
        assert_eq!(
            error(RbacSpec { user_prefix: "system:".into(), ..spec(&["a"], &[]) }),
            "invalid --user-prefix: it starts with `system:`, Kubernetes' reserved names (system users and groups)"
        );
        assert!(
            error(spec(&["a"], &["ok", "x\ny"]))
                .starts_with("invalid --group: \"x\\ny\": it holds the control character")
        );
        assert!(
            error(RbacSpec { namespace: "Bad NS".into(), ..spec(&["a"], &[]) })
                .starts_with("invalid --namespace")
        );
    }
}
