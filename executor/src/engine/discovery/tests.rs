use super::*;

/// Real 1.20.2 discovery (`/api/v1`, `/apis`, some groups' versions), recorded from the test cluster.
fn legacy_index() -> ResourceIndex {
    #[derive(serde::Deserialize)]
    struct Fixture {
        core: APIResourceList,
        groups: APIGroupList,
        lists: Vec<APIResourceList>,
    }
    let fixture: Fixture =
        serde_json::from_str(include_str!("testdata/legacy-1.20.json")).expect("fixture parses");
    ResourceIndex::from_legacy(vec![fixture.core], &fixture.groups, &fixture.lists, Vec::new())
}

fn resolved(index: &ResourceIndex, typed: &str) -> Option<String> {
    index.resolve(typed).map(|r| format!("{}/{}", r.api_version(), r.plural))
}

#[test]
fn resolves_what_kubectl_accepts() {
    let index = legacy_index();
    for (typed, want) in [
        ("pods", "v1/pods"),
        ("pod", "v1/pods"),
        ("po", "v1/pods"),
        ("Pod", "v1/pods"),
        ("PODS", "v1/pods"),
        ("svc", "v1/services"),
        ("ns", "v1/namespaces"),
        ("no", "v1/nodes"),
        ("cm", "v1/configmaps"),
        ("pvc", "v1/persistentvolumeclaims"),
        ("sa", "v1/serviceaccounts"),
        ("deploy", "apps/v1/deployments"),
        ("Deployment", "apps/v1/deployments"),
        ("deployments.apps", "apps/v1/deployments"),
        ("deploy.apps", "apps/v1/deployments"),
        ("deployments.v1.apps", "apps/v1/deployments"),
        ("rs", "apps/v1/replicasets"),
        ("sts", "apps/v1/statefulsets"),
        ("ds", "apps/v1/daemonsets"),
        // core wins over events.k8s.io, as in kubectl
        ("events", "v1/events"),
        ("ev", "v1/events"),
        ("events.events.k8s.io", "events.k8s.io/v1/events"),
        ("events.v1beta1.events.k8s.io", "events.k8s.io/v1beta1/events"),
        // only served in a non-preferred version on 1.20
        ("cronjobs", "batch/v1beta1/cronjobs"),
        ("cj", "batch/v1beta1/cronjobs"),
        ("jobs", "batch/v1/jobs"),
        ("hpa", "autoscaling/v1/horizontalpodautoscalers"),
        ("horizontalpodautoscalers.v2beta2.autoscaling", "autoscaling/v2beta2/horizontalpodautoscalers"),
        // networking.k8s.io precedes extensions in 1.20's /apis
        ("ing", "networking.k8s.io/v1/ingresses"),
        ("ingresses.extensions", "extensions/v1beta1/ingresses"),
        ("pdb", "policy/v1beta1/poddisruptionbudgets"),
        ("crd", "apiextensions.k8s.io/v1/customresourcedefinitions"),
        ("pods.v1.", "v1/pods"),
    ] {
        assert_eq!(resolved(&index, typed).as_deref(), Some(want), "{typed}");
    }
}

#[test]
fn unknown_names_do_not_resolve() {
    let index = legacy_index();
    for typed in ["nosuchthing", "pods.apps", "deployments.v2.apps", "", "pods/log", "all"] {
        assert_eq!(resolved(&index, typed), None, "{typed}");
    }
    assert_eq!(reported_name("nosuch.apps"), "nosuch");
}

#[test]
fn subresources_are_not_resources() {
    let index = legacy_index();
    assert!(index.all().iter().all(|r| !r.plural.contains('/')));
    // 1.20 leaves singularName empty: the lowercased kind stands in.
    assert_eq!(index.resolve("pod").map(|r| r.singular.as_str()), Some("pod"));
}

#[test]
fn all_expands_from_discovery_categories() {
    let index = legacy_index();
    let all: Vec<String> =
        index.category("all").unwrap_or_default().iter().map(|r| r.qualified_plural()).collect();
    assert_eq!(
        all,
        [
            "pods",
            "replicationcontrollers",
            "services",
            "daemonsets.apps",
            "deployments.apps",
            "replicasets.apps",
            "statefulsets.apps",
            "horizontalpodautoscalers.autoscaling",
            "jobs.batch",
            "cronjobs.batch"
        ]
    );
    assert!(index.category("nosuch").is_none());
}

