//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): secrets are `whsec_` +
//! base64 of random bytes; a delivery carries `webhook-signature: v1,<base64 HMAC-SHA256 over
//! "<webhook-id>.<webhook-timestamp>.<body>">`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

pub const SECRET_PREFIX: &str = "whsec_";
/// Generated secrets: 32 random bytes.
const GENERATED_BYTES: usize = 32;
/// Accepted caller-chosen secrets (`callback_secret`): 24–64 bytes.
const MIN_BYTES: usize = 24;
const MAX_BYTES: usize = 64;

/// A signing secret. `Debug` never prints it.
/// Why a `whsec_…` secret is unusable; the text completes "callback_secret …" in a 422.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("must start with `{SECRET_PREFIX}` followed by base64")]
    Prefix,
    #[error("the part after `{SECRET_PREFIX}` is not valid base64: {0}")]
    Base64(#[source] base64::DecodeError),
    #[error("must decode to {MIN_BYTES}–{MAX_BYTES} bytes, got {0}")]
    Length(usize),
}

#[derive(Clone)]
pub struct SigningSecret(Vec<u8>);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

impl SigningSecret {
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; GENERATED_BYTES];
        SystemRandom::new().fill(&mut bytes).expect("the system random source works");
        Self(bytes)
    }

    /// Parses `whsec_<base64>` (24–64 bytes once decoded).
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text.strip_prefix(SECRET_PREFIX).ok_or(SecretError::Prefix)?;
        let bytes = STANDARD.decode(encoded).map_err(SecretError::Base64)?;
        if !(MIN_BYTES..=MAX_BYTES).contains(&bytes.len()) {
            return Err(SecretError::Length(bytes.len()));
        }
        Ok(Self(bytes))
    }

    /// The `whsec_…` form shown to the subscriber (once) and stored.
    pub fn encoded(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// The `webhook-signature` header value for one attempt.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(msg_id.as_bytes());
        ctx.update(b".");
        ctx.update(timestamp.to_string().as_bytes());
        ctx.update(b".");
        ctx.update(body);
        format!("v1,{}", STANDARD.encode(ctx.sign().as_ref()))
    }
}

/// A uniformly random fraction in [0, 1) (retry jitter).
pub fn random_fraction() -> f64 {
    let mut bytes = [0u8; 4];
    SystemRandom::new().fill(&mut bytes).expect("the system random source works");
    f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from the Standard Webhooks specification's reference implementations.
    #[test]
    fn signs_the_standard_webhooks_example() {
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("spec secret");
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn generated_secrets_round_trip_and_differ() {
        let a = SigningSecret::generate();
        let b = SigningSecret::generate();
        assert_ne!(a.encoded(), b.encoded());
        let parsed = SigningSecret::parse(&a.encoded()).expect("round trip");
        assert_eq!(parsed.sign("id", 1, b"x"), a.sign("id", 1, b"x"));
        assert!(!format!("{a:?}").contains(&a.encoded()[6..]));
    }

    #[test]
    fn bad_secrets_say_why() {
        assert!(SigningSecret::parse("abc").expect_err("prefix").to_string().contains("whsec_"));
        assert!(SigningSecret::parse("whsec_!!!").expect_err("base64").to_string().contains("base64"));
        assert!(SigningSecret::parse("whsec_c2hvcnQ=").expect_err("short").to_string().contains("24"));
    }

    #[test]
    fn random_fractions_stay_in_range() {
        for _ in 0..1000 {
            let f = random_fraction();
            assert!((0.0..1.0).contains(&f));
        }
    }
}
