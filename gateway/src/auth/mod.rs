//! Who is calling: an API key (`X-API-Key`) or a bearer token from a trusted OpenID Connect issuer
//! (`Authorization: Bearer <JWT>`), on every door. A refusal is a 401 whose `WWW-Authenticate`
//! names both schemes; the bearer challenge points at this gateway's OAuth protected resource
//! metadata (RFC 9728), which MCP clients follow to find the authorization server.

mod jwks;
mod keys;
mod metadata;
mod tokens;

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kubently_shared::protocol::{Caller as WireCaller, KubernetesIdentity, TokenIdentity};

pub use keys::{KeyConfigError, KeyRing};
pub use metadata::{METADATA_PATH, ProtectedResourceMetadata};
pub use tokens::{TokenError, TokenVerifier};

use crate::error::AppError;
use crate::settings::Settings;

pub const API_KEY_HEADER: &str = "x-api-key";

/// The authenticated caller: one configured key (service names are unique, so the service name
/// identifies the key) or a validated bearer token. What it may use and see is decided in
/// `crate::app::access`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Identity: owner of sessions and results, recorded in audit. A token caller's is
    /// `<issuer name>:<subject>`.
    pub service: String,
    /// Empty = every cluster.
    pub clusters: Vec<String>,
    pub admin: bool,
    /// The issuer and subject, for a bearer-token caller.
    pub token: Option<TokenIdentity>,
    /// Who the caller is in Kubernetes (clusters that impersonate run its commands as this).
    pub kubernetes: Option<KubernetesIdentity>,
}

impl Caller {
    /// An API-key caller without a Kubernetes identity.
    pub fn key(service: impl Into<String>, clusters: Vec<String>, admin: bool) -> Self {
        Self { service: service.into(), clusters, admin, token: None, kubernetes: None }
    }

    /// The caller as commands carry it (signed).
    pub fn wire(&self) -> WireCaller {
        WireCaller {
            service: self.service.clone(),
            token: self.token.clone(),
            kubernetes: self.kubernetes.clone(),
        }
    }
}

/// Why authentication could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error(transparent)]
    Keys(#[from] KeyConfigError),
    #[error("auth.oidc.issuers: {0}")]
    Issuer(String),
    #[error("nothing can authenticate: auth.api_keys_enabled is false and auth.oidc.issuers is empty")]
    Nothing,
}

/// Every way in: the API keys (unless disabled) and the bearer-token issuers. Cheap to clone.
#[derive(Clone)]
pub struct Authenticator {
    keys: Option<KeyRing>,
    tokens: Option<Arc<TokenVerifier>>,
    public_url: Option<String>,
}

impl Authenticator {
    pub fn from_settings(settings: &Settings) -> Result<Self, AuthConfigError> {
        let auth = &settings.auth;
        let tokens = match auth.oidc.issuers.is_empty() {
            true => None,
            false => Some(Arc::new(TokenVerifier::from_settings(
                &auth.oidc,
                settings.server.public_url.as_deref(),
            )?)),
        };
        let keys = match (auth.api_keys_enabled, KeyRing::from_settings(auth)) {
            (false, _) => None,
            (true, Ok(keys)) => Some(keys),
            (true, Err(KeyConfigError::Empty)) if tokens.is_some() => None,
            (true, Err(e)) => return Err(e.into()),
        };
        if keys.is_none() && tokens.is_none() {
            return Err(AuthConfigError::Nothing);
        }
        Ok(Self { keys, tokens, public_url: settings.server.public_url.clone() })
    }

