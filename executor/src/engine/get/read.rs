//! The API reads behind `get`: one chunked list per resource type (or one GET per named object),
//! as server-side Tables or as objects cleaned for printing, a few types at a time.

use futures::StreamExt;
use kubently_shared::policy::GetRequest;
use serde_json::Value;

use super::super::EngineError;
use super::super::context::Target;
use super::super::fieldpath::FieldPath;
use super::super::http::{self, ACCEPT_JSON, ACCEPT_TABLE, Query};
use super::super::objects;
use super::super::table::Table;
use super::fetched::Fetched;
use super::is_secrets;

/// kubectl's default `--chunk-size`.
pub const DEFAULT_CHUNK_SIZE: u32 = 500;
/// Resource types fetched at once (`get all` lists about ten).
const CONCURRENCY: usize = 4;

/// Runs the fetches a few at a time, keeping their order.
pub(super) async fn fetch_all<T, Fut>(fetches: Vec<Fut>) -> Vec<Fetched<T>>
where
    Fut: Future<Output = Fetched<T>>,
{
    futures::stream::iter(fetches).buffered(CONCURRENCY).collect().await
}

/// Reads targets for one request.
pub(super) struct Lister<'a> {
    pub client: &'a kube::Client,
    pub req: &'a GetRequest,
    /// The namespace for namespaced resources; `None` = all namespaces.
    pub namespace: Option<&'a str>,
    pub sort_by: Option<&'a FieldPath>,
}

impl Lister<'_> {
    /// Tables for a target: one chunked list, or one GET per name.
    pub async fn tables(&self, target: &Target) -> Fetched<Table> {
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
    pub async fn objects(&self, target: &Target) -> Fetched<Value> {
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
        let namespace = self.namespace;
        let mut found = Vec::new();
        let mut errors = Vec::new();
        if target.names.is_empty() {
            let mut query = query;
            query
                .push_opt("labelSelector", self.req.label_selector.as_deref())
                .push_opt("fieldSelector", self.req.field_selector.as_deref());
            let chunk =
                if self.sort_by.is_some() { 0 } else { self.req.chunk_size.unwrap_or(DEFAULT_CHUNK_SIZE) };
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

/// Every page of a (chunked) list; `chunk` 0 = one unlimited call.
async fn list_pages(
    client: &kube::Client,
    path: &str,
    query: &Query,
    chunk: u32,
    accept: &str,
) -> Result<Vec<Value>, EngineError> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut q = query.clone();
        if chunk > 0 {
            q.push("limit", chunk.to_string());
        }
        q.push_opt("continue", token.as_deref());
        let page = http::get_json(client, &q.on(path), accept).await?;
        token = page
            .pointer("/metadata/continue")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        pages.push(page);
        if token.is_none() {
            return Ok(pages);
        }
    }
}

/// A page as a Table: the server's, or kubectl's NAME/AGE default when it sent plain objects.
fn to_table(page: Value, now: time::OffsetDateTime) -> Result<Table, EngineError> {
    match page.get("kind").and_then(Value::as_str) {
        Some("Table") => serde_json::from_value(page).map_err(|e| EngineError::decode("table", e)),
        Some(kind) if kind.ends_with("List") => {
            let items = page.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
            Ok(Table::from_objects(items, now))
        }
        _ => Ok(Table::from_objects(vec![page], now)),
    }
}
