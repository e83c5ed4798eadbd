//! OAuth 2.0 Protected Resource Metadata (RFC 9728): what an MCP client reads, after a 401 whose
//! `WWW-Authenticate` points here, to find the authorization server that issues tokens for this
//! gateway, and the resource identifier (RFC 8707) to ask a token for.

use serde::Serialize;

/// Where the metadata is served (for the resource identifier at the gateway's root).
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// The metadata document's URL for the resource `resource` (a URL without a trailing `/`).
pub fn url(resource: &str) -> String {
    format!("{resource}{METADATA_PATH}")
}

#[derive(Debug, Clone, Serialize)]
pub struct ProtectedResourceMetadata {
    /// This gateway's resource identifier: tokens must be issued for it (their `aud`).
    pub resource: String,
    pub authorization_servers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    pub bearer_methods_supported: Vec<&'static str>,
    pub resource_name: &'static str,
    pub resource_documentation: &'static str,
}
