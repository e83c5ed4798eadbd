//! An issuer's signing keys: found through its discovery document
//! (`<issuer>/.well-known/openid-configuration` → `jwks_uri`), cached, refetched when older than
//! `jwks_max_age_seconds` or when a token names a key not in the cache (rotation) — but never more
//! than once per `jwks_refresh_min_seconds`, so tokens with made-up key ids cannot make the gateway
//! hammer the issuer. A fetch that fails keeps the keys already known.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use crate::settings::IssuerSettings;

/// Largest discovery document or JWKS read.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// What a lookup found.
pub enum KeyLookup {
    Found(DecodingKey),
    /// Not published by the issuer (even after a refetch, or one was made too recently).
    Unknown,
    /// No keys are known and fetching them failed.
    Unavailable(String),
}

pub struct JwksCache {
    issuer: String,
    jwks_uri: Option<String>,
    min_refresh: Duration,
    max_age: Duration,
    client: reqwest::Client,
    keys: RwLock<Arc<KeySet>>,
    /// When the last fetch started; held while fetching, so one runs at a time.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

#[derive(Default)]
struct KeySet {
    keys: Vec<PublicKey>,
    fetched: Option<Instant>,
}

struct PublicKey {
    kid: Option<String>,
    /// The JWK's `alg`, when it names one.
    alg: Option<String>,
    kind: KeyKind,
    key: DecodingKey,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
    P384,
}

impl KeyKind {
    fn fits(self, alg: Algorithm) -> bool {
        use Algorithm::*;
        match self {
            Self::Rsa => matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
            Self::P256 => alg == ES256,
            Self::P384 => alg == ES384,
        }
    }
}

impl KeySet {
    /// The key with `kid` that fits `alg`; without a `kid`, the only key that fits.
    fn find(&self, kid: Option<&str>, alg: Algorithm) -> Option<DecodingKey> {
        let alg_name = format!("{alg:?}");
        let mut fitting = self
            .keys
            .iter()
            .filter(|k| k.kind.fits(alg) && k.alg.as_ref().is_none_or(|a| *a == alg_name))
            .filter(|k| kid.is_none() || k.kid.as_deref() == kid);
        let first = fitting.next()?;
        (kid.is_some() || fitting.next().is_none()).then(|| first.key.clone())
    }

    fn fresh(&self, max_age: Duration) -> bool {
        self.fetched.is_some_and(|t| t.elapsed() < max_age)
    }
}

impl JwksCache {
    pub fn new(settings: &IssuerSettings) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Kubently-Gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            issuer: settings.issuer.trim_end_matches('/').to_string(),
            jwks_uri: settings.jwks_uri.clone(),
            min_refresh: Duration::from_secs(settings.jwks_refresh_min_seconds),
            max_age: Duration::from_secs(settings.jwks_max_age_seconds),
            client,
            keys: RwLock::new(Arc::default()),
            last_fetch: tokio::sync::Mutex::new(None),
        }
    }

    fn snapshot(&self) -> Arc<KeySet> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The key that verifies a token with this `kid` and `alg`.
    pub async fn key(&self, kid: Option<&str>, alg: Algorithm) -> KeyLookup {
        let set = self.snapshot();
        if set.fresh(self.max_age)
            && let Some(key) = set.find(kid, alg)
        {
            return KeyLookup::Found(key);
        }
        let mut last = self.last_fetch.lock().await;
        // Another request may have fetched while this one waited.
        let set = self.snapshot();
        let known = set.find(kid, alg);
        if let Some(key) = &known
            && set.fresh(self.max_age)
        {
            return KeyLookup::Found(key.clone());
        }
        if last.is_some_and(|t| t.elapsed() < self.min_refresh) {
            return known.map_or(KeyLookup::Unknown, KeyLookup::Found);
        }
        *last = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                tracing::info!(issuer = %self.issuer, keys = keys.len(), "fetched the issuer's signing keys");
                let set = Arc::new(KeySet { keys, fetched: Some(Instant::now()) });
                let found = set.find(kid, alg);
                *self.keys.write().unwrap_or_else(|e| e.into_inner()) = set;
                found.map_or(KeyLookup::Unknown, KeyLookup::Found)
            }
            Err(why) => {
                tracing::warn!(issuer = %self.issuer, error = %why, "cannot fetch the issuer's signing keys");
                match (known, set.fetched) {
                    (Some(key), _) => KeyLookup::Found(key),
                    (None, Some(_)) => KeyLookup::Unknown,
                    (None, None) => KeyLookup::Unavailable(format!("issuer {}: {why}", self.issuer)),
                }
            }
        }
    }

    async fn fetch(&self) -> Result<Vec<PublicKey>, String> {
        let jwks_uri = match &self.jwks_uri {
            Some(uri) => uri.clone(),
            None => {
                let url = format!("{}/.well-known/openid-configuration", self.issuer);
                let discovery = self.get_json(&url).await?;
                let issuer = discovery.get("issuer").and_then(Value::as_str).unwrap_or_default();
                if issuer.trim_end_matches('/') != self.issuer {
                    return Err(format!("the discovery document names the issuer {issuer:?}"));
                }
                let uri = discovery
                    .get("jwks_uri")
                    .and_then(Value::as_str)
                    .ok_or("the discovery document has no jwks_uri")?;
                check_url(uri).map_err(|why| format!("jwks_uri {uri:?}: {why}"))?;
                uri.to_string()
            }
        };
        let jwks = self.get_json(&jwks_uri).await?;
        let keys = jwks.get("keys").and_then(Value::as_array).ok_or("the JWKS has no keys array")?;
        Ok(keys.iter().filter_map(public_key).collect())
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        let response = self.client.get(url).send().await.map_err(|e| format!("GET {url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("GET {url}: HTTP {}", response.status()));
        }
        if response.content_length().is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64) {
            return Err(format!("GET {url}: larger than {MAX_DOCUMENT_BYTES} bytes"));
        }
        let body = response.bytes().await.map_err(|e| format!("GET {url}: {e}"))?;
        if body.len() > MAX_DOCUMENT_BYTES {
            return Err(format!("GET {url}: larger than {MAX_DOCUMENT_BYTES} bytes"));
        }
        serde_json::from_slice(&body).map_err(|e| format!("GET {url}: not JSON: {e}"))
    }
}

