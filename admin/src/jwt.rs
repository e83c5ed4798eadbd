//! NATS JWTs (the decentralized auth of nats-server's operator mode): operator, account and
//! user claims, signed with nkeys. Only what Kubently issues is modelled.
//!
//! A JWT is `base64url(header).base64url(claims).base64url(signature)`, the header
//! `{"typ":"JWT","alg":"ed25519-nkey"}`, the signature the issuer nkey's Ed25519 signature of the
//! first two parts. `jti` is the base32 SHA-512/256 of the claims without it, as nats-io/jwt does.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use nkeys::KeyPair;
use serde::{Deserialize, Serialize};

use crate::Error;

const HEADER: &str = r#"{"typ":"JWT","alg":"ed25519-nkey"}"#;

/// The claims every NATS JWT carries, with its `nats` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims<N> {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jti: String,
    pub iat: i64,
    pub iss: String,
    pub name: String,
    pub sub: String,
    pub nats: N,
}

/// `nats` of an operator.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Operator {
    pub system_account: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub version: u8,
}

/// `nats` of an account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub limits: AccountLimits,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signing_keys: Vec<String>,
    /// User public key → unix time: that user's JWTs issued at or before it are refused.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub revocations: BTreeMap<String, i64>,
    #[serde(rename = "type")]
    pub kind: String,
    pub version: u8,
}

/// An account's limits (-1: unlimited). JetStream is on when storage is not 0.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountLimits {
    pub subs: i64,
    pub data: i64,
    pub payload: i64,
    pub imports: i64,
    pub exports: i64,
    pub wildcards: bool,
    pub conn: i64,
    pub leaf: i64,
    pub mem_storage: i64,
    pub disk_storage: i64,
    pub streams: i64,
    pub consumer: i64,
}

impl AccountLimits {
    pub fn unlimited(jetstream: bool) -> Self {
        let storage = if jetstream { -1 } else { 0 };
        Self {
            subs: -1,
            data: -1,
            payload: -1,
            imports: -1,
            exports: -1,
            wildcards: true,
            conn: -1,
            leaf: -1,
            mem_storage: storage,
            disk_storage: storage,
            streams: if jetstream { -1 } else { 0 },
            consumer: if jetstream { -1 } else { 0 },
        }
    }
}

/// Allowed subjects (nothing else is, when the list is non-empty).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Allow {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
}

/// `nats` of a user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    #[serde(rename = "pub")]
    pub publish: Allow,
    #[serde(rename = "sub")]
    pub subscribe: Allow,
    pub subs: i64,
    pub data: i64,
    pub payload: i64,
    /// The account when a signing key (not the account key) issued the user.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub issuer_account: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub version: u8,
}

impl User {
    /// A user with these permissions (an empty list: that direction is unrestricted).
    pub fn new(publish: Vec<String>, subscribe: Vec<String>, issuer_account: &str) -> Self {
        Self {
            publish: Allow { allow: publish },
            subscribe: Allow { allow: subscribe },
            subs: -1,
            data: -1,
            payload: -1,
            issuer_account: issuer_account.to_string(),
            kind: "user".into(),
            version: 2,
        }
    }
}

/// Encodes `claims` signed by `issuer` (whose public key becomes `iss`).
pub fn encode<N: Serialize>(mut claims: Claims<N>, issuer: &KeyPair) -> Result<String, Error> {
    claims.iss = issuer.public_key();
    claims.jti = String::new();
    let unsigned = serde_json::to_vec(&claims).map_err(Error::json("JWT claims"))?;
    let digest = ring::digest::digest(&ring::digest::SHA512_256, &unsigned);
    claims.jti = data_encoding::BASE32_NOPAD.encode(digest.as_ref());
    let body = serde_json::to_vec(&claims).map_err(Error::json("JWT claims"))?;
    let signing_input = format!("{}.{}", B64URL.encode(HEADER), B64URL.encode(body));
    let signature = issuer.sign(signing_input.as_bytes()).map_err(|e| Error::Key(e.to_string()))?;
    Ok(format!("{signing_input}.{}", B64URL.encode(signature)))
}

/// The claims of a JWT (its signature is not checked: only for JWTs this tool issued and reads
/// back from its own store or from the server).
pub fn decode<N: for<'de> Deserialize<'de>>(jwt: &str) -> Result<Claims<N>, Error> {
    let body = jwt.split('.').nth(1).ok_or_else(|| Error::Key("not a JWT".into()))?;
    let bytes = B64URL.decode(body).map_err(|e| Error::Key(format!("JWT body is not base64url: {e}")))?;
    serde_json::from_slice(&bytes).map_err(Error::json("JWT claims"))
}

/// Now, in unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A user credentials file, as nats-server's clients read it (`nats.credentials_file`).
pub fn creds_file(jwt: &str, seed: &str) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\
         NKEYs are sensitive and should be treated as secrets.\n\n\
         -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n\n\
         *************************************************************\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwt_round_trips_and_its_signature_verifies() {
        let account = KeyPair::new_account();
        let user = KeyPair::new_user();
        let claims = Claims {
            jti: String::new(),
            iat: 1,
            iss: String::new(),
            name: "u".into(),
            sub: user.public_key(),
            nats: User::new(vec!["a.>".into()], vec![], &account.public_key()),
        };
        let jwt = encode(claims, &account).expect("encode");
        let back: Claims<User> = decode(&jwt).expect("decode");
        assert_eq!(back.iss, account.public_key());
        assert_eq!(back.nats.publish.allow, ["a.>"]);
        assert_eq!(back.jti.len(), 52, "base32 of 32 bytes");
        let (input, signature) = jwt.rsplit_once('.').expect("three parts");
        let signature = B64URL.decode(signature).expect("base64url");
        account.verify(input.as_bytes(), &signature).expect("signed by the account");
    }
}
