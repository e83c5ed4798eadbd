//! `kubectl get`: server-side printed tables (the default, `-o wide`, `-o name`) and plain
//! objects (`-o json|yaml`), for every resource discovery knows, through chunked list calls or
//! one GET per named object.

use futures::StreamExt;
use kubently_shared::policy::{GetRequest, NamespaceScope, OutputFormat, PolicyConfig, ResourceRef};
use serde_json::Value;

use super::discovery::{ApiResourceInfo, DiscoveryCache, reported_name};
use super::fieldpath::{self, FieldPath};
use super::http::{self, ACCEPT_JSON, ACCEPT_TABLE, Query};
use super::jsonpath;
use super::objects;
use super::render;
use super::table::Table;
use super::{EngineError, ExecOptions, Output};

/// kubectl's default `--chunk-size`.
pub const DEFAULT_CHUNK_SIZE: u32 = 500;
/// Resource types fetched at once (`get all` lists about ten).
const CONCURRENCY: usize = 4;

/// One resource type to read, with the names asked for (none = list).
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub resource: ApiResourceInfo,
    pub names: Vec<String>,
}

/// Where to read.
#[derive(Debug, Clone)]
pub(super) struct Scope {
    /// The namespace for namespaced resources; `None` = all namespaces.
    pub namespace: Option<String>,
}

/// What one target produced.
#[derive(Debug)]
pub(super) struct Fetched<T> {
    pub resource: ApiResourceInfo,
    pub found: Vec<T>,
    pub errors: Vec<EngineError>,
}

pub(super) async fn run(client: &kube::Client, discovery: &DiscoveryCache, policy: &PolicyConfig, req: &GetRequest, opts: &ExecOptions) -> Result<Output, EngineError> {
    // `-o jsonpath` / `-o custom-columns`: the template is checked before anything is fetched.
    let printer = jsonpath::Printer::for_request(req)?;
    if req.targets.is_empty() {
        return Err(EngineError::Invalid("you must specify the type of resource to get".into()));
    }
    let has_names = req.targets.iter().any(|t| !t.names.is_empty());
    if has_names && (req.label_selector.is_some() || req.field_selector.is_some()) {
        return Err(EngineError::Invalid("name cannot be provided when a selector is specified".into()));
    }
    if has_names && req.namespace == NamespaceScope::All {
        return Err(EngineError::Invalid("a resource cannot be retrieved by name across all namespaces".into()));
    }
    let sort_by = req.sort_by.as_deref().filter(|s| !s.trim().is_empty()).map(FieldPath::parse).transpose()?;
    let (targets, expanded) = resolve_targets(discovery, &req.targets).await?;
    // After discovery every spelling (kind, short name, CRD alias, `all` members) is one plural.
    for t in &targets {
        policy.check_resolved(&t.resource.plural, &t.resource.group)?;
    }
    if let Some(path) = &sort_by
        && matches!(path.first_field(), Some("data" | "stringData"))
        && targets.iter().any(|t| is_secrets(&t.resource))
    {
        // The order of Secrets by a value would tell something about the values.
        return Err(EngineError::Invalid("Secrets cannot be sorted by their values".into()));
    }
    let scope = Scope {
        namespace: match &req.namespace {
            NamespaceScope::Default => Some(opts.default_namespace.clone()),
            NamespaceScope::Namespace(ns) => Some(ns.clone()),
            NamespaceScope::All => None,
        },
    };
    let lister = Lister { client, req, scope: &scope, sort_by: sort_by.as_ref() };
    if let Some(printer) = &printer {
        // Templates see objects cleaned and redacted exactly as `-o json` prints them.
        let fetched = fetch_all(targets.iter().map(|t| lister.objects(t)).collect()).await;
        let single = !expanded && targets.len() == 1 && targets.iter().all(|t| t.names.len() == 1);
        return jsonpath::render(printer, fetched, single, req.no_headers, sort_by.as_ref());
    }
    match req.output {
        OutputFormat::Json | OutputFormat::Yaml => {
            let fetched = fetch_all(targets.iter().map(|t| lister.objects(t)).collect()).await;
            let single = !expanded && targets.len() == 1 && targets.iter().all(|t| t.names.len() == 1);
            render::objects(fetched, single, req.output == OutputFormat::Yaml, sort_by.as_ref())
        }
        _ => {
            let fetched = fetch_all(targets.iter().map(|t| lister.tables(t)).collect()).await;
            let all_namespaced = scope.namespace.as_ref().filter(|_| targets.iter().all(|t| t.resource.namespaced));
            render::tables(fetched, req, all_namespaced.map(String::as_str), sort_by.as_ref())
        }
    }
}

/// Resolves every typed resource (a category such as `all` expands to its members), refreshing
/// discovery once if something is unknown. Also says whether a category was expanded.
async fn resolve_targets(discovery: &DiscoveryCache, refs: &[ResourceRef]) -> Result<(Vec<Target>, bool), EngineError> {
    let resolved = discovery
        .lookup(|index| {
            let mut out = Vec::new();
            for r in refs {
                if let Some(members) = index.category(&r.resource) {
                    out.push((r, members.into_iter().filter(|m| m.supports("list")).cloned().collect::<Vec<_>>(), true));
                } else {
                    out.push((r, vec![index.resolve(&r.resource)?.clone()], false));
                }
            }
            Some(out)
        })
        .await?;
    let Some(resolved) = resolved else {
        // Name the first unknown one, as kubectl does.
        let index = discovery.index().await?;
        let unknown = refs.iter().find(|r| index.category(&r.resource).is_none() && index.resolve(&r.resource).is_none());
        return Err(EngineError::UnknownResource { resource: reported_name(unknown.map(|r| r.resource.as_str()).unwrap_or_default()) });
    };
    let expanded = resolved.iter().any(|(_, _, category)| *category);
    let targets = resolved.into_iter().flat_map(|(r, members, _)| members.into_iter().map(|resource| Target { resource, names: r.names.clone() })).collect();
    Ok((targets, expanded))
}

