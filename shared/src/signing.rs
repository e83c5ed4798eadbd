//! Signed commands: the gateway signs every command message (Ed25519 over the exact payload,
//! which holds the command id, cluster, caller, deadline and reply subject), and the executor
//! runs only what a trusted key signed. A party with full NATS write access can publish
//! messages, but not make an executor run one.
//!
//! The signature travels in two headers: `Kubently-Signing-Key` (the signer's public key,
//! base64) and `Kubently-Signature` (base64). Executors trust a list of public keys, so a new
//! gateway key is rolled out by trusting both, then switching the gateway, then dropping the
//! old one. Every reply echoes the signature of the command it answers
//! ([`crate::protocol::CommandResult::command_signature`]): a gateway takes a reply only for the
//! very message it signed, never for a forged copy's refusal.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::Deserialize;

use crate::names::{HEADER_SIGNATURE, HEADER_SIGNING_KEY};

/// Why a key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: {reason}")]
    Invalid { what: String, reason: String },
}

/// `[signing]` of the gateway: the command signing key.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct SignerSettings {
    /// A file holding the base64 32-byte Ed25519 seed (`kubently-admin signing-key` makes one).
    pub key_file: Option<PathBuf>,
}

/// `[signing]` of the executor: whose signatures it accepts.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct VerifierSettings {
    /// Trusted gateway public keys (base64), several during a rotation; a comma-separated
    /// string in an environment variable.
    #[serde(deserialize_with = "crate::config::list_or_csv")]
    pub trusted_keys: Vec<String>,
    /// A file of trusted keys (one per line or comma-separated), e.g. the `trusted-signing-keys`
    /// of the Secret `kubently-admin add-cluster` prints; added to [`Self::trusted_keys`].
    pub trusted_keys_file: Option<PathBuf>,
}

impl VerifierSettings {
    /// Every trusted key, from the list and the file.
    pub fn keys(&self) -> Result<Vec<String>, KeyError> {
        let mut keys = self.trusted_keys.clone();
        if let Some(path) = &self.trusted_keys_file {
            let text = std::fs::read_to_string(path)
                .map_err(|source| KeyError::Read { path: path.clone(), source })?;
            keys.extend(text.split([',', '\n']).map(str::trim).filter(|k| !k.is_empty()).map(String::from));
        }
        Ok(keys)
    }
}

/// The gateway's signing key.
pub struct CommandSigner {
    key: Ed25519KeyPair,
    public: String,
}

impl std::fmt::Debug for CommandSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandSigner").field("public", &self.public).finish_non_exhaustive()
    }
}

/// A new random seed, base64 (what a key file holds).
pub fn generate_seed() -> String {
    let mut seed = [0u8; 32];
    ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut seed).expect("the system RNG works");
    B64.encode(seed)
}

impl CommandSigner {
    /// From a base64 32-byte seed.
    pub fn from_seed(seed_b64: &str) -> Result<Self, KeyError> {
        let invalid = |reason: String| KeyError::Invalid { what: "signing key".into(), reason };
        let seed = B64.decode(seed_b64.trim()).map_err(|e| invalid(format!("not base64: {e}")))?;
        let key = Ed25519KeyPair::from_seed_unchecked(&seed)
            .map_err(|_| invalid(format!("an Ed25519 seed is 32 bytes, got {}", seed.len())))?;
        let public = B64.encode(key.public_key().as_ref());
        Ok(Self { key, public })
    }

    /// From a key file.
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| KeyError::Read { path: path.into(), source })?;
        Self::from_seed(&text).map_err(|e| match e {
            KeyError::Invalid { reason, .. } => {
                KeyError::Invalid { what: format!("signing key file {}", path.display()), reason }
            }
            other => other,
        })
    }

    /// The public key executors trust (base64).
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The signature of `payload` (base64).
    pub fn sign(&self, payload: &[u8]) -> String {
        B64.encode(self.key.sign(payload).as_ref())
    }

    /// Checks that `payload` was signed with this key (a gateway answering a command from the
    /// stream itself); returns the signature.
    pub fn verify_own(
        &self,
        headers: Option<&async_nats::HeaderMap>,
        payload: &[u8],
    ) -> Result<String, Refusal> {
        let public = B64.decode(&self.public).unwrap_or_default();
        CommandVerifier { trusted: vec![(self.public.clone(), public)] }.verify(headers, payload)
    }

    /// Signs `payload` into `headers`; returns the signature.
    pub fn sign_into(&self, payload: &[u8], headers: &mut async_nats::HeaderMap) -> String {
        let signature = self.sign(payload);
        headers.insert(HEADER_SIGNING_KEY, self.public.as_str());
        headers.insert(HEADER_SIGNATURE, signature.as_str());
        signature
    }
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the command is not signed")]
    Unsigned,
    #[error("the command is signed by key {0}, which this executor does not trust")]
    UntrustedKey(String),
    #[error("the command's signature does not match its content (forged or altered)")]
    BadSignature,
}

