//! `kubectl get`: server-side printed tables (the default, `-o wide`, `-o name`) and plain
//! objects (`-o json|yaml`, and the `-o jsonpath|custom-columns` templates), for every resource
//! discovery knows, through chunked list calls or one GET per named object.
//!
//! | module | what |
//! |---|---|
//! | `read` | the API reads: chunked lists or named GETs, as Tables or cleaned objects |
//! | `fetched` | what one target produced, gathered over targets, sorted by `--sort-by` |
//! | `tables` | default, `-o wide`, `-o name` |
//! | `documents` | `-o json|yaml` |
//! | `templates` | `-o jsonpath|custom-columns` through [`super::jsonpath`] |

mod documents;
mod fetched;
mod read;
mod tables;
mod templates;

use kubently_shared::policy::{GetRequest, NamespaceScope, OutputFormat};

use super::context::Context;
use super::discovery::ApiResourceInfo;
use super::fieldpath::FieldPath;
use super::{EngineError, Output};
use read::{Lister, fetch_all};

pub(super) async fn run(ctx: &Context<'_>, req: &GetRequest) -> Result<Output, EngineError> {
    // `-o jsonpath` / `-o custom-columns`: the template is checked before anything is fetched.
    let printer = templates::Printer::for_request(req)?;
    if req.targets.is_empty() {
        return Err(EngineError::Invalid("you must specify the type of resource to get".into()));
    }
    let has_names = req.targets.iter().any(|t| !t.names.is_empty());
    if has_names && (req.label_selector.is_some() || req.field_selector.is_some()) {
        return Err(EngineError::Invalid("name cannot be provided when a selector is specified".into()));
    }
    if has_names && req.namespace == NamespaceScope::All {
        return Err(EngineError::Invalid(
            "a resource cannot be retrieved by name across all namespaces".into(),
        ));
    }
    let sort_by =
        req.sort_by.as_deref().filter(|s| !s.trim().is_empty()).map(FieldPath::parse).transpose()?;
    let resolved = ctx.resolver.targets(&req.targets).await?;
    let targets = resolved.targets;
    if let Some(path) = &sort_by
        && matches!(path.first_field(), Some("data" | "stringData"))
        && targets.iter().any(|t| is_secrets(&t.resource))
    {
        // The order of Secrets by a value would tell something about the values.
        return Err(EngineError::Invalid("Secrets cannot be sorted by their values".into()));
    }
    let namespace = ctx.namespaces(&req.namespace);
    let lister =
        Lister { client: ctx.client, req, namespace: namespace.as_deref(), sort_by: sort_by.as_ref() };
    // A lone named object prints as itself, anything else as a `v1 List`.
    let single = !resolved.expanded && targets.len() == 1 && targets.iter().all(|t| t.names.len() == 1);
    if let Some(printer) = &printer {
        // Templates see objects cleaned and redacted exactly as `-o json` prints them.
        let fetched = fetch_all(targets.iter().map(|t| lister.objects(t)).collect()).await;
        return templates::render(printer, fetched, single, req.no_headers, sort_by.as_ref());
    }
    match req.output {
        OutputFormat::Json | OutputFormat::Yaml => {
            let fetched = fetch_all(targets.iter().map(|t| lister.objects(t)).collect()).await;
            documents::render(fetched, single, req.output == OutputFormat::Yaml, sort_by.as_ref())
        }
        _ => {
            let fetched = fetch_all(targets.iter().map(|t| lister.tables(t)).collect()).await;
            let all_namespaced =
                namespace.as_deref().filter(|_| targets.iter().all(|t| t.resource.namespaced));
            tables::render(fetched, req, all_namespaced, sort_by.as_ref())
        }
    }
}

fn is_secrets(resource: &ApiResourceInfo) -> bool {
    resource.group.is_empty() && resource.plural == "secrets"
}
