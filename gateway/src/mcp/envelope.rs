//! What rmcp is given to parse: a POST body that is not one JSON-RPC message rmcp can read gets a
//! JSON-RPC error here (HTTP 400, `application/json`) instead of rmcp's 415 text: -32700 for
//! malformed JSON; -32600 for a batch (an array), any other non-object, an `id` that is neither a
//! string nor an integer in i64 range, or an envelope that is no request, notification or response
//! rmcp reads. The answer's `id` is the message's when it could be read, else null.

use axum::response::{IntoResponse, Response};
use rmcp::model::ClientJsonRpcMessage;
use serde_json::{Map, Value, json};

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;

/// Why a body is not a message: the JSON-RPC error code, the message, and the id to answer with.
#[derive(Debug, PartialEq)]
pub struct Refusal {
    pub code: i64,
    pub message: String,
    pub id: Value,
}

impl Refusal {
    fn new(code: i64, message: impl Into<String>, id: Value) -> Self {
        Self { code, message: message.into(), id }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body =
            json!({"jsonrpc": "2.0", "id": self.id, "error": {"code": self.code, "message": self.message}});
        (http::StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
    }
}

/// `Ok` when `body` is one JSON-RPC message rmcp can read.
pub fn check(body: &[u8]) -> Result<(), Refusal> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Refusal::new(PARSE_ERROR, format!("Parse error: {e}"), Value::Null))?;
    let message = match value {
        Value::Object(message) => message,
        Value::Array(_) => {
            return Err(Refusal::new(
                INVALID_REQUEST,
                "Invalid Request: batches (JSON arrays) are not supported; send one message per request",
                Value::Null,
            ));
        }
        _ => {
            return Err(Refusal::new(
                INVALID_REQUEST,
                "Invalid Request: the body must be a JSON-RPC message (an object)",
                Value::Null,
            ));
        }
    };
    let id = match message.get("id") {
        None => Value::Null,
        Some(id @ Value::String(_)) => id.clone(),
        Some(id @ Value::Number(n)) if n.as_i64().is_some() => id.clone(),
        Some(_) => {
            return Err(Refusal::new(
                INVALID_REQUEST,
                "Invalid Request: id must be a string or an integer in the signed 64-bit range",
                Value::Null,
            ));
        }
    };
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(Refusal::new(INVALID_REQUEST, "Invalid Request: jsonrpc must be \"2.0\"", id));
    }
    if let Err(why) = envelope(&message, &id) {
        return Err(Refusal::new(INVALID_REQUEST, why, id));
    }
    serde_json::from_slice::<ClientJsonRpcMessage>(body)
        .map(|_| ())
        .map_err(|e| Refusal::new(INVALID_REQUEST, format!("Invalid Request: {e}"), id))
}

/// `Ok` for a request, a notification or a response; else why the envelope is none of them.
fn envelope(message: &Map<String, Value>, id: &Value) -> Result<(), String> {
    match message.get("method") {
        Some(Value::String(method)) => {
            if message.get("params").is_some_and(|p| !p.is_object()) {
                return Err(format!("Invalid Request: params of {method} must be an object"));
            }
            Ok(())
        }
        Some(_) => Err("Invalid Request: method must be a string".into()),
        None if id.is_null() => Err("Invalid Request: no method (and no id)".into()),
        None if message.contains_key("result") || message.contains_key("error") => Ok(()),
        None => Err("Invalid Request: no method".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(body: &str) -> Result<(), (i64, Value)> {
        check(body.as_bytes()).map_err(|r| (r.code, r.id))
    }

    #[test]
    fn one_readable_message_passes() {
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":"a","method":"tools/list","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":-9223372036854775808,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":9223372036854775807,"method":"no/such/method"}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":3,"result":{}}"#,
        ] {
            assert_eq!(code(body), Ok(()), "{body}");
        }
    }

    #[test]
    fn malformed_json_is_a_parse_error_with_a_null_id() {
        for body in ["", "{", r#"{"jsonrpc":"2.0","id":1,"method":"tools/list""#, "nope", "\u{feff}{}"] {
            assert_eq!(code(body), Err((PARSE_ERROR, Value::Null)), "{body:?}");
        }
    }

    #[test]
    fn batches_other_values_and_bad_ids_are_invalid_requests() {
        for body in [
            r#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#,
            "[]",
            "1",
            r#""tools/list""#,
            "null",
            r#"{"jsonrpc":"2.0","id":9223372036854775808,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":-9223372036854775809,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":1e30,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":1.5,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":true,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":{},"method":"tools/list"}"#,
        ] {
            assert_eq!(code(body), Err((INVALID_REQUEST, Value::Null)), "{body}");
        }
        for body in [
            r#"{"jsonrpc":"1.0","id":7,"method":"tools/list"}"#,
            r#"{"id":7,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":7}"#,
            r#"{"jsonrpc":"2.0","id":7,"method":3}"#,
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/list","params":[1]}"#,
        ] {
            assert_eq!(code(body), Err((INVALID_REQUEST, json!(7))), "{body}");
        }
    }

    #[test]
    fn an_envelope_rmcp_cannot_read_is_an_invalid_request() {
        let body = r#"{"jsonrpc":"2.0","id":"x","error":3}"#;
        assert_eq!(code(body), Err((INVALID_REQUEST, json!("x"))));
    }
}
