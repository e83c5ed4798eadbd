//! Building and running the gateway: connect, provision, start the background watchers, serve.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use axum::Router;
use kubently_shared::events::EventPublisher;
use kubently_shared::provision;
use kubently_shared::signing::CommandSigner;

use crate::activity::ClusterActivity;
use crate::audit::AuditLog;
use crate::auth::Authenticator;
use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::replies::ReplyRouter;
use crate::session_store::SessionStore;
use crate::state::AppState;
use crate::storage::StorageWatch;
use crate::webhooks::{WebhookDeps, Webhooks};
use crate::{Error, Result, Settings, rest};

pub struct Application {
    listener: tokio::net::TcpListener,
    /// HTTPS when the settings give a certificate.
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: Router,
    state: Arc<AppState>,
}

impl Application {
    /// Connects to NATS, provisions streams and buckets (idempotent), starts the reply
    /// router and registry watchers, and binds the HTTP listener.
    pub async fn build(settings: Settings) -> Result<Self> {
        let auth = Authenticator::from_settings(&settings)?;
        let tls = match (&settings.server.tls_cert_file, &settings.server.tls_key_file) {
            (Some(cert), Some(key)) => Some(crate::https::acceptor(cert, key)?),
            (None, None) => None,
            _ => return Err(Error::HalfTls),
        };
        let signer = Arc::new(CommandSigner::from_file(
            settings.signing.key_file.as_deref().ok_or(Error::NoSigningKey)?,
        )?);
        tracing::info!(
            public_key = signer.public_key(),
            "commands are signed; executors must trust this key"
        );
        let instance_id = settings
            .server
            .instance_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()[..12].to_string());
        let nats = settings.nats.connect(format!("kubently-gateway/{instance_id}")).await?;
        let js = jetstream::new(nats.clone());
        settings.storage.validate()?;
        let opts = settings.provision_options();
        let names = opts.names()?;
        log_reservation(&opts, &names);
        let buckets = provision::ensure_command_path_retrying(&js, &opts).await?;

        let replies = ReplyRouter::default();
        let inbox = names.reply_wildcard(&instance_id);
        let subscription = nats
            .subscribe(inbox.clone())
            .await
            .map_err(|source| Error::ReplyInbox { subject: inbox, source })?;
        // With `commands.reply_from_store` off, answers come only as executors' replies.
        let stored = match settings.commands.reply_from_store {
            true => {
                let subject = names.stored_results();
                let stored = nats.subscribe(subject.clone()).await;
                Some(stored.map_err(|source| Error::ReplyInbox { subject, source })?)
            }
            false => None,
        };
        tokio::spawn(replies.clone().run(subscription, stored));

        let metrics = Arc::new(Metrics::default());
        let events = EventPublisher::new(js.clone(), names.clone());
        let registry = Registry::default();
        tokio::spawn(registry.clone().watch_clusters(buckets.clusters.clone()));
        tokio::spawn(registry.clone().watch_executors(
            buckets.executors.clone(),
            events.clone(),
            metrics.clone(),
        ));
        let sessions = SessionStore::new(
            js.clone(),
            buckets.sessions.clone(),
            Duration::from_secs(settings.sessions.retention_seconds),
        );
        tokio::spawn(sessions.clone().watch_active(metrics.clone()));

        let webhook_buckets = provision::ensure_webhooks(&js, &opts).await?;
        settings.a2a.validate()?;
        settings.fanout.validate()?;
        let a2a = provision::ensure_a2a(&js, &opts).await?;
        let webhooks = Webhooks::new(
            WebhookDeps {
                js: js.clone(),
                provision: opts.clone(),
                buckets: webhook_buckets,
                results: buckets.results.clone(),
                claims: buckets.claims.clone(),
                registry: registry.clone(),
                metrics: metrics.clone(),
                events: events.clone(),
            },
            settings.webhooks.clone(),
        )?;
        if settings.webhooks.delivery_enabled {
            webhooks.start();
        }

        let addr = format!("{}:{}", settings.server.host, settings.server.port);
        let listener =
            tokio::net::TcpListener::bind(&addr).await.map_err(|source| Error::Bind { addr, source })?;
        let state = Arc::new(AppState {
            auth,
            activity: ClusterActivity::new(js.clone(), buckets.cluster_active.clone()),
            audit: AuditLog::new(js.clone(), names.clone()),
            policy: settings.policy.clone(),
            settings,
            nats,
            js,
            names,
            buckets,
            a2a,
            instance_id,
            replies,
            registry,
            sessions,
            events,
            metrics,
            webhooks,
            signer,
            namespaces: Default::default(),
        });
        tokio::spawn(
            StorageWatch {
                js: state.js.clone(),
                streams: opts.every_stream_config(&state.names).into_iter().map(|c| c.name).collect(),
                warn_at: state.settings.storage.warn_at(),
                interval: state.settings.storage.check_interval(),
                metrics: state.metrics.clone(),
            }
            .run(),
        );
        tokio::spawn(crate::exhausted::answer(state.clone()));
        tokio::spawn(crate::provisioner::answer(state.clone()));
        let router = rest::router(state.clone());
        Ok(Self { listener, tls, router, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    /// Serves until SIGTERM or Ctrl-C, then finishes in-flight requests.
    pub async fn run(self) -> Result<()> {
        self.run_until(kubently_shared::shutdown::signal()).await
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        tracing::info!(addr = %self.local_addr(), instance = %self.state.instance_id, https = self.tls.is_some(), "gateway listening");
        match self.tls {
            Some(acceptor) => {
                crate::https::serve(self.listener, acceptor, self.router, shutdown).await;
                Ok(())
            }
            None => axum::serve(self.listener, self.router)
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(Error::Serve),
        }
    }
}

/// Logs what the size limits reserve: nats-server reserves every stream's `max_bytes` (times its
/// replicas) against its `max_file_store` when it creates the stream, and refuses one that does
/// not fit ("insufficient storage resources").
fn log_reservation(opts: &provision::ProvisionOptions, names: &kubently_shared::names::Names) {
    let configs = opts.every_stream_config(names);
    let total: i64 = configs.iter().map(|c| c.max_bytes.max(0)).sum();
    tracing::info!(
        streams = configs.len(),
        reserved_bytes = total,
        replicas = opts.replicas,
        "storage limits: nats-server's max_file_store must hold reserved_bytes on every replica (storage.* settings)"
    );
}
