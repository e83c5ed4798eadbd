//! Helpers the integration tests share: running a command the way production does (policy, then
//! engine), looking for leaked Secret values, and recognising kubectl's age cells.

use std::time::{Duration, Instant};

use kubently_executor::engine::{Engine, EngineError, ExecOptions, Output};
use kubently_shared::policy::{self, CommandInput, PolicyConfig};
use kubently_tests::scenario::SECRET_VALUES;

/// `kubectl <command_type> <args>` as the executor runs it: parsed by the read-only policy (which
/// must accept it), then executed with a 20 s deadline.
pub async fn kubectl(engine: &Engine, command_type: &str, args: &[&str]) -> Result<Output, EngineError> {
    kubectl_within(engine, command_type, args, Duration::from_secs(20)).await
}

/// As [`kubectl`], with the command's deadline `within` from now (`logs -f` and `rollout status`
/// run until it).
pub async fn kubectl_within(
    engine: &Engine,
    command_type: &str,
    args: &[&str],
    within: Duration,
) -> Result<Output, EngineError> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let request = policy::parse(
        &CommandInput { command_type, args: &args, extra_args: &[], namespace: None },
        &PolicyConfig::default(),
    )
    .unwrap_or_else(|e| panic!("{command_type} {args:?} does not pass the policy: {e}"));
    engine
        .execute(&request, &ExecOptions { deadline: Some(Instant::now() + within), ..Default::default() })
        .await
}

/// Standard base64 with padding (the form Secret `data` holds).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize])
            } else {
                '='
            });
        }
    }
    out
}

/// Every seeded Secret value found in `text` — plain, base64, or base64 without padding.
pub fn secret_leaks(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (key, value) in SECRET_VALUES {
        let encoded = base64(value.as_bytes());
        for (form, needle) in [
            ("plain", *value),
            ("base64", encoded.as_str()),
            ("unpadded base64", encoded.trim_end_matches('=')),
        ] {
            if text.contains(needle) {
                found.push(format!("{key} ({form})"));
            }
        }
    }
    found
}

/// Fails, naming `what` and the leaked keys, if `text` holds any seeded Secret value.
pub fn assert_no_secrets(what: &str, text: &str) {
    let leaks = secret_leaks(text);
    assert!(leaks.is_empty(), "{what} leaked {leaks:?}:\n{text}");
}

/// kubectl's age cells: `47s`, `3m12s`, `5d`, `2y31d`.
pub fn is_age(token: &str) -> bool {
    let (mut digit, mut units) = (false, 0);
    for c in token.chars() {
        match c {
            '0'..='9' => digit = true,
            's' | 'm' | 'h' | 'd' | 'y' if digit => {
                units += 1;
                digit = false;
            }
            _ => return false,
        }
    }
    units > 0 && !digit
}

#[test]
fn helpers_behave() {
    assert_eq!(base64(b"orders_app"), "b3JkZXJzX2FwcA==");
    assert_eq!(base64(b"ab"), "YWI=");
    assert!(secret_leaks("nothing here").is_empty());
    assert_eq!(
        secret_leaks(&base64(SECRET_VALUES[1].1.as_bytes())),
        vec![format!("{} (base64)", SECRET_VALUES[1].0), format!("{} (unpadded base64)", SECRET_VALUES[1].0)]
    );
    for age in ["47s", "3m12s", "5d", "2y31d", "10h"] {
        assert!(is_age(age), "{age}");
    }
    for not in ["s", "Running", "1/1", "10.244.0.1", "v1.20.2", "3"] {
        assert!(!is_age(not), "{not}");
    }
}
