//! `GET /.well-known/oauth-protected-resource`: the protected resource metadata (RFC 9728) MCP
//! clients read after a 401 to find the authorization server; unauthenticated, like any discovery
//! document. 404 when the gateway takes no bearer tokens.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::AppError;

pub async fn protected_resource(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match state.auth.metadata(&headers) {
        Some(metadata) => {
            ([(axum::http::header::CACHE_CONTROL, "max-age=300")], Json(metadata)).into_response()
        }
        None => {
            AppError::NotFound("This gateway accepts no bearer tokens (auth.oidc.issuers is empty)".into())
                .into_response()
        }
    }
}