/// The executor's trusted keys.
#[derive(Debug, Clone)]
pub struct CommandVerifier {
    trusted: Vec<(String, Vec<u8>)>,
}

impl CommandVerifier {
    /// From base64 public keys; at least one.
    pub fn new(keys: &[String]) -> Result<Self, KeyError> {
        let invalid = |reason: String| KeyError::Invalid { what: "signing.trusted_keys".into(), reason };
        if keys.is_empty() {
            return Err(invalid(
                "no trusted key: executors run only commands signed by a trusted gateway key \
                 (the gateway logs its public key at start; `kubently-admin signing-key` makes a pair)"
                    .into(),
            ));
        }
        let trusted = keys
            .iter()
            .map(|k| {
                let bytes = B64.decode(k.trim()).map_err(|e| invalid(format!("{k:?} is not base64: {e}")))?;
                if bytes.len() != 32 {
                    return Err(invalid(format!("{k:?} is {} bytes, an Ed25519 public key 32", bytes.len())));
                }
                Ok((B64.encode(&bytes), bytes))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { trusted })
    }

    /// Checks the signature headers of a command message; returns the signature on success.
    pub fn verify(&self, headers: Option<&async_nats::HeaderMap>, payload: &[u8]) -> Result<String, Refusal> {
        let header = |name: &str| headers.and_then(|h| h.get(name)).map(|v| v.as_str().to_string());
        let (Some(key), Some(signature)) = (header(HEADER_SIGNING_KEY), header(HEADER_SIGNATURE)) else {
            return Err(Refusal::Unsigned);
        };
        let Some((_, public)) = self.trusted.iter().find(|(k, _)| *k == key) else {
            return Err(Refusal::UntrustedKey(key));
        };
        let raw = B64.decode(signature.trim()).map_err(|_| Refusal::BadSignature)?;
        UnparsedPublicKey::new(&ED25519, public).verify(payload, &raw).map_err(|_| Refusal::BadSignature)?;
        Ok(signature)
    }
}

/// The signature of a message, if it carries one (for echoing it in a refusal).
pub fn signature_of(headers: Option<&async_nats::HeaderMap>) -> Option<String> {
    headers.and_then(|h| h.get(HEADER_SIGNATURE)).map(|v| v.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (CommandSigner, CommandVerifier) {
        let signer = CommandSigner::from_seed(&generate_seed()).expect("seed");
        let verifier = CommandVerifier::new(&[signer.public_key().to_string()]).expect("key");
        (signer, verifier)
    }

    #[test]
    fn a_signed_payload_verifies_and_any_change_does_not() {
        let (signer, verifier) = pair();
        let mut headers = async_nats::HeaderMap::new();
        let signature = signer.sign_into(b"command", &mut headers);
        assert_eq!(verifier.verify(Some(&headers), b"command"), Ok(signature));
        assert_eq!(verifier.verify(Some(&headers), b"commanD"), Err(Refusal::BadSignature));
        assert_eq!(verifier.verify(None, b"command"), Err(Refusal::Unsigned));
    }

    #[test]
    fn only_trusted_keys_count_and_rotation_trusts_several() {
        let (old, _) = pair();
        let (new, _) = pair();
        let (stranger, _) = pair();
        let verifier =
            CommandVerifier::new(&[old.public_key().into(), new.public_key().into()]).expect("keys");
        for signer in [&old, &new] {
            let mut headers = async_nats::HeaderMap::new();
            signer.sign_into(b"c", &mut headers);
            assert!(verifier.verify(Some(&headers), b"c").is_ok());
        }
        let mut headers = async_nats::HeaderMap::new();
        stranger.sign_into(b"c", &mut headers);
        assert_eq!(
            verifier.verify(Some(&headers), b"c"),
            Err(Refusal::UntrustedKey(stranger.public_key().into()))
        );
        // A trusted key's name on a stranger's signature.
        headers.insert(HEADER_SIGNING_KEY, old.public_key());
        assert_eq!(verifier.verify(Some(&headers), b"c"), Err(Refusal::BadSignature));
    }

    #[test]
    fn bad_keys_are_refused_with_the_reason() {
        assert!(CommandVerifier::new(&[]).is_err());
        assert!(CommandVerifier::new(&["not base64!".into()]).is_err());
        assert!(CommandVerifier::new(&[B64.encode([0u8; 16])]).is_err());
        assert!(CommandSigner::from_seed(&B64.encode([1u8; 31])).is_err());
    }
}