/// Runs the fetches a few at a time, keeping their order.
async fn fetch_all<T, Fut>(fetches: Vec<Fut>) -> Vec<Fetched<T>>
where
    Fut: Future<Output = Fetched<T>>,
{
    futures::stream::iter(fetches).buffered(CONCURRENCY).collect().await
}

struct Lister<'a> {
    client: &'a kube::Client,
    req: &'a GetRequest,
    scope: &'a Scope,
    sort_by: Option<&'a FieldPath>,
}

impl Lister<'_> {
    /// Tables for a target: one chunked list, or one GET per name.
    async fn tables(&self, target: &Target) -> Fetched<Table> {
        let mut query = Query::default();
        if self.sort_by.is_some() {
            // Sorting reads fields of the objects themselves.
            query.push("includeObject", "Object");
        }
        let pages = self.read(target, query, ACCEPT_TABLE).await;
        let now = time::OffsetDateTime::now_utc();
        let mut table: Option<Table> = None;
        let mut errors = pages.errors;
        for page in pages.found {
            match to_table(page, now) {
                Ok(t) => match table.as_mut() {
                    Some(acc) => acc.extend(t),
                    None => table = Some(t),
                },
                Err(e) => errors.push(e),
            }
        }
        Fetched { resource: target.resource.clone(), found: table.into_iter().collect(), errors }
    }

    /// Plain objects for a target, cleaned for printing.
    async fn objects(&self, target: &Target) -> Fetched<Value> {
        let pages = self.read(target, Query::default(), ACCEPT_JSON).await;
        let (api_version, kind) = (target.resource.api_version(), target.resource.kind.clone());
        let is_secret = is_secrets(&target.resource);
        let mut found = Vec::new();
        for page in pages.found {
            let items = match page {
                // A named GET answers with the object itself.
                object if !target.names.is_empty() => vec![object],
                Value::Object(mut list) => match list.remove("items") {
                    Some(Value::Array(items)) => items,
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            };
            for mut item in items {
                if let Some(map) = item.as_object_mut() {
                    map.entry("apiVersion").or_insert_with(|| Value::String(api_version.clone()));
                    map.entry("kind").or_insert_with(|| Value::String(kind.clone()));
                    if is_secret {
                        objects::redact_secret(map);
                    }
                }
                objects::sanitize(&mut item);
                found.push(item);
            }
        }
        Fetched { resource: target.resource.clone(), found, errors: pages.errors }
    }

    /// Raw pages: each named object, or every chunk of the list.
    async fn read(&self, target: &Target, query: Query, accept: &str) -> Fetched<Value> {
        let namespace = self.scope.namespace.as_deref();
        let mut found = Vec::new();
        let mut errors = Vec::new();
        if target.names.is_empty() {
            let mut query = query;
            query.push_opt("labelSelector", self.req.label_selector.as_deref()).push_opt("fieldSelector", self.req.field_selector.as_deref());
            let chunk = if self.sort_by.is_some() { 0 } else { self.req.chunk_size.unwrap_or(DEFAULT_CHUNK_SIZE) };
            match http::collection_path(&target.resource, namespace) {
                Ok(path) => match list_pages(self.client, &path, &query, chunk, accept).await {
                    Ok(pages) => found = pages,
                    Err(e) => errors.push(e),
                },
                Err(e) => errors.push(e),
            }
        } else {
            for name in &target.names {
                let result = match http::object_path(&target.resource, namespace, name) {
                    Ok(path) => http::get_json(self.client, &query.on(&path), accept).await,
                    Err(e) => Err(e),
                };
                match result {
                    Ok(page) => found.push(page),
                    Err(e) => errors.push(e),
                }
            }
        }
        Fetched { resource: target.resource.clone(), found, errors }
    }
}

fn is_secrets(resource: &ApiResourceInfo) -> bool {
    resource.group.is_empty() && resource.plural == "secrets"
}

/// Every page of a (chunked) list; `chunk` 0 = one unlimited call.
async fn list_pages(client: &kube::Client, path: &str, query: &Query, chunk: u32, accept: &str) -> Result<Vec<Value>, EngineError> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut q = query.clone();
        if chunk > 0 {
            q.push("limit", chunk.to_string());
        }
        q.push_opt("continue", token.as_deref());
        let page = http::get_json(client, &q.on(path), accept).await?;
        token = page.pointer("/metadata/continue").and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_string);
        pages.push(page);
        if token.is_none() {
            return Ok(pages);
        }
    }
}

/// A page as a Table: the server's, or kubectl's NAME/AGE default when it sent plain objects.
fn to_table(page: Value, now: time::OffsetDateTime) -> Result<Table, EngineError> {
    match page.get("kind").and_then(Value::as_str) {
        Some("Table") => serde_json::from_value(page).map_err(|e| EngineError::Decode(format!("table: {e}"))),
        Some(kind) if kind.ends_with("List") => {
            let items = page.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
            Ok(Table::from_objects(items, now))
        }
        _ => Ok(Table::from_objects(vec![page], now)),
    }
}

/// Sorts rows (or items) by a field path, stably.
pub(super) fn sort_values<T>(items: &mut [T], path: &FieldPath, object: impl Fn(&T) -> Option<&Value>) {
    items.sort_by(|a, b| fieldpath::compare(object(a).and_then(|o| path.find(o)), object(b).and_then(|o| path.find(o))));
}
