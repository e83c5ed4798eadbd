//! What every door and the application layer share: connections, stores and the machinery
//! started at build time (`startup` fills it in).

use std::sync::Arc;

use kubently_shared::signing::CommandSigner;

use async_nats::jetstream;
use axum::extract::FromRef;
use kubently_shared::events::EventPublisher;
use kubently_shared::names::Names;
use kubently_shared::policy::PolicyConfig;
use kubently_shared::provision::{A2aBuckets, Buckets};

use crate::Settings;
use crate::activity::ClusterActivity;
use crate::app::namespaces::NamespaceCache;
use crate::audit::AuditLog;
use crate::auth::Authenticator;
use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::replies::ReplyRouter;
use crate::session_store::SessionStore;
use crate::webhooks::Webhooks;

/// Everything a request handler needs.
pub struct AppState {
    pub settings: Settings,
    /// API keys and bearer-token issuers.
    pub auth: Authenticator,
    pub nats: async_nats::Client,
    pub js: jetstream::Context,
    pub names: Names,
    pub buckets: Buckets,
    /// The A2A tasks and push-config buckets.
    pub a2a: A2aBuckets,
    /// Names this gateway's reply inbox.
    pub instance_id: String,
    /// Routes executors' replies to the requests waiting for them.
    pub replies: ReplyRouter,
    pub registry: Registry,
    pub sessions: SessionStore,
    pub activity: ClusterActivity,
    pub events: EventPublisher,
    pub audit: AuditLog,
    pub metrics: Arc<Metrics>,
    pub policy: PolicyConfig,
    pub webhooks: Webhooks,
    /// Signs every command this gateway publishes.
    pub signer: Arc<CommandSigner>,
    /// Namespace names per caller and cluster, for completion.
    pub namespaces: NamespaceCache,
}

/// The authenticator is what authentication needs of the state (`auth` stays below the state).
impl FromRef<Arc<AppState>> for Authenticator {
    fn from_ref(state: &Arc<AppState>) -> Self {
        state.auth.clone()
    }
}
