//! `kubectl events` (the 1.26+ verb): `LAST SEEN  TYPE  REASON  OBJECT  MESSAGE` (with `-A` a
//! `NAMESPACE` column first), oldest first by the time kubectl sorts on, `--for kind/name` as a
//! server-side field selector on the involved object, `--types` filtered client-side,
//! `-o json|yaml` as an `EventList`.

use kubently_shared::policy::{EventsRequest, OutputFormat};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::age::human_duration;
use super::context::Context;
use super::http::{self, ACCEPT_JSON, Query};
use super::objects;
use super::tabwriter;
use super::{EngineError, Output};

/// kubectl's default `--chunk-size`.
const CHUNK: u32 = 500;

pub(super) async fn run(ctx: &Context<'_>, req: &EventsRequest) -> Result<Output, EngineError> {
    let types = check_types(&req.types)?;
    let namespace = ctx.namespaces(&req.namespace);
    let mut query = Query::default();
    if let Some(target) = &req.for_object {
        let name = match target.names.as_slice() {
            [name] => name.clone(),
            _ => return Err(EngineError::Invalid("--for must be in resource/name form".into())),
        };
        let resource = ctx.resolver.resolve(&target.resource).await?;
        let selector = format!(
            "involvedObject.kind={},involvedObject.apiVersion={},involvedObject.name={}",
            resource.kind,
            resource.api_version(),
            name
        );
        query.push("fieldSelector", selector);
    }
    let events_resource = match ctx.resolver.resolve("events").await {
        Err(refused @ EngineError::Restricted(_)) => return Err(refused),
        resolved => resolved.ok().filter(|r| r.group.is_empty()),
    };
    let path = match &events_resource {
        Some(r) => http::collection_path(r, namespace.as_deref())?,
        None => {
            // Discovery did not say; core events are where they have always been.
            ctx.resolver.check("events", "")?;
            match &namespace {
                Some(ns) => format!("/api/v1/namespaces/{}/events", http::escape(ns)),
                None => "/api/v1/events".to_string(),
            }
        }
    };
    let mut items = list_all(ctx.client, &path, &query).await?;
    if !types.is_empty() {
        items.retain(|e| {
            let t = e.get("type").and_then(Value::as_str).unwrap_or_default();
            types.iter().any(|want| want.eq_ignore_ascii_case(t))
        });
    }
    items.sort_by_key(sort_time);
    let rows = items.len() as u64;
    match &req.output {
        OutputFormat::Json | OutputFormat::Yaml => {
            for item in &mut items {
                if let Some(map) = item.as_object_mut() {
                    map.entry("apiVersion").or_insert_with(|| Value::String("v1".into()));
                    map.entry("kind").or_insert_with(|| Value::String("Event".into()));
                }
                objects::sanitize(item);
            }
            let list = json!({"apiVersion": "v1", "items": items, "kind": "EventList", "metadata": {}});
            let text = if req.output == OutputFormat::Yaml {
                objects::to_yaml(&list)
            } else {
                objects::to_json(&list)?
            };
            Ok(Output { text, kind: Some("EventList".into()), rows: Some(rows), ..Output::default() })
        }
        OutputFormat::Table | OutputFormat::Wide => {
            if items.is_empty() {
                let text = match &namespace {
                    Some(ns) => format!("No events found in {ns} namespace.\n"),
                    None => "No events found.\n".to_string(),
                };
                return Ok(Output { text, kind: Some("Event".into()), rows: Some(0), ..Output::default() });
            }
            let text = render_table(&items, namespace.is_none(), req.no_headers, OffsetDateTime::now_utc());
            Ok(Output { text, kind: Some("Event".into()), rows: Some(rows), ..Output::default() })
        }
        other => Err(EngineError::Unsupported { verb: format!("events -o {}", format_name(other)) }),
    }
}

fn format_name(f: &OutputFormat) -> &'static str {
    match f {
        OutputFormat::Name => "name",
        OutputFormat::JsonPath(_) => "jsonpath",
        OutputFormat::CustomColumns(_) => "custom-columns",
        _ => "table",
    }
}

