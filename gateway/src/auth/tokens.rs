//! Bearer tokens: JWTs from configured OpenID Connect issuers, validated here (issuer, audience,
//! expiry and not-before with a small leeway, a signature by a key from the issuer's JWKS with an
//! asymmetric algorithm the issuer is configured for) and mapped to a [`Caller`]: subject, groups,
//! Kubernetes user, and the clusters it may use. Tokens are never logged, nor put in errors.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Validation};
use kubently_shared::protocol::{KubernetesIdentity, TokenIdentity};
use serde_json::{Map, Value};

use super::jwks::{JwksCache, KeyLookup};
use super::metadata::ProtectedResourceMetadata;
use super::{AuthConfigError, Caller};
use crate::settings::{IssuerSettings, OidcSettings};

/// Longest token read (a JWT with many groups stays well below).
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why a token was refused. The texts are for the caller: they name the check, never the token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("not a JWT ({0})")]
    Malformed(&'static str),
    #[error("the issuer {0:?} is not trusted here")]
    UnknownIssuer(String),
    #[error("algorithm {0} is not accepted (accepted: {1})")]
    Algorithm(String, String),
    #[error("signed by a key the issuer does not publish (kid {0:?})")]
    UnknownKey(Option<String>),
    #[error("{0}")]
    Invalid(&'static str),
    #[error("the token lacks the scopes {}", .0.join(" "))]
    MissingScope(Vec<String>),
    /// Valid, but allowed nothing here.
    #[error("{0}")]
    Forbidden(String),
    /// The issuer's keys could not be fetched.
    #[error("{0}")]
    Unavailable(String),
}

/// Every trusted issuer.
pub struct TokenVerifier {
    issuers: Vec<Issuer>,
    authorization_servers: Vec<String>,
    scopes_supported: Vec<String>,
}

struct Issuer {
    settings: IssuerSettings,
    audience: String,
    algorithms: Vec<Algorithm>,
    jwks: JwksCache,
}

impl TokenVerifier {
    pub fn from_settings(oidc: &OidcSettings, public_url: Option<&str>) -> Result<Self, AuthConfigError> {
        let bad = |s: &IssuerSettings, why: String| AuthConfigError::Issuer(format!("{:?}: {why}", s.name));
        let mut names = BTreeSet::new();
        let mut issuers = Vec::new();
        for s in &oidc.issuers {
            if s.name.is_empty()
                || !s.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                return Err(bad(
                    s,
                    "name must be non-empty [a-z0-9-] (owner names are `<name>:<sub>`)".into(),
                ));
            }
            if !names.insert(s.name.clone()) {
                return Err(bad(s, "name is given to more than one issuer".into()));
            }
            super::jwks::check_url(&s.issuer).map_err(|why| bad(s, format!("issuer: {why}")))?;
            if let Some(uri) = &s.jwks_uri {
                super::jwks::check_url(uri).map_err(|why| bad(s, format!("jwks_uri: {why}")))?;
            }
            let audience =
                s.audience.clone().or_else(|| public_url.map(|u| u.trim_end_matches('/').to_string()));
            let audience = audience.ok_or_else(|| {
                bad(s, "no audience: set its audience, or server.public_url (the resource URL tokens are issued for)".into())
            })?;
            let algorithms = s
                .algorithms
                .iter()
                .map(|a| {
                    parse_algorithm(a)
                        .ok_or_else(|| bad(s, format!("algorithm {a:?} is not one of {ACCEPTED}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if algorithms.is_empty() {
                return Err(bad(s, format!("algorithms is empty (choose from {ACCEPTED})")));
            }
            if s.jwks_refresh_min_seconds == 0 || s.jwks_max_age_seconds < s.jwks_refresh_min_seconds {
                return Err(bad(
                    s,
                    "jwks_refresh_min_seconds must be at least 1 and at most jwks_max_age_seconds".into(),
                ));
            }
            if s.leeway_seconds > 300 {
                return Err(bad(s, "leeway_seconds is at most 300".into()));
            }
            issuers.push(Issuer { jwks: JwksCache::new(s), settings: s.clone(), audience, algorithms });
        }
        let authorization_servers = match oidc.authorization_servers.is_empty() {
            true => issuers.iter().map(|i| i.settings.issuer.clone()).collect(),
            false => oidc.authorization_servers.clone(),
        };
        Ok(Self { issuers, authorization_servers, scopes_supported: oidc.scopes_supported.clone() })
    }

    pub fn metadata(&self, resource: &str) -> ProtectedResourceMetadata {
        ProtectedResourceMetadata {
            resource: resource.to_string(),
            authorization_servers: self.authorization_servers.clone(),
            scopes_supported: self.scopes_supported.clone(),
            bearer_methods_supported: vec!["header"],
            resource_name: "Kubently",
            resource_documentation: "https://github.com/kubently/kubently#identity",
        }
    }

    /// The caller `token` names, if it is valid here.
    pub async fn verify(&self, token: &str) -> Result<Caller, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed("longer than 16 KiB"));
        }
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed("unreadable header"))?;
        let iss = unverified_issuer(token)?;
        let issuer = self
            .issuers
            .iter()
            .find(|i| i.settings.issuer == iss)
            .ok_or_else(|| TokenError::UnknownIssuer(iss.clone()))?;
        if !issuer.algorithms.contains(&header.alg) {
            let accepted = issuer.settings.algorithms.join(", ");
            return Err(TokenError::Algorithm(format!("{:?}", header.alg), accepted));
        }
        let key = match issuer.jwks.key(header.kid.as_deref(), header.alg).await {
            KeyLookup::Found(key) => key,
            KeyLookup::Unknown => return Err(TokenError::UnknownKey(header.kid)),
            KeyLookup::Unavailable(why) => return Err(TokenError::Unavailable(why)),
        };
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.leeway = issuer.settings.leeway_seconds;
        validation.validate_nbf = true;
        validation.set_issuer(&[&issuer.settings.issuer]);
        validation.set_audience(&[&issuer.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| TokenError::Invalid(reason(e.kind())))?
            .claims;
        issuer.caller(&claims)
    }
}

const ACCEPTED: &str = "RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384";

/// Asymmetric algorithms only: an HMAC "signature" keyed with a public key proves nothing.
fn parse_algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        _ => return None,
    })
}

