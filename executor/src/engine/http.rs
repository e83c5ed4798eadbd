//! Raw GETs against the API server: paths built from discovery, path segments validated and
//! escaped as client-go does (a name is never able to change which URL is read), bodies returned
//! as text so they are parsed here and never logged.

use http::header::ACCEPT;

use super::EngineError;
use super::discovery::ApiResourceInfo;

/// Server-side printing, as kubectl asks for it (Table v1, then v1beta1, then plain JSON).
pub const ACCEPT_TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
pub const ACCEPT_JSON: &str = "application/json";

/// GET `path_and_query` with the given `Accept`; API errors become [`EngineError::Api`].
pub async fn get_text(
    client: &kube::Client,
    path_and_query: &str,
    accept: &str,
) -> Result<String, EngineError> {
    let request = http::Request::get(path_and_query)
        .header(ACCEPT, accept)
        .body(Vec::new())
        .map_err(|source| EngineError::BuildRequest { path: path_and_query.to_string(), source })?;
    Ok(client.request_text(request).await?)
}

/// GET and parse as JSON.
pub async fn get_json(
    client: &kube::Client,
    path_and_query: &str,
    accept: &str,
) -> Result<serde_json::Value, EngineError> {
    let text = get_text(client, path_and_query, accept).await?;
    serde_json::from_str(&text).map_err(|e| EngineError::decode(path_without_query(path_and_query), e))
}

fn path_without_query(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}

/// `/api/v1/namespaces/<ns>/pods`, `/apis/apps/v1/deployments` (all namespaces or cluster-scoped).
pub fn collection_path(resource: &ApiResourceInfo, namespace: Option<&str>) -> Result<String, EngineError> {
    let root = if resource.group.is_empty() {
        format!("/api/{}", resource.version)
    } else {
        format!("/apis/{}/{}", resource.group, resource.version)
    };
    match namespace.filter(|_| resource.namespaced) {
        Some(ns) => {
            check_segment("namespace", ns)?;
            Ok(format!("{root}/namespaces/{}/{}", escape(ns), resource.plural))
        }
        None => Ok(format!("{root}/{}", resource.plural)),
    }
}

/// The collection path plus `/<name>`.
pub fn object_path(
    resource: &ApiResourceInfo,
    namespace: Option<&str>,
    name: &str,
) -> Result<String, EngineError> {
    check_segment("resource name", name)?;
    Ok(format!("{}/{}", collection_path(resource, namespace)?, escape(name)))
}

/// client-go's `IsValidPathSegmentName` check, with its wording.
fn check_segment(what: &str, value: &str) -> Result<(), EngineError> {
    let problem = match value {
        "" => Some("may not be empty".to_string()),
        "." | ".." => Some(format!("may not be '{value}'")),
        _ => ["/", "%"].iter().find(|c| value.contains(**c)).map(|c| format!("may not contain '{c}'")),
    };
    match problem {
        Some(p) => Err(EngineError::Invalid(format!("invalid {what} {value:?}: [{p}]"))),
        None => Ok(()),
    }
}

/// Query string builder (`?a=b&c=d`, values percent-encoded).
#[derive(Debug, Default, Clone)]
pub struct Query(Vec<(&'static str, String)>);

impl Query {
    pub fn push(&mut self, key: &'static str, value: impl Into<String>) -> &mut Self {
        self.0.push((key, value.into()));
        self
    }

    pub fn push_opt(&mut self, key: &'static str, value: Option<&str>) -> &mut Self {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            self.0.push((key, v.to_string()));
        }
        self
    }

    /// `path` with this query appended.
    pub fn on(&self, path: &str) -> String {
        if self.0.is_empty() {
            return path.to_string();
        }
        let pairs: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={}", escape(v))).collect();
        format!("{path}?{}", pairs.join("&"))
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pods() -> ApiResourceInfo {
        ApiResourceInfo {
            group: String::new(),
            version: "v1".into(),
            plural: "pods".into(),
            singular: "pod".into(),
            kind: "Pod".into(),
            namespaced: true,
            verbs: vec!["get".into(), "list".into()],
            short_names: vec!["po".into()],
            categories: vec!["all".into()],
            preferred: true,
        }
    }

    #[test]
    fn paths_are_built_and_escaped() {
        let p = pods();
        assert_eq!(collection_path(&p, Some("demo")).ok().as_deref(), Some("/api/v1/namespaces/demo/pods"));
        assert_eq!(collection_path(&p, None).ok().as_deref(), Some("/api/v1/pods"));
        assert_eq!(
            object_path(&p, Some("demo"), "a;rm -rf ?x").ok().as_deref(),
            Some("/api/v1/namespaces/demo/pods/a%3Brm%20-rf%20%3Fx")
        );
        let deploy = ApiResourceInfo { group: "apps".into(), plural: "deployments".into(), ..p.clone() };
        assert_eq!(
            collection_path(&deploy, Some("x")).ok().as_deref(),
            Some("/apis/apps/v1/namespaces/x/deployments")
        );
        let nodes = ApiResourceInfo { namespaced: false, plural: "nodes".into(), ..p };
        assert_eq!(object_path(&nodes, Some("ignored"), "n1").ok().as_deref(), Some("/api/v1/nodes/n1"));
    }

    #[test]
    fn path_traversal_is_refused_like_client_go() {
        let p = pods();
        let e = object_path(&p, Some("demo"), "..").err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("error: invalid resource name \"..\": [may not be '..']"));
        assert!(object_path(&p, Some("demo"), "a/b").is_err());
        assert!(collection_path(&p, Some("../x")).is_err());
    }

    #[test]
    fn queries_are_encoded() {
        let mut q = Query::default();
        q.push("labelSelector", "app in (a,b)").push_opt("fieldSelector", None).push("limit", "500");
        assert_eq!(q.on("/api/v1/pods"), "/api/v1/pods?labelSelector=app%20in%20%28a%2Cb%29&limit=500");
        assert_eq!(Query::default().on("/x"), "/x");
    }
}
