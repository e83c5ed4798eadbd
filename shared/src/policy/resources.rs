//! Resource spellings and the plausibility checks for names, namespaces and resource tokens.
//!
//! The alias table covers the built-in kinds so that the policy can recognise every spelling of a
//! restricted resource before anything leaves the gateway. The executor still resolves every
//! resource through discovery and re-checks the result with
//! [`PolicyConfig::check_resolved`](super::PolicyConfig::check_resolved).

use super::error::{Location, PolicyError, preview};

/// Built-in resources: canonical form (plural, `.group` unless core) and the other names kubectl
/// accepts for it (singular = lowercase kind, short names). The plural itself is implied.
const ALIASES: &[(&str, &[&str])] = &[
    ("pods", &["pod", "po"]),
    ("services", &["service", "svc"]),
    ("deployments.apps", &["deployment", "deploy"]),
    ("replicasets.apps", &["replicaset", "rs"]),
    ("statefulsets.apps", &["statefulset", "sts"]),
    ("daemonsets.apps", &["daemonset", "ds"]),
    ("controllerrevisions.apps", &["controllerrevision"]),
    ("jobs.batch", &["job"]),
    ("cronjobs.batch", &["cronjob", "cj"]),
    ("configmaps", &["configmap", "cm"]),
    ("secrets", &["secret"]),
    ("namespaces", &["namespace", "ns"]),
    ("nodes", &["node", "no"]),
    ("events", &["event", "ev"]),
    ("persistentvolumeclaims", &["persistentvolumeclaim", "pvc"]),
    ("persistentvolumes", &["persistentvolume", "pv"]),
    ("serviceaccounts", &["serviceaccount", "sa"]),
    ("endpoints", &["ep"]),
    ("limitranges", &["limitrange", "limits"]),
    ("resourcequotas", &["resourcequota", "quota"]),
    ("replicationcontrollers", &["replicationcontroller", "rc"]),
    ("podtemplates", &["podtemplate"]),
    ("componentstatuses", &["componentstatus", "cs"]),
    ("ingresses.networking.k8s.io", &["ingress", "ing"]),
    ("ingressclasses.networking.k8s.io", &["ingressclass"]),
    ("networkpolicies.networking.k8s.io", &["networkpolicy", "netpol"]),
    ("horizontalpodautoscalers.autoscaling", &["horizontalpodautoscaler", "hpa"]),
    ("endpointslices.discovery.k8s.io", &["endpointslice"]),
    ("poddisruptionbudgets.policy", &["poddisruptionbudget", "pdb"]),
    ("podsecuritypolicies.policy", &["podsecuritypolicy", "psp"]),
    ("storageclasses.storage.k8s.io", &["storageclass", "sc"]),
    ("csidrivers.storage.k8s.io", &["csidriver"]),
    ("csinodes.storage.k8s.io", &["csinode"]),
    ("volumeattachments.storage.k8s.io", &["volumeattachment"]),
    ("customresourcedefinitions.apiextensions.k8s.io", &["customresourcedefinition", "crd", "crds"]),
    ("roles.rbac.authorization.k8s.io", &["role"]),
    ("rolebindings.rbac.authorization.k8s.io", &["rolebinding"]),
    ("clusterroles.rbac.authorization.k8s.io", &["clusterrole"]),
    ("clusterrolebindings.rbac.authorization.k8s.io", &["clusterrolebinding"]),
    ("leases.coordination.k8s.io", &["lease"]),
    ("priorityclasses.scheduling.k8s.io", &["priorityclass", "pc"]),
    ("runtimeclasses.node.k8s.io", &["runtimeclass"]),
    ("certificatesigningrequests.certificates.k8s.io", &["certificatesigningrequest", "csr"]),
    ("validatingwebhookconfigurations.admissionregistration.k8s.io", &["validatingwebhookconfiguration"]),
    ("mutatingwebhookconfigurations.admissionregistration.k8s.io", &["mutatingwebhookconfiguration"]),
    ("apiservices.apiregistration.k8s.io", &["apiservice"]),
];

/// What kubectl's `all` category expands to (canonical forms). `secrets` is not part of it.
pub const ALL_CATEGORY: &[&str] = &[
    "pods",
    "replicationcontrollers",
    "services",
    "daemonsets.apps",
    "deployments.apps",
    "replicasets.apps",
    "statefulsets.apps",
    "horizontalpodautoscalers.autoscaling",
    "cronjobs.batch",
    "jobs.batch",
];

