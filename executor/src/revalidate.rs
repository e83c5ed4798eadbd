//! Defence in depth: the executor checks every command it receives against its own policy
//! settings, even though the gateway already did (a compromised or misconfigured gateway cannot
//! make an executor read a restricted resource). After discovery the engine checks the resolved
//! resource again (`PolicyConfig::check_resolved`).

use kubently_shared::policy::{KubectlRequest, LogTarget, PolicyConfig, ResourceRef};

#[derive(Debug, thiserror::Error)]
#[error("resource `{resource}` is restricted on this cluster (rule `{rule}`)")]
pub struct Restricted {
    pub resource: String,
    pub rule: String,
}

pub fn revalidate(request: &KubectlRequest, policy: &PolicyConfig) -> Result<(), Restricted> {
    let check = |r: &ResourceRef| match policy.restricted_rule(&r.resource) {
        Some(rule) => Err(Restricted { resource: r.resource.clone(), rule: rule.to_string() }),
        None => Ok(()),
    };
    match request {
        KubectlRequest::Get(g) => g.targets.iter().try_for_each(check),
        KubectlRequest::Describe(d) => d.targets.iter().try_for_each(check),
        KubectlRequest::Logs(l) => match &l.target {
            LogTarget::Object(r) => check(r),
            LogTarget::Selector(_) => Ok(()),
        },
        KubectlRequest::Events(e) => e.for_object.iter().try_for_each(check),
        KubectlRequest::Rollout(r) => check(&r.target),
        // A schema is not data: explaining a restricted resource reveals nothing of its objects.
        KubectlRequest::Explain(_)
        | KubectlRequest::Top(_) | KubectlRequest::Version | KubectlRequest::ClusterInfo | KubectlRequest::ApiResources(_) | KubectlRequest::ApiVersions => Ok(()),
    }
}
