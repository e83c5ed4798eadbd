//! A test OpenID Connect issuer on loopback: keys generated at start (an RSA key for RS256 and a
//! P-256 key for ES256), the discovery document and the JWKS served over HTTP, and tokens minted
//! with whatever claims a test chooses. Keys can be rotated while it runs; it counts JWKS fetches.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

/// Which key signs a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    Rs256,
    Es256,
}

/// A signing key and its public JWK.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    encoding: EncodingKey,
    pub jwk: Value,
    /// The public key (PKCS#1 DER for RSA, the SEC1 point for EC): what an HS256 forgery keys
    /// its HMAC with.
    pub public_bytes: Vec<u8>,
}

impl SigningKey {
    pub fn rsa(kid: &str) -> Self {
        let mut rng = rsa::rand_core::OsRng;
        let private = rsa::RsaPrivateKey::new(&mut rng, 2048).expect("generate an RSA key");
        let public = private.to_public_key();
        let der = private.to_pkcs1_der().expect("RSA key as DER");
        let jwk = json!({
            "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
            "n": B64URL.encode(public.n().to_bytes_be()),
            "e": B64URL.encode(public.e().to_bytes_be()),
        });
        Self {
            kid: kid.to_string(),
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            jwk,
            public_bytes: public.to_pkcs1_der().expect("public DER").as_bytes().to_vec(),
        }
    }

    pub fn ec(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("generate a P-256 key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("P-256 key");
        let point = pair.public_key().as_ref().to_vec(); // 0x04 || x || y
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
            "x": B64URL.encode(&point[1..33]), "y": B64URL.encode(&point[33..65]),
        });
        Self {
            kid: kid.to_string(),
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk,
            public_bytes: point,
        }
    }

    fn algorithm(&self) -> Algorithm {
        if self.jwk["kty"] == "RSA" { Algorithm::RS256 } else { Algorithm::ES256 }
    }

    /// A token with `claims`, signed by this key (with its `kid`).
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm());
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign a token")
    }
}

struct Keys {
    rsa: SigningKey,
    ec: SigningKey,
    /// Published besides the current ones (a rotation keeps the old key a while).
    retired: Vec<SigningKey>,
    jwks_fetches: usize,
    generation: usize,
}

/// The running issuer; stops when dropped.
pub struct TestIssuer {
    /// The issuer URL (`iss`): `http://127.0.0.1:<port>`.
    pub url: String,
    keys: Arc<Mutex<Keys>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Served {
    url: String,
    keys: Arc<Mutex<Keys>>,
}

impl TestIssuer {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the test issuer");
        let addr: SocketAddr = listener.local_addr().expect("issuer address");
        let url = format!("http://{addr}");
        let keys = Arc::new(Mutex::new(Keys {
            rsa: SigningKey::rsa("rsa-1"),
            ec: SigningKey::ec("ec-1"),
            retired: Vec::new(),
            jwks_fetches: 0,
            generation: 1,
        }));
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .with_state(Served { url: url.clone(), keys: keys.clone() });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, keys, task }
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current key of a kind.
    pub fn key(&self, signer: Signer) -> SigningKey {
        let keys = self.keys();
        match signer {
            Signer::Rs256 => keys.rsa.clone(),
            Signer::Es256 => keys.ec.clone(),
        }
    }

    /// A token with these claims, signed by the current key of that kind.
    pub fn mint(&self, signer: Signer, claims: &Value) -> String {
        self.key(signer).sign(claims)
    }

    /// Standard claims for `sub` and audience `aud`, valid from a minute ago for 10 minutes,
    /// with `extra` merged in (and overriding).
    pub fn claims(&self, sub: &str, aud: &str, extra: Value) -> Value {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut claims = json!({"iss": self.url, "sub": sub, "aud": aud, "iat": now - 60, "nbf": now - 60, "exp": now + 600});
        if let (Some(c), Some(e)) = (claims.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        claims
    }

    /// Replaces the EC key with a new one (new `kid`); the old one leaves the JWKS.
    pub fn rotate_ec(&self) -> SigningKey {
        let mut keys = self.keys();
        keys.generation += 1;
        keys.ec = SigningKey::ec(&format!("ec-{}", keys.generation));
        keys.ec.clone()
    }

    /// How often the JWKS was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.keys().jwks_fetches
    }
}

async fn discovery(State(s): State<Served>) -> Json<Value> {
    Json(json!({
        "issuer": s.url,
        "jwks_uri": format!("{}/jwks", s.url),
        "authorization_endpoint": format!("{}/authorize", s.url),
        "token_endpoint": format!("{}/token", s.url),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    }))
}

async fn jwks(State(s): State<Served>) -> Json<Value> {
    let mut keys = s.keys.lock().unwrap_or_else(|e| e.into_inner());
    keys.jwks_fetches += 1;
    let published: Vec<Value> =
        [&keys.rsa, &keys.ec].into_iter().chain(keys.retired.iter()).map(|k| k.jwk.clone()).collect();
    Json(json!({"keys": published}))
}

/// `header.payload.` with `alg: none` (no signature).
pub fn unsigned(claims: &Value) -> String {
    let header = B64URL.encode(br#"{"alg":"none","typ":"JWT"}"#);
    format!("{header}.{}.", B64URL.encode(claims.to_string()))
}

/// HS256 "signed" with the RSA public key as the HMAC secret (the algorithm-confusion attack).
pub fn hs256_with_public_key(key: &SigningKey, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(&key.public_bytes)).expect("HS256 token")
}

/// A valid token whose payload was changed after signing.
pub fn tampered(token: &str, claims: &Value) -> String {
    let mut parts = token.split('.');
    let (header, _, signature) = (parts.next().unwrap_or(""), parts.next(), parts.next().unwrap_or(""));
    format!("{header}.{}.{signature}", B64URL.encode(claims.to_string()))
}