/// The `iss` claim, read before the signature is checked only to pick whose keys check it.
fn unverified_issuer(token: &str) -> Result<String, TokenError> {
    let payload = token.split('.').nth(1).ok_or(TokenError::Malformed("no payload"))?;
    let bytes =
        URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Malformed("payload is not base64url"))?;
    let claims: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed("payload is not a JSON object"))?;
    match claims.get("iss") {
        Some(Value::String(iss)) => Ok(iss.clone()),
        _ => Err(TokenError::Invalid("the token has no iss claim")),
    }
}

fn reason(kind: &jsonwebtoken::errors::ErrorKind) -> &'static str {
    use jsonwebtoken::errors::ErrorKind as K;
    match kind {
        K::ExpiredSignature => "the token has expired",
        K::ImmatureSignature => "the token is not valid yet (nbf)",
        K::InvalidAudience => "the token was issued for another resource (aud)",
        K::InvalidIssuer => "the token's issuer does not match (iss)",
        K::InvalidSignature => "the signature does not verify",
        K::InvalidAlgorithm | K::InvalidAlgorithmName => "the algorithm does not fit the key",
        K::MissingRequiredClaim(_) => "the token lacks a required claim (exp, iss, aud, sub)",
        K::InvalidSubject => "the subject does not match",
        _ => "the token is not valid",
    }
}

impl Issuer {
    /// Claims → caller: owner `<name>:<sub>`, the Kubernetes user from the username claim, the
    /// groups, and the clusters from the clusters claim and the group mapping.
    fn caller(&self, claims: &Map<String, Value>) -> Result<Caller, TokenError> {
        let s = &self.settings;
        let subject = match claims.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() && !sub.chars().any(char::is_control) => sub.clone(),
            _ => return Err(TokenError::Invalid("the sub claim is not a non-empty string")),
        };
        let granted = strings(claims.get("scope"))
            .into_iter()
            .chain(strings(claims.get("scp")))
            .collect::<BTreeSet<_>>();
        let missing: Vec<String> =
            s.required_scopes.iter().filter(|r| !granted.contains(*r)).cloned().collect();
        if !missing.is_empty() {
            return Err(TokenError::MissingScope(missing));
        }
        let groups = strings(claims.get(&s.groups_claim));
        let mut clusters: BTreeSet<String> = s
            .clusters_claim
            .as_ref()
            .map(|c| strings(claims.get(c)))
            .unwrap_or_default()
            .into_iter()
            .collect();
        for group in &groups {
            clusters.extend(s.group_clusters.get(group).into_iter().flatten().cloned());
        }
        let admin = groups.iter().any(|g| s.admin_groups.contains(g));
        let owner = format!("{}:{subject}", s.name);
        if clusters.is_empty() && !admin {
            return Err(TokenError::Forbidden(format!(
                "the token of {owner} grants no cluster: it has no {} claim and none of its groups is in \
                 the issuer's group_clusters",
                s.clusters_claim.as_deref().unwrap_or("clusters")
            )));
        }
        let clusters = if clusters.contains("*") { Vec::new() } else { clusters.into_iter().collect() };
        let kubernetes = match claims.get(&s.username_claim) {
            Some(Value::String(user)) if !user.is_empty() => {
                Some(KubernetesIdentity { user: user.clone(), groups: groups.clone() })
            }
            _ => None,
        };
        Ok(Caller {
            service: owner,
            clusters,
            admin,
            token: Some(TokenIdentity { issuer: s.issuer.clone(), subject }),
            kubernetes,
        })
    }
}

