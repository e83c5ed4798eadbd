//! API keys. Keys are compared as SHA-256 digests in constant time, against every configured key
//! (no early exit), so timing reveals neither a key nor which entry matched.

use std::sync::Arc;

use kubently_shared::protocol::KubernetesIdentity;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Caller;
use crate::settings::AuthSettings;

struct KeyEntry {
    digest: [u8; 32],
    caller: Caller,
}

/// The configured keys (cheap to clone).
#[derive(Clone)]
pub struct KeyRing {
    entries: Arc<[KeyEntry]>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyConfigError {
    #[error(
        "API key entry #{0} is not `service:key` (a service name is required: it is the caller's identity)"
    )]
    Malformed(usize),
    #[error(
        "API key service name {0:?} is empty or holds a `:` (bearer-token callers are named `<issuer>:<subject>`)"
    )]
    BadService(String),
    #[error("API key for service {0:?} is shorter than 16 characters")]
    TooShort(String),
    #[error(
        "service name {0:?} is given to more than one API key; every key needs a service name of its own (it is the owner of the key's sessions, results, audit records, subscriptions and tasks)"
    )]
    DuplicateService(String),
    #[error(
        "no API keys are configured: set KUBENTLY__AUTH__API_KEYS=service:key (every endpoint but health checks authenticates)"
    )]
    Empty,
}

fn digest(key: &[u8]) -> [u8; 32] {
    Sha256::digest(key).into()
}

impl KeyRing {
    pub fn from_settings(settings: &AuthSettings) -> Result<Self, KeyConfigError> {
        let mut entries = Vec::new();
        for (i, raw) in settings.api_keys.iter().enumerate() {
            let (service, key) = raw
                .split_once(':')
                .filter(|(s, k)| !s.is_empty() && !k.is_empty())
                .ok_or(KeyConfigError::Malformed(i + 1))?;
            entries.push((key.to_string(), Caller::key(service, Vec::new(), false)));
        }
        for k in &settings.keys {
            if k.service.is_empty() || k.service.contains(':') {
                return Err(KeyConfigError::BadService(k.service.clone()));
            }
            let mut caller = Caller::key(&k.service, k.clusters.clone(), k.admin);
            caller.kubernetes = k
                .kubernetes_user
                .clone()
                .map(|user| KubernetesIdentity { user, groups: k.kubernetes_groups.clone() });
            entries.push((k.key.clone(), caller));
        }
        if entries.is_empty() {
            return Err(KeyConfigError::Empty);
        }
        let mut services = std::collections::HashSet::new();
        if let Some((_, caller)) =
            entries.iter().find(|(_, caller)| !services.insert(caller.service.as_str()))
        {
            return Err(KeyConfigError::DuplicateService(caller.service.clone()));
        }
        let entries = entries
            .into_iter()
            .map(|(key, caller)| {
                if key.len() < 16 {
                    return Err(KeyConfigError::TooShort(caller.service));
                }
                Ok(KeyEntry { digest: digest(key.as_bytes()), caller })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { entries: entries.into() })
    }

    /// The caller for `presented`, comparing against every entry in constant time.
    pub fn verify(&self, presented: &str) -> Option<Caller> {
        let d = digest(presented.as_bytes());
        let mut found: Option<&Caller> = None;
        for e in self.entries.iter() {
            if bool::from(e.digest.ct_eq(&d)) && found.is_none() {
                found = Some(&e.caller);
            }
        }
        found.cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::access::may_use_cluster;
    use crate::settings::ApiKeySettings;

    fn ring() -> KeyRing {
        KeyRing::from_settings(&AuthSettings {
            api_keys: vec!["ops-bot:ops-bot-key-0123456789".into()],
            keys: vec![ApiKeySettings {
                service: "ci".into(),
                key: "ci-key-0123456789abcdef".into(),
                clusters: vec!["staging".into()],
                ..Default::default()
            }],
            ..Default::default()
        })
        .expect("valid key ring")
    }

    #[test]
    fn keys_identify_their_service_and_scopes() {
        let ring = ring();
        let ops = ring.verify("ops-bot-key-0123456789").expect("ops key valid");
        assert_eq!(ops.service, "ops-bot");
        assert!(may_use_cluster(&ops, "prod"));
        let ci = ring.verify("ci-key-0123456789abcdef").expect("ci key valid");
        assert!(may_use_cluster(&ci, "staging") && !may_use_cluster(&ci, "prod"));
        assert!(ring.verify("ci-key-0123456789abcdeX").is_none());
        assert!(ring.verify("").is_none());
    }

    #[test]
    fn bad_key_configuration_is_refused_with_the_reason() {
        let bare =
            AuthSettings { api_keys: vec!["justakey-0123456789".into()], keys: vec![], ..Default::default() };
        assert!(matches!(KeyRing::from_settings(&bare), Err(KeyConfigError::Malformed(1))));
        let short = AuthSettings { api_keys: vec!["svc:short".into()], keys: vec![], ..Default::default() };
        assert!(matches!(KeyRing::from_settings(&short), Err(KeyConfigError::TooShort(_))));
        assert!(matches!(KeyRing::from_settings(&AuthSettings::default()), Err(KeyConfigError::Empty)));
        // Ownership is by service name, so two keys may not share one.
        let twice = AuthSettings {
            api_keys: vec!["ops:ops-key-0123456789abcdef".into()],
            keys: vec![ApiKeySettings {
                service: "ops".into(),
                key: "ops-scoped-key-0123456789".into(),
                clusters: vec!["staging".into()],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(
            matches!(KeyRing::from_settings(&twice), Err(KeyConfigError::DuplicateService(s)) if s == "ops")
        );
    }

    #[test]
    fn debug_output_never_contains_keys() {
        let settings = AuthSettings {
            api_keys: vec!["ops-bot:ops-bot-key-0123456789".into()],
            keys: vec![],
            ..Default::default()
        };
        let printed = format!("{settings:?}");
        assert!(printed.contains("ops-bot") && !printed.contains("0123456789"), "{printed}");
    }
}
