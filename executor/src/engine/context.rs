//! What every verb runs with: [`Context`] (the cluster's client, the command's options and the
//! [`Resolver`]). The resolver is the only way a verb turns what a caller typed into a resource,
//! and it applies the executor's policy (`restricted_resources`) to every resource it hands out:
//! after discovery every spelling (kind, short name, CRD singular, `all` members) is one plural
//! and group, so a restricted resource is refused whatever name the gateway let through.

use kubently_shared::policy::{NamespaceScope, PolicyConfig, ResourceRef};

use super::discovery::{ApiResourceInfo, DiscoveryCache, reported_name};
use super::{EngineError, ExecOptions};

/// One command's view of the engine.
#[derive(Clone, Copy)]
pub(super) struct Context<'a> {
    pub client: &'a kube::Client,
    pub resolver: Resolver<'a>,
    pub opts: &'a ExecOptions,
}

impl Context<'_> {
    /// The namespace a request reads: the named one, the executor's default when none is named,
    /// `None` for all namespaces (`-A`).
    pub fn namespaces(&self, scope: &NamespaceScope) -> Option<String> {
        match scope {
            NamespaceScope::Default => Some(self.opts.default_namespace.clone()),
            NamespaceScope::Namespace(ns) => Some(ns.clone()),
            NamespaceScope::All => None,
        }
    }

    /// The one namespace of a verb that reads a single namespace (`logs`, `rollout`): the named
    /// one, else the executor's default.
    pub fn namespace(&self, scope: &NamespaceScope) -> String {
        self.namespaces(scope).unwrap_or_else(|| self.opts.default_namespace.clone())
    }
}

/// One resource type to read, with the names asked for (none = every object).
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub resource: ApiResourceInfo,
    pub names: Vec<String>,
}

/// Resolved targets, and whether a category (`all`) was expanded to get them.
#[derive(Debug)]
pub(super) struct Targets {
    pub targets: Vec<Target>,
    pub expanded: bool,
}

/// Discovery (read with the command's client) with the executor's policy applied to everything
/// it resolves.
#[derive(Clone, Copy)]
pub(super) struct Resolver<'a> {
    client: &'a kube::Client,
    discovery: &'a DiscoveryCache,
    policy: &'a PolicyConfig,
}

impl<'a> Resolver<'a> {
    pub fn new(client: &'a kube::Client, discovery: &'a DiscoveryCache, policy: &'a PolicyConfig) -> Self {
        Self { client, discovery, policy }
    }

    /// The resource a typed name (`po`, `Pod`, `deployments.apps`) stands for, refreshing
    /// discovery once on a miss; refused if the policy restricts it.
    pub async fn resolve(&self, typed: &str) -> Result<ApiResourceInfo, EngineError> {
        let resource = self.discovery.resolve(self.client, typed).await?;
        self.permit(resource)
    }

    /// The first resource (in discovery's priority order) that `matches`, refreshing discovery
    /// once if none does; refused if the policy restricts it.
    pub async fn find(
        &self,
        matches: impl Fn(&ApiResourceInfo) -> bool,
    ) -> Result<Option<ApiResourceInfo>, EngineError> {
        let found = self
            .discovery
            .lookup(self.client, |index| index.all().iter().find(|r| matches(r)).cloned())
            .await?;
        found.map(|r| self.permit(r)).transpose()
    }

    /// get/describe targets: a category (`all`, or a CRD's own) expands to its listable members
    /// as in kubectl, anything else resolves to one resource (discovery is refreshed once if
    /// something is unknown, and the first unknown one is named). Every resulting resource is
    /// checked against the policy once all of them are resolved.
    pub async fn targets(&self, refs: &[ResourceRef]) -> Result<Targets, EngineError> {
        let resolved = self
            .discovery
            .lookup(self.client, |index| {
                let mut out = Vec::new();
                for r in refs {
                    if let Some(members) = index.category(&r.resource) {
                        out.push((
                            r,
                            members.into_iter().filter(|m| m.supports("list")).cloned().collect::<Vec<_>>(),
                            true,
                        ));
                    } else {
                        out.push((r, vec![index.resolve(&r.resource)?.clone()], false));
                    }
                }
                Some(out)
            })
            .await?;
        let Some(resolved) = resolved else {
            // Name the first unknown one, as kubectl does.
            let index = self.discovery.index(self.client).await?;
            let unknown = refs
                .iter()
                .find(|r| index.category(&r.resource).is_none() && index.resolve(&r.resource).is_none());
            return Err(EngineError::UnknownResource {
                resource: reported_name(unknown.map(|r| r.resource.as_str()).unwrap_or_default()),
            });
        };
        let expanded = resolved.iter().any(|(_, _, category)| *category);
        let mut targets = Vec::new();
        for (r, members, _) in resolved {
            for resource in members {
                targets.push(Target { resource, names: r.names.clone() });
            }
        }
        for t in &targets {
            self.check(&t.resource.plural, &t.resource.group)?;
        }
        Ok(Targets { targets, expanded })
    }

    /// For a resource a verb reads by a fixed path (`logs` reads pods): refused exactly like a
    /// resolved one.
    pub fn check(&self, plural: &str, group: &str) -> Result<(), EngineError> {
        Ok(self.policy.check_resolved(plural, group)?)
    }

    fn permit(&self, resource: ApiResourceInfo) -> Result<ApiResourceInfo, EngineError> {
        self.check(&resource.plural, &resource.group)?;
        Ok(resource)
    }
}