/// A claim as strings: an array of strings, or one space-separated string (`scope`).
fn strings(claim: Option<&Value>) -> Vec<String> {
    match claim {
        Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn issuer() -> Issuer {
        let settings = IssuerSettings {
            name: "corp".into(),
            issuer: "https://idp.example.com".into(),
            clusters_claim: Some("kubently_clusters".into()),
            group_clusters: [
                ("sre".to_string(), vec!["*".to_string()]),
                ("web".to_string(), vec!["shop".to_string()]),
            ]
            .into(),
            admin_groups: vec!["kubently-admins".into()],
            username_claim: "email".into(),
            ..Default::default()
        };
        Issuer {
            jwks: JwksCache::new(&settings),
            audience: "https://k.example.com".into(),
            algorithms: vec![Algorithm::RS256],
            settings,
        }
    }

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("an object")
    }

    #[test]
    fn claims_map_to_owner_user_groups_and_clusters() {
        let i = issuer();
        let c = i
            .caller(&claims(json!({"sub": "u-1", "email": "alice@example.com", "groups": ["web"], "kubently_clusters": "staging"})))
            .expect("accepted");
        assert_eq!(c.service, "corp:u-1");
        assert_eq!(c.clusters, vec!["shop".to_string(), "staging".to_string()]);
        assert!(!c.admin);
        assert_eq!(
            c.kubernetes,
            Some(KubernetesIdentity { user: "alice@example.com".into(), groups: vec!["web".into()] })
        );
        assert_eq!(c.token.expect("token identity").issuer, "https://idp.example.com");
        let sre = i.caller(&claims(json!({"sub": "u-2", "groups": ["sre"]}))).expect("accepted");
        assert!(sre.clusters.is_empty(), "* is every cluster");
        assert_eq!(sre.kubernetes, None, "no username claim: no Kubernetes identity");
        let admin =
            i.caller(&claims(json!({"sub": "u-3", "groups": ["kubently-admins"]}))).expect("accepted");
        assert!(admin.admin);
    }

    #[test]
    fn a_token_granting_no_cluster_is_forbidden_not_everything() {
        let e = issuer().caller(&claims(json!({"sub": "u-1", "groups": ["nobody"]}))).expect_err("refused");
        assert!(matches!(e, TokenError::Forbidden(ref m) if m.contains("corp:u-1")), "{e}");
    }

    #[test]
    fn required_scopes_are_checked() {
        let mut i = issuer();
        i.settings.required_scopes = vec!["kubently".into()];
        let e = i
            .caller(&claims(json!({"sub": "u", "groups": ["sre"], "scope": "openid email"})))
            .expect_err("refused");
        assert!(matches!(e, TokenError::MissingScope(ref s) if s == &["kubently".to_string()]));
        assert!(
            i.caller(&claims(json!({"sub": "u", "groups": ["sre"], "scope": "openid kubently"}))).is_ok()
        );
        assert!(i.caller(&claims(json!({"sub": "u", "groups": ["sre"], "scp": ["kubently"]}))).is_ok());
    }

    #[test]
    fn only_asymmetric_algorithms_are_configurable() {
        assert!(parse_algorithm("HS256").is_none() && parse_algorithm("none").is_none());
        assert_eq!(parse_algorithm("ES256"), Some(Algorithm::ES256));
    }
}