/// The canonical form (plural, group-qualified unless core: `pods`, `deployments.apps`) of a
/// built-in resource under any spelling kubectl accepts: plural, singular, kind
/// (case-insensitive), short name, `plural.group`, `plural.version` (core) or
/// `plural.version.group`. `None` for anything else (custom resources, typos): the executor
/// resolves those through discovery.
pub fn canonical_resource(token: &str) -> Option<&'static str> {
    let lower = token.to_ascii_lowercase();
    if let Some(canonical) = lookup(&lower) {
        return Some(canonical);
    }
    let (base, qualifier) = lower.split_once('.')?;
    let canonical = lookup(base)?;
    let group = group_of(canonical);
    if !group.is_empty() && qualifier == group {
        return Some(canonical);
    }
    let (version, rest) = qualifier.split_once('.').unwrap_or((qualifier, ""));
    (is_version(version) && rest == group).then_some(canonical)
}

/// The plural of a canonical form: `deployments.apps` → `deployments`.
pub(crate) fn plural_of(canonical: &str) -> &str {
    canonical.split_once('.').map_or(canonical, |(plural, _)| plural)
}

/// The group of a canonical form: `deployments.apps` → `apps`, `pods` → ``.
pub(crate) fn group_of(canonical: &str) -> &str {
    canonical.split_once('.').map_or("", |(_, group)| group)
}

fn lookup(lower: &str) -> Option<&'static str> {
    ALIASES
        .iter()
        .find(|(canonical, names)| {
            *canonical == lower || plural_of(canonical) == lower || names.contains(&lower)
        })
        .map(|(canonical, _)| *canonical)
}

/// `v1`, `v2`, `v1beta1`, `v2alpha3`.
pub(crate) fn is_version(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('v') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || rest.starts_with('0') {
        return false;
    }
    let tail = &rest[digits..];
    if tail.is_empty() {
        return true;
    }
    let Some(n) = tail.strip_prefix("alpha").or_else(|| tail.strip_prefix("beta")) else {
        return false;
    };
    !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
}

/// Longest object name Kubernetes accepts.
pub(crate) const MAX_NAME: usize = 253;

/// An object (or container) name: anything the API server could hold, so shell metacharacters
/// are plain characters, but no whitespace or control characters, at most 253 characters, and
/// nothing that would change the API URL the executor builds (`/`, `%`, `?`, `#`, `.`, `..`).
pub(crate) fn validate_name(value: &str, what: &'static str, at: Location) -> Result<String, PolicyError> {
    let fail = |reason: String| PolicyError::InvalidName { value: preview(value), what, reason, at };
    if value.is_empty() {
        return Err(fail("it is empty".into()));
    }
    if value.chars().count() > MAX_NAME {
        return Err(fail(format!("it is longer than {MAX_NAME} characters")));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(fail("names cannot contain whitespace or control characters".into()));
    }
    if value.starts_with('-') {
        return Err(fail("names cannot start with `-` (is this a misspelt flag?)".into()));
    }
    if value == "." || value == ".." {
        return Err(fail("`.` and `..` are not object names".into()));
    }
    if value.contains('/') {
        return Err(fail(
            "a name cannot contain `/`; use `TYPE/NAME` with exactly one slash, or `TYPE NAME`".into(),
        ));
    }
    if let Some(c) = value.chars().find(|c| matches!(c, '%' | '?' | '#')) {
        return Err(fail(format!("names cannot contain `{c}`")));
    }
    Ok(value.to_owned())
}

/// A namespace: a DNS-1123 label.
pub(crate) fn validate_namespace(value: &str, at: Location) -> Result<String, PolicyError> {
    let fail = |reason: &'static str| PolicyError::InvalidNamespace { value: preview(value), reason, at };
    if value.is_empty() {
        return Err(fail("it is empty"));
    }
    if value.len() > 63 {
        return Err(fail("it is longer than 63 characters"));
    }
    if value.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(fail("namespaces are lowercase"));
    }
    if !value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(fail("it contains characters other than lowercase letters, digits and `-`"));
    }
    if value.starts_with('-') || value.ends_with('-') {
        return Err(fail("it must start and end with a letter or digit"));
    }
    Ok(value.to_owned())
}

