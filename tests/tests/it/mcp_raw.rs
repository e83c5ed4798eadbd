//! Raw JSON-RPC to `/mcp` for the tests that check the door itself (protocol edges, tenancy):
//! either era, any key, any bytes.

use kubently_tests::app::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

/// Raw JSON-RPC to `/mcp` in one protocol era, as the SDKs send it: `legacy` is an initialized
/// 2025-11-25 session (`Mcp-Session-Id` on every request); `2026-07-28` stateless requests carry
/// their protocol version, client info and capabilities in `params._meta` and the
/// `MCP-Protocol-Version` / `Mcp-Method` / `Mcp-Name` headers.
pub struct Raw<'a> {
    pub app: &'a TestApp,
    key: &'a str,
    session: Option<String>,
}

pub const MODERN: &str = "2026-07-28";

impl<'a> Raw<'a> {
    /// An initialized 2025-11-25 session of `key`.
    pub async fn legacy(app: &'a TestApp, key: &'a str) -> Self {
        let mut raw = Raw { app, key, session: None };
        let response = raw.post(Some("initialize"), None, initialize(0).to_string()).await;
        assert_eq!(response.status(), 200);
        let id = response.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).expect("session id");
        raw.session = Some(id.to_string());
        let (status, _) =
            raw.send(None, json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
        assert!((200..300).contains(&status), "initialized: {status}");
        raw
    }

    /// Stateless 2026-07-28 requests of `key`.
    pub fn modern(app: &'a TestApp, key: &'a str) -> Self {
        Raw { app, key, session: None }
    }

    /// The same session, sent with another key.
    pub fn with_key(&self, key: &'a str) -> Self {
        Raw { app: self.app, key, session: self.session.clone() }
    }

    /// A GET (the session's event stream) or DELETE (ending it) of the session: the status.
    pub async fn session_request(&self, method: Method) -> u16 {
        let mut request = self
            .app
            .http
            .request(method, format!("{}/mcp", self.app.gateway.url))
            .header("X-API-Key", self.key)
            .header("Accept", "text/event-stream");
        if let Some(id) = &self.session {
            request = request.header("Mcp-Session-Id", id);
        }
        request.send().await.expect("/mcp").status().as_u16()
    }

    pub fn is_modern(&self) -> bool {
        self.session.is_none()
    }

    pub async fn post(&self, method: Option<&str>, name: Option<&str>, body: String) -> reqwest::Response {
        let mut request = self
            .app
            .http
            .post(format!("{}/mcp", self.app.gateway.url))
            .header("X-API-Key", self.key)
            .header("Accept", "application/json, text/event-stream")
            .header("Content-Type", "application/json")
            .body(body);
        if let Some(id) = &self.session {
            request = request.header("Mcp-Session-Id", id);
        } else if method != Some("initialize") {
            request = request.header("MCP-Protocol-Version", MODERN);
            if let Some(m) = method {
                request = request.header("Mcp-Method", m);
            }
            if let Some(n) = name {
                request = request.header("Mcp-Name", n);
            }
        }
        request.send().await.expect("POST /mcp")
    }

    /// Sends `message` (with the era's `_meta` when modern): the status and the JSON body (the last
    /// event's data when the answer is an event stream).
    pub async fn send(&self, id: Option<i64>, mut message: Value) -> (u16, Value) {
        let method = message["method"].as_str().map(str::to_string);
        if let Some(id) = id {
            message["id"] = json!(id);
        }
        if self.is_modern() {
            if message.get("params").is_none() {
                message["params"] = json!({});
            }
            message["params"]["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "raw-test", "version": "1"},
            });
        }
        let params = &message["params"];
        let name = ["name", "uri"].iter().find_map(|k| params[k].as_str()).map(str::to_string);
        let response = self.post(method.as_deref(), name.as_deref(), message.to_string()).await;
        answer(response).await
    }

    /// Sends `body` as it is (any bytes), with the era's headers.
    pub async fn send_raw(&self, body: &str) -> (u16, Option<String>, Value) {
        let response = self.post(Some("tools/list"), None, body.to_string()).await;
        let content_type =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(String::from);
        let (status, value) = answer(response).await;
        (status, content_type, value)
    }

    pub async fn request(&self, id: i64, method: &str, params: Value) -> (u16, Value) {
        self.send(Some(id), json!({"jsonrpc": "2.0", "method": method, "params": params})).await
    }

    /// The capabilities the server declares to a client of this era: the initialize result
    /// (2025-11-25) or `server/discover` (2026-07-28).
    pub async fn declared(&self) -> serde_json::Map<String, Value> {
        let (status, answer) = if self.is_modern() {
            self.request(90, "server/discover", json!({})).await
        } else {
            // A fresh initialize (outside the session) answers with the declared capabilities.
            let fresh = Raw::modern(self.app, self.key);
            let response = fresh.post(Some("initialize"), None, initialize(90).to_string()).await;
            answer(response).await
        };
        assert_eq!(status, 200, "{answer}");
        answer["result"]["capabilities"]
            .as_object()
            .cloned()
            .unwrap_or_else(|| panic!("capabilities: {answer}"))
    }
}

/// A 2025-11-25 `initialize` request.
pub fn initialize(id: i64) -> Value {
    let client = json!({"name": "raw-test", "version": "1"});
    let params = json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": client});
    json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": params})
}

pub async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let value = serde_json::from_str(&text).unwrap_or_else(|_| {
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .next_back()
            .unwrap_or(Value::String(text.clone()))
    });
    (status, value)
}
