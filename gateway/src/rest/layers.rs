//! What wraps every door (REST, MCP, A2A): a cap on request bodies and a panic catcher, so a
//! hostile request is an error answer, never a dropped connection or a crashed handler.

use std::any::Any;

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{AppError, too_large};

/// Bodies over `max` bytes: 413 at once when the declared length says so; otherwise the body is
/// cut off at `max` and reading it fails (the JSON extractors answer 413, MCP and A2A an error).
pub async fn limit_body(State(max): State<usize>, request: Request, next: Next) -> Response {
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return AppError::TooLarge(too_large()).into_response();
    }
    let (parts, body) = request.into_parts();
    next.run(Request::from_parts(parts, Body::new(http_body_util::Limited::new(body, max)))).await
}

/// A handler that panicked: 500 with an error id, the panic in the log.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    let id = uuid::Uuid::new_v4();
    tracing::error!(error_id = %id, panic = what, "request handler panicked");
    let body = json!({"detail": format!("internal error (id {id}; details in the gateway log)")});
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;
    use tower::ServiceExt;

    /// A body without a declared length (a stream) is cut off at the limit while it is read.
    #[tokio::test]
    async fn a_streamed_body_over_the_limit_is_a_413() {
        let app = axum::Router::new()
            .route(
                "/",
                post(|body: crate::rest::Body<serde_json::Value>| async move {
                    body.map(|_| "read").map_err(AppError::from)
                }),
            )
            .layer(axum::middleware::from_fn_with_state(1024usize, limit_body));
        let send = |size: usize| {
            let chunks = (0..size.div_ceil(100)).map(|_| Ok::<_, std::io::Error>(vec![b' '; 100]));
            let body = Body::from_stream(futures::stream::iter(chunks));
            let request = Request::post("/")
                .header(header::CONTENT_TYPE, "application/json")
                .body(body)
                .expect("request");
            app.clone().oneshot(request)
        };
        assert_eq!(send(2000).await.expect("response").status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            send(500).await.expect("response").status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "read, and blank is not JSON"
        );
    }

    #[tokio::test]
    async fn a_panic_is_a_500_with_an_error_id() {
        let response = panic_response(Box::new("boom"));
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let bytes = axum::body::to_bytes(response.into_body(), 4096).await.expect("body");
        let body: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.starts_with("internal error (id ") && !detail.contains("boom"), "{detail}");
    }
}