/// A resource type token (`pods`, `Deployment`, `deployments.v1.apps`, `foos.example.com`):
/// letters, digits, `-` and `.`-separated non-empty segments. Returned lowercased (kubectl matches
/// resources and kinds case-insensitively).
pub(crate) fn validate_resource(value: &str, at: Location) -> Result<String, PolicyError> {
    let fail = |reason: String| PolicyError::InvalidResource { value: preview(value), reason, at };
    if value.is_empty() {
        return Err(fail("it is empty".into()));
    }
    if value.len() > MAX_NAME {
        return Err(fail(format!("it is longer than {MAX_NAME} characters")));
    }
    if let Some(c) = value.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.')) {
        let shown = if c.is_control() { c.escape_default().to_string() } else { c.to_string() };
        return Err(fail(format!(
            "resource types contain only letters, digits, `-` and `.`, not `{shown}` (e.g. `pods`, \
             `deploy`, `deployments.apps`)"
        )));
    }
    if value.split('.').any(|seg| seg.is_empty() || seg.starts_with('-') || seg.ends_with('-')) {
        return Err(fail(
            "each `.`-separated part must be non-empty and start and end with a letter or digit".into(),
        ));
    }
    Ok(value.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_resource_knows_every_spelling() {
        let cases: &[(&str, Option<&str>)] = &[
            ("pods", Some("pods")),
            ("pod", Some("pods")),
            ("po", Some("pods")),
            ("Pod", Some("pods")),
            ("pods.v1", Some("pods")),
            ("secret", Some("secrets")),
            ("Secret", Some("secrets")),
            ("SECRETS", Some("secrets")),
            ("secrets.v1", Some("secrets")),
            ("deploy", Some("deployments.apps")),
            ("Deployment", Some("deployments.apps")),
            ("deployments.apps", Some("deployments.apps")),
            ("deployment.apps", Some("deployments.apps")),
            ("deployments.v1.apps", Some("deployments.apps")),
            ("cj", Some("cronjobs.batch")),
            ("cronjobs.v1beta1.batch", Some("cronjobs.batch")),
            ("crds", Some("customresourcedefinitions.apiextensions.k8s.io")),
            ("crd", Some("customresourcedefinitions.apiextensions.k8s.io")),
            ("netpol", Some("networkpolicies.networking.k8s.io")),
            ("hpa", Some("horizontalpodautoscalers.autoscaling")),
            ("quota", Some("resourcequotas")),
            ("limits", Some("limitranges")),
            ("ep", Some("endpoints")),
            ("endpoints", Some("endpoints")),
            ("ev", Some("events")),
            ("pc", Some("priorityclasses.scheduling.k8s.io")),
            (
                "ValidatingWebhookConfiguration",
                Some("validatingwebhookconfigurations.admissionregistration.k8s.io"),
            ),
            ("apiservices", Some("apiservices.apiregistration.k8s.io")),
            ("clusterrolebindings", Some("clusterrolebindings.rbac.authorization.k8s.io")),
            // Not built-in, or a different group: left to discovery.
            ("deployments.extensions", None),
            ("pods.metrics.k8s.io", None),
            ("events.events.k8s.io", None),
            ("foos.example.com", None),
            ("secrets.v1x", None),
            ("all", None),
            ("", None),
        ];
        for (token, want) in cases {
            assert_eq!(canonical_resource(token), *want, "{token}");
        }
    }

    #[test]
    fn versions() {
        for v in ["v1", "v2", "v1beta1", "v2alpha1", "v10"] {
            assert!(is_version(v), "{v}");
        }
        for v in ["v", "v0", "1", "v1beta", "v1gamma1", "apps", "v1.2"] {
            assert!(!is_version(v), "{v}");
        }
    }

    #[test]
    fn names_accept_odd_characters_but_not_url_changers() {
        let at = Location::ARGS;
        for ok in ["credit-api-123", "a;b", "x|y", "$(id)", "`w`", "web-editor", "system:controller:x", "é"]
        {
            assert_eq!(validate_name(ok, "name", at).ok().as_deref(), Some(ok), "{ok}");
        }
        for bad in ["", "a b", "a\nb", "a\tb", ".", "..", "a/b", "a%2f", "x?watch=1", "x#y", "-n"] {
            assert!(validate_name(bad, "name", at).is_err(), "{bad:?}");
        }
        assert!(validate_name(&"a".repeat(253), "name", at).is_ok());
        assert!(validate_name(&"a".repeat(254), "name", at).is_err());
    }

    #[test]
    fn namespaces_are_dns_labels() {
        let at = Location::NAMESPACE;
        for ok in ["default", "web-editor", "kube-system", "a", "1a", &"a".repeat(63)] {
            assert!(validate_namespace(ok, at).is_ok(), "{ok}");
        }
        for bad in ["", "Default", "a_b", "-a", "a-", "a.b", "a b", &"a".repeat(64), "a;b"] {
            assert!(validate_namespace(bad, at).is_err(), "{bad}");
        }
    }

    #[test]
    fn resources_are_lowercased_tokens() {
        let at = Location::ARGS;
        assert_eq!(validate_resource("Deployment", at).ok().as_deref(), Some("deployment"));
        assert_eq!(validate_resource("foos.example.com", at).ok().as_deref(), Some("foos.example.com"));
        for bad in ["", "pods ", "po/ds", "a..b", ".pods", "pods.", "pods;x", "-pods", "pod_s"] {
            assert!(validate_resource(bad, at).is_err(), "{bad:?}");
        }
    }
}