/// A signature-verification key from one JWK; others (encryption keys, symmetric keys, curves
/// not supported) are skipped.
fn public_key(jwk: &Value) -> Option<PublicKey> {
    let field = |name: &str| jwk.get(name).and_then(Value::as_str);
    if field("use").is_some_and(|u| u != "sig") {
        return None;
    }
    let (kind, key) = match (field("kty")?, field("crv")) {
        ("RSA", _) => (KeyKind::Rsa, DecodingKey::from_rsa_components(field("n")?, field("e")?).ok()?),
        ("EC", Some("P-256")) => {
            (KeyKind::P256, DecodingKey::from_ec_components(field("x")?, field("y")?).ok()?)
        }
        ("EC", Some("P-384")) => {
            (KeyKind::P384, DecodingKey::from_ec_components(field("x")?, field("y")?).ok()?)
        }
        _ => return None,
    };
    Some(PublicKey {
        kid: field("kid").map(str::to_string),
        alg: field("alg").map(str::to_string),
        kind,
        key,
    })
}

/// Issuer and JWKS URLs: https, or http to a loopback IP literal (a local test issuer).
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    let host = parsed.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    let loopback = host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err("must be https (or http to a loopback IP address)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn urls_must_be_https_but_for_loopback() {
        assert!(check_url("https://idp.example.com").is_ok());
        assert!(check_url("http://127.0.0.1:9000/realms/x").is_ok());
        assert!(check_url("http://[::1]:9000").is_ok());
        assert!(check_url("http://idp.example.com").is_err());
        assert!(check_url("http://10.0.0.1").is_err());
        assert!(check_url("idp").is_err());
    }

    #[test]
    fn keys_are_matched_by_kid_and_algorithm() {
        let ec = json!({"kty": "EC", "crv": "P-256", "kid": "ec1", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
        let rsa = json!({"kty": "RSA", "kid": "rsa1", "alg": "RS256", "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw", "e": "AQAB"});
        let enc = json!({"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"});
        let keys: Vec<_> =
            [ec, rsa, enc, json!({"kty": "oct", "k": "c2VjcmV0"})].iter().filter_map(public_key).collect();
        assert_eq!(keys.len(), 2, "encryption and symmetric keys are skipped");
        let set = KeySet { keys, fetched: Some(Instant::now()) };
        assert!(set.find(Some("rsa1"), Algorithm::RS256).is_some());
        assert!(set.find(Some("rsa1"), Algorithm::PS256).is_none(), "the JWK pins RS256");
        assert!(set.find(Some("rsa1"), Algorithm::ES256).is_none());
        assert!(set.find(Some("ec1"), Algorithm::ES256).is_some());
        assert!(set.find(Some("ec1"), Algorithm::ES384).is_none());
        assert!(set.find(None, Algorithm::ES256).is_some(), "the only P-256 key");
        assert!(set.find(Some("nope"), Algorithm::RS256).is_none());
    }
}