/// kubectl accepts only `Normal` and `Warning` (any case).
fn check_types(types: &[String]) -> Result<Vec<String>, EngineError> {
    let list: Vec<String> = types
        .iter()
        .flat_map(|t| t.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    for t in &list {
        if !t.eq_ignore_ascii_case("Normal") && !t.eq_ignore_ascii_case("Warning") {
            return Err(EngineError::Invalid("valid --types are Normal or Warning".into()));
        }
    }
    Ok(list)
}

async fn list_all(client: &kube::Client, path: &str, query: &Query) -> Result<Vec<Value>, EngineError> {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut q = query.clone();
        q.push("limit", CHUNK.to_string());
        q.push_opt("continue", token.as_deref());
        let mut page = http::get_json(client, &q.on(path), ACCEPT_JSON).await?;
        token = page
            .pointer("/metadata/continue")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if let Some(Value::Array(list)) = page.get_mut("items").map(Value::take) {
            items.extend(list);
        }
        if token.is_none() {
            return Ok(items);
        }
    }
}

fn timestamp(event: &Value, pointer: &str) -> Option<OffsetDateTime> {
    event.pointer(pointer).and_then(Value::as_str).and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
}

/// kubectl's `eventTime`: the series' last observation, else `lastTimestamp`, else `eventTime`
/// (else `firstTimestamp`, for events that carry only that).
fn sort_time(event: &Value) -> Option<OffsetDateTime> {
    timestamp(event, "/series/lastObservedTime")
        .or_else(|| timestamp(event, "/lastTimestamp"))
        .or_else(|| timestamp(event, "/eventTime"))
        .or_else(|| timestamp(event, "/firstTimestamp"))
}

fn since(t: Option<OffsetDateTime>, now: OffsetDateTime) -> String {
    t.map(|t| human_duration(now - t)).unwrap_or_else(|| "<unknown>".into())
}

/// kubectl's `getInterval`: `64m`, `7m39s (x30 over 36m)`.
fn interval(event: &Value, now: OffsetDateTime) -> String {
    let first = since(timestamp(event, "/eventTime").or_else(|| timestamp(event, "/firstTimestamp")), now);
    if let Some(series) = event.get("series").filter(|s| s.is_object()) {
        let count = series.get("count").and_then(Value::as_i64).unwrap_or_default();
        return format!(
            "{} (x{count} over {first})",
            since(timestamp(event, "/series/lastObservedTime"), now)
        );
    }
    let count = event.get("count").and_then(Value::as_i64).unwrap_or_default();
    if count > 1 {
        return format!("{} (x{count} over {first})", since(timestamp(event, "/lastTimestamp"), now));
    }
    first
}

fn text<'a>(event: &'a Value, pointer: &str) -> &'a str {
    event.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

fn render_table(items: &[Value], all_namespaces: bool, no_headers: bool, now: OffsetDateTime) -> String {
    let mut lines = Vec::with_capacity(items.len() + 1);
    if !no_headers {
        let mut header = Vec::new();
        if all_namespaces {
            header.push("NAMESPACE".to_string());
        }
        header.extend(["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"].map(str::to_string));
        lines.push(header);
    }
    for e in items {
        let mut line = Vec::with_capacity(6);
        if all_namespaces {
            line.push(text(e, "/metadata/namespace").to_string());
        }
        line.push(interval(e, now));
        line.push(text(e, "/type").to_string());
        line.push(text(e, "/reason").to_string());
        line.push(format!("{}/{}", text(e, "/involvedObject/kind"), text(e, "/involvedObject/name")));
        line.push(clean_message(text(e, "/message")));
        lines.push(line);
    }
    tabwriter::align(&lines)
}

/// The message trimmed; tabs and terminal escapes would break the alignment.
fn clean_message(message: &str) -> String {
    message.trim().replace('\t', " ").replace('\x1b', "^[")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_match_kubectl() {
        let now =
            OffsetDateTime::parse("2026-11-21T19:00:00Z", &Rfc3339).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let e = json!({"count": 4, "firstTimestamp": "2026-11-21T18:00:00Z", "lastTimestamp": "2026-11-21T18:56:00Z"});
        assert_eq!(interval(&e, now), "4m (x4 over 60m)");
        let e = json!({"count": 1, "firstTimestamp": "2026-11-21T18:56:00Z", "lastTimestamp": "2026-11-21T18:56:00Z"});
        assert_eq!(interval(&e, now), "4m");
        let e = json!({"eventTime": "2026-11-21T18:24:00.000000Z", "series": {"count": 30, "lastObservedTime": "2026-11-21T18:52:21.000000Z"}});
        assert_eq!(interval(&e, now), "7m39s (x30 over 36m)");
        assert!(check_types(&["warning".into()]).is_ok());
        assert!(check_types(&["Bad".into()]).is_err());
    }
}