#[test]
fn all_falls_back_to_kubectls_list_without_categories() {
    let mut index = legacy_index();
    index.resources.iter_mut().for_each(|r| r.categories.clear());
    let all: Vec<String> =
        index.category("all").unwrap_or_default().iter().map(|r| r.qualified_plural()).collect();
    assert_eq!(all.first().map(String::as_str), Some("pods"));
    assert!(all.contains(&"deployments.apps".to_string()) && all.contains(&"cronjobs.batch".to_string()));
}

#[test]
fn preferred_resources_keep_one_version_each() {
    let index = legacy_index();
    let preferred = index.preferred_resources();
    let hpa: Vec<String> = preferred
        .iter()
        .filter(|r| r.plural == "horizontalpodautoscalers")
        .map(|r| r.api_version())
        .collect();
    assert_eq!(hpa, ["autoscaling/v1"]);
    let events: Vec<String> =
        preferred.iter().filter(|r| r.plural == "events").map(|r| r.api_version()).collect();
    assert_eq!(events, ["v1", "events.k8s.io/v1"]);
}

/// Aggregated discovery (`apidiscovery.k8s.io/v2`) as a 1.30+ server sends it.
#[test]
fn aggregated_discovery_builds_the_same_index() {
    let core: APIGroupDiscoveryList = serde_json::from_value(serde_json::json!({
        "kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
        "items": [{"metadata": {"creationTimestamp": null}, "versions": [{"version": "v1", "freshness": "Current", "resources": [
            {"resource": "pods", "responseKind": {"group": "", "version": "v1", "kind": "Pod"}, "scope": "Namespaced",
             "singularResource": "pod", "shortNames": ["po"], "categories": ["all"], "verbs": ["get", "list", "watch"],
             "subresources": [{"subresource": "log", "responseKind": {"group": "", "version": "v1", "kind": "Pod"}, "verbs": ["get"]}]},
            {"resource": "events", "responseKind": {"group": "", "version": "v1", "kind": "Event"}, "scope": "Namespaced",
             "singularResource": "event", "shortNames": ["ev"], "verbs": ["get", "list"]}
        ]}]}]
    }))
    .expect("core");
    let apis: APIGroupDiscoveryList = serde_json::from_value(serde_json::json!({
        "kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
        "items": [
            {"metadata": {"name": "apps"}, "versions": [{"version": "v1", "resources": [
                {"resource": "deployments", "responseKind": {"group": "apps", "version": "v1", "kind": "Deployment"}, "scope": "Namespaced",
                 "singularResource": "deployment", "shortNames": ["deploy"], "categories": ["all"], "verbs": ["get", "list"]}]}]},
            {"metadata": {"name": "events.k8s.io"}, "versions": [{"version": "v1", "resources": [
                {"resource": "events", "responseKind": {"group": "events.k8s.io", "version": "v1", "kind": "Event"}, "scope": "Namespaced",
                 "singularResource": "event", "shortNames": ["ev"], "verbs": ["get", "list"]}]}]},
            {"metadata": {"name": "batch"}, "versions": [
                {"version": "v1", "resources": [{"resource": "cronjobs", "responseKind": {"group": "batch", "version": "v1", "kind": "CronJob"}, "scope": "Namespaced", "singularResource": "cronjob", "shortNames": ["cj"], "verbs": ["list"]}]},
                {"version": "v1beta1", "resources": [{"resource": "cronjobs", "responseKind": {"group": "batch", "version": "v1beta1", "kind": "CronJob"}, "scope": "Namespaced", "singularResource": "cronjob", "shortNames": ["cj"], "verbs": ["list"]}]}
            ]}
        ]
    }))
    .expect("apis");
    let index = ResourceIndex::from_aggregated(&core, &apis);
    assert_eq!(resolved(&index, "po").as_deref(), Some("v1/pods"));
    assert_eq!(resolved(&index, "ev").as_deref(), Some("v1/events"));
    assert_eq!(resolved(&index, "deploy").as_deref(), Some("apps/v1/deployments"));
    assert_eq!(resolved(&index, "cj").as_deref(), Some("batch/v1/cronjobs"));
    assert_eq!(resolved(&index, "cronjobs.v1beta1.batch").as_deref(), Some("batch/v1beta1/cronjobs"));
    assert_eq!(resolved(&index, "pods/log"), None);
    let all: Vec<String> =
        index.category("all").unwrap_or_default().iter().map(|r| r.qualified_plural()).collect();
    assert_eq!(all, ["pods", "deployments.apps"]);
    assert!(index.resolve("pods").is_some_and(|r| r.namespaced && r.preferred));
}