    /// The caller the request's credentials name, or the 401/403 that refuses it.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, AppError> {
        // Without issuers, `Authorization` is not ours to read (a proxy's, say): keys only.
        let bearer = self.tokens.as_ref().and_then(|_| headers.get(header::AUTHORIZATION)).map(bearer_token);
        let key = headers.get(API_KEY_HEADER);
        match (bearer, key) {
            (Some(_), Some(_)) => {
                Err(self.refuse(headers, "Present one credential: an API key or a bearer token, not both"))
            }
            (Some(None), None) => Err(self.refuse(headers, "Authorization must be `Bearer <token>`")),
            (Some(Some(token)), None) => match &self.tokens {
                Some(verifier) => verifier.verify(token).await.map_err(|e| self.token_refusal(headers, e)),
                None => Err(self.refuse(headers, "Bearer tokens are not accepted here")),
            },
            (None, Some(key)) => {
                let Some(keys) = &self.keys else {
                    return Err(self.refuse(headers, "API keys are disabled here; present a bearer token"));
                };
                key.to_str()
                    .ok()
                    .and_then(|k| keys.verify(k))
                    .ok_or_else(|| self.refuse(headers, "Invalid API key"))
            }
            (None, None) => Err(self.refuse(headers, self.missing())),
        }
    }

    fn missing(&self) -> &'static str {
        match (&self.keys, &self.tokens) {
            (Some(_), None) => "Missing API key",
            (None, _) => "Missing bearer token",
            (Some(_), Some(_)) => "Missing credentials: an X-API-Key or an Authorization: Bearer token",
        }
    }

    /// The protected resource metadata (RFC 9728), when bearer tokens are accepted.
    pub fn metadata(&self, headers: &HeaderMap) -> Option<ProtectedResourceMetadata> {
        self.tokens.as_ref().map(|t| t.metadata(&self.resource(headers)))
    }

    /// This gateway's resource URL: `server.public_url`, else the request's `Host` over http.
    fn resource(&self, headers: &HeaderMap) -> String {
        base_url(self.public_url.as_deref(), headers)
    }

    fn refuse(&self, headers: &HeaderMap, detail: &str) -> AppError {
        AppError::Unauthorized { detail: detail.to_string(), challenges: self.challenges(headers, None) }
    }

    fn token_refusal(&self, headers: &HeaderMap, error: TokenError) -> AppError {
        match error {
            TokenError::Unavailable(why) => AppError::IssuerUnavailable(why),
            TokenError::Forbidden(detail) => AppError::Forbidden(detail),
            TokenError::MissingScope(ref scopes) => AppError::Unauthorized {
                detail: error.to_string(),
                challenges: vec![bearer_challenge(
                    &self.resource(headers),
                    Some(("insufficient_scope", &error.to_string())),
                    Some(scopes),
                )],
            },
            e => AppError::Unauthorized {
                detail: format!("Invalid bearer token: {e}"),
                challenges: self.challenges(headers, Some(&e.to_string())),
            },
        }
    }

    /// One `WWW-Authenticate` value per scheme this gateway accepts.
    fn challenges(&self, headers: &HeaderMap, token_error: Option<&str>) -> Vec<HeaderValue> {
        let mut out = Vec::new();
        if self.tokens.is_some() {
            let error = token_error.map(|d| ("invalid_token", d));
            out.push(bearer_challenge(&self.resource(headers), error, None));
        }
        if self.keys.is_some() {
            out.push(HeaderValue::from_static("ApiKey"));
        }
        out
    }
}

/// `Bearer resource_metadata="…"`, with the error and scope parameters when given.
fn bearer_challenge(resource: &str, error: Option<(&str, &str)>, scope: Option<&[String]>) -> HeaderValue {
    let mut value = format!("Bearer resource_metadata=\"{}\"", metadata::url(resource));
    if let Some((code, description)) = error {
        let description: String =
            description.chars().filter(|c| *c != '"' && *c != '\\' && !c.is_control()).collect();
        value.push_str(&format!(", error=\"{code}\", error_description=\"{description}\""));
    }
    if let Some(scope) = scope {
        value.push_str(&format!(", scope=\"{}\"", scope.join(" ")));
    }
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// The token of an `Authorization: Bearer <token>` header; `None` for another scheme.
fn bearer_token(value: &HeaderValue) -> Option<&str> {
    let value = value.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// The URL agents reach this gateway at: `public_url`, else the request's `Host` over http.
pub fn base_url(public_url: Option<&str>, headers: &HeaderMap) -> String {
    let base = public_url.map(str::to_string).unwrap_or_else(|| {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
        format!("http://{host}")
    });
    base.trim_end_matches('/').to_string()
}

impl<S> FromRequestParts<S> for Caller
where
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        Authenticator::from_ref(state).authenticate(&parts.headers).await
    }
}

/// Middleware for the MCP and A2A doors: 401 without valid credentials (like REST), and the
/// caller in the request's extensions for what runs behind it.
pub async fn require_caller(State(auth): State<Authenticator>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    match auth.authenticate(&parts.headers).await {
        Ok(caller) => {
            parts.extensions.insert(caller);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(rejection) => rejection.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_from_the_bearer_scheme_only() {
        let v = |s: &'static str| HeaderValue::from_static(s);
        assert_eq!(bearer_token(&v("Bearer abc.def.ghi")), Some("abc.def.ghi"));
        assert_eq!(bearer_token(&v("bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&v("Basic abc")), None);
        assert_eq!(bearer_token(&v("Bearer ")), None);
        assert_eq!(bearer_token(&v("Bearer")), None);
    }

    #[test]
    fn challenges_name_the_metadata_and_never_break_the_header() {
        let c = bearer_challenge("https://k.example.com", Some(("invalid_token", "bad \"quote\"\n")), None);
        assert_eq!(
            c.to_str().expect("ASCII"),
            "Bearer resource_metadata=\"https://k.example.com/.well-known/oauth-protected-resource\", \
             error=\"invalid_token\", error_description=\"bad quote\""
        );
    }
}
