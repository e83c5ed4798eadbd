//! Running commands as their caller (`[impersonation]`, per cluster): the caller's Kubernetes
//! identity, from inside the signed command, becomes `Impersonate-User` (with the cluster's user
//! prefix), one `Impersonate-Group` per group (group prefix), and `Impersonate-Extra-` headers
//! naming the command and its session, on every Kubernetes API request the command makes. The
//! API server then applies the caller's RBAC and its audit log names the caller.
//!
//! How the headers get onto every request: each command runs on an engine whose client is
//! [`CallerIdentity::client`], a client that stamps the caller's headers on every request and
//! hands it to the executor's command client. That client is built with [`RequireCaller`] when
//! impersonation is on: a request reaching it without `Impersonate-User` is refused, so a code
//! path that forgot the caller fails instead of running as the executor (fail closed). (A
//! task-local identity read by a layer would not work: kube's client hands requests to a
//! `Buffer` worker task, where the command's task-locals are not in scope.) The executor's own
//! requests (privilege self-check, version probe, readiness) go through a separate client.
//!
//! Fail closed, before anything runs: on an impersonating cluster a command whose caller has no
//! Kubernetes identity, or one that cannot be sent unchanged as a header, is refused with a
//! [`Refusal`] the caller sees ([`Impersonation::identity`]).

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response};
use kube::client::Body;
use kubently_shared::impersonation::{
    self as vocabulary, EXTRA_COMMAND_ID, EXTRA_SESSION_ID, HEADER_EXTRA_PREFIX, HEADER_GROUP, HEADER_USER,
    NameError,
};
use kubently_shared::protocol::Command;
use tower::{BoxError, Layer, Service};

use crate::settings::ImpersonationSettings;

/// A cluster's impersonation, validated from its settings.
#[derive(Debug, Clone)]
pub struct Impersonation {
    cluster_id: String,
    user_prefix: String,
    group_prefix: String,
}

/// Why a command may not run on an impersonating cluster. Nothing of it reached the API server.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(
        "cluster '{cluster}' runs every command as its caller (Kubernetes impersonation), and caller \
         '{caller}' has no Kubernetes identity, so the command was not run (it never runs as the \
         executor's own identity). Give the caller one: `kubernetes_user` (and `kubernetes_groups`) \
         on its API key in the gateway's [[auth.keys]], or a bearer token from an issuer whose \
         username claim names it"
    )]
    NoIdentity { cluster: String, caller: String },
    #[error(
        "cluster '{cluster}' runs every command as its caller (Kubernetes impersonation), and the \
         {what} {value:?} of caller '{caller}' cannot be sent to the API server: {source}; the \
         command was not run"
    )]
    Unsendable {
        cluster: String,
        caller: String,
        /// `Kubernetes user`, `Kubernetes group`, `session id`.
        what: &'static str,
        value: String,
        #[source]
        source: NameError,
    },
}

impl Impersonation {
    /// The cluster's impersonation, or None when it is off; a prefix Kubernetes must not see
    /// (empty, `system:`, unsendable) is a configuration error naming the field.
    pub fn from_settings(settings: &ImpersonationSettings, cluster_id: &str) -> crate::Result<Option<Self>> {
        if !settings.enabled {
            return Ok(None);
        }
        for (field, prefix) in
            [("user_prefix", &settings.user_prefix), ("group_prefix", &settings.group_prefix)]
        {
            vocabulary::validate_prefix(prefix).map_err(|e| {
                crate::Error::Config(format!(
                    "impersonation.{field} {prefix:?}: {e}; use a prefix of your own such as \"{}\"",
                    vocabulary::DEFAULT_PREFIX
                ))
            })?;
        }
        Ok(Some(Self {
            cluster_id: cluster_id.to_string(),
            user_prefix: settings.user_prefix.clone(),
            group_prefix: settings.group_prefix.clone(),
        }))
    }

    pub fn user_prefix(&self) -> &str {
        &self.user_prefix
    }

    pub fn group_prefix(&self) -> &str {
        &self.group_prefix
    }

    /// Who `command` runs as here: its caller's Kubernetes identity, prefixed, with the command
    /// and session ids as extras; refused when the caller has none or it cannot be sent.
    pub fn identity(&self, command: &Command) -> Result<CallerIdentity, Refusal> {
        let caller = &command.caller;
        let Some(kubernetes) = &caller.kubernetes else {
            return Err(Refusal::NoIdentity {
                cluster: self.cluster_id.clone(),
                caller: caller.service.clone(),
            });
        };
        let unsendable = |what: &'static str, value: &str| {
            let (cluster, caller, value) =
                (self.cluster_id.clone(), caller.service.clone(), value.to_string());
            move |source| Refusal::Unsendable { cluster, caller, what, value, source }
        };
        let user = vocabulary::prefixed(&self.user_prefix, &kubernetes.user)
            .map_err(unsendable("Kubernetes user", &kubernetes.user))?;
        let groups = kubernetes
            .groups
            .iter()
            .map(|g| vocabulary::prefixed(&self.group_prefix, g).map_err(unsendable("Kubernetes group", g)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut extras = vec![(EXTRA_COMMAND_ID, command.id.to_string())];
        if let Some(session) = &command.session_id {
            vocabulary::validate_name(session).map_err(unsendable("session id", session))?;
            extras.push((EXTRA_SESSION_ID, session.clone()));
        }
        Ok(CallerIdentity { user, groups, extras })
    }
}

/// Who a command runs as in Kubernetes: the names the API server sees (prefixes applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    pub user: String,
    pub groups: Vec<String>,
    /// (extra key, value): the command id, and the session id when there is one.
    pub extras: Vec<(&'static str, String)>,
}

impl CallerIdentity {
    /// The impersonation headers (values checked by [`Impersonation::identity`]).
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let extras = self.extras.iter().map(|(key, v)| (format!("{HEADER_EXTRA_PREFIX}{key}"), v));
        let pairs = std::iter::once((HEADER_USER.to_string(), &self.user))
            .chain(self.groups.iter().map(|g| (HEADER_GROUP.to_string(), g)))
            .chain(extras);
        for (name, value) in pairs {
            // Both always parse: the names are ours, the values passed `validate_name`.
            if let (Ok(name), Ok(value)) =
                (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(value.as_bytes()))
            {
                headers.append(name, value);
            }
        }
        headers
    }

    /// A client that sends every request through `commands` (the executor's command client)
    /// with this identity's impersonation headers, replacing any the request had.
    pub fn client(&self, commands: &kube::Client) -> kube::Client {
        let service = AsCaller { commands: commands.clone(), headers: Arc::new(self.headers()) };
        kube::Client::new(service, commands.default_namespace().to_string())
    }
}

/// What every impersonation header's (lowercase) name starts with.
const IMPERSONATE: &str = "impersonate-";

/// Stamps a caller's headers on each request and sends it with the command client.
#[derive(Clone)]
struct AsCaller {
    commands: kube::Client,
    headers: Arc<HeaderMap>,
}

impl Service<Request<Body>> for AsCaller {
    type Response = Response<Body>;
    type Error = kube::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, kube::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let headers = request.headers_mut();
        let theirs: Vec<HeaderName> =
            headers.keys().filter(|k| k.as_str().starts_with(IMPERSONATE)).cloned().collect();
        for name in theirs {
            headers.remove(name);
        }
        for (name, value) in self.headers.iter() {
            headers.append(name.clone(), value.clone());
        }
        let commands = self.commands.clone();
        Box::pin(async move { commands.send(request).await })
    }
}

/// A request of a command that reached the command client without a caller identity on an
/// impersonating cluster: refused, never sent as the executor.
#[derive(Debug, thiserror::Error)]
#[error(
    "refused to send {method} {path} to the Kubernetes API without the caller's identity: this \
     cluster runs commands as their caller (impersonation), never as the executor"
)]
pub struct MissingCaller {
    pub method: String,
    pub path: String,
}

/// The command client of an impersonating cluster: [`RequireCaller`] in front of the executor's
/// own client. Both send through one connection pool, which the executor's readiness probe of
/// the API server touches every few seconds, so a command after an idle spell finds a warm
/// connection (no new TCP and TLS handshake).
pub fn guarded(own: &kube::Client) -> kube::Client {
    kube::Client::new(RequireCaller.layer(SendVia(own.clone())), own.default_namespace().to_string())
}

/// A service sending every request with a client.
#[derive(Clone)]
struct SendVia(kube::Client);

impl Service<Request<Body>> for SendVia {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<Body>, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let client = self.0.clone();
        Box::pin(async move { client.send(request).await.map_err(BoxError::from) })
    }
}

/// The command client's guard on an impersonating cluster: passes only requests that carry
/// `Impersonate-User`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequireCaller;

impl<S> Layer<S> for RequireCaller {
    type Service = RequireCallerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireCallerService { inner }
    }
}

#[derive(Debug, Clone)]
pub struct RequireCallerService<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for RequireCallerService<S>
where
    S: Service<Request<B>, Error = BoxError>,
    S::Response: Send + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<S::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if request.headers().contains_key(HEADER_USER) {
            return Box::pin(self.inner.call(request));
        }
        let refused =
            MissingCaller { method: request.method().to_string(), path: request.uri().path().into() };
        tracing::error!(%refused, "a command's request had no caller identity; not sent");
        Box::pin(std::future::ready(Err(refused.into())))
    }
}

#[cfg(test)]
mod tests {
    use kubently_shared::policy::KubectlRequest;
    use kubently_shared::protocol::{Caller, KubernetesIdentity};
    use time::OffsetDateTime;

    use super::*;

    fn impersonation() -> Impersonation {
        let settings = ImpersonationSettings { enabled: true, ..Default::default() };
        Impersonation::from_settings(&settings, "prod").ok().flatten().expect("enabled")
    }

    fn command(kubernetes: Option<KubernetesIdentity>) -> Command {
        let caller = Caller { kubernetes, ..Caller::service("agent") };
        Command::new(
            "prod",
            KubectlRequest::Version,
            caller,
            "reply",
            OffsetDateTime::now_utc(),
            std::time::Duration::from_secs(5),
        )
    }

    fn alice(groups: &[&str]) -> Option<KubernetesIdentity> {
        Some(KubernetesIdentity {
            user: "alice".into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        })
    }

    #[test]
    fn the_caller_is_sent_with_prefixes_and_the_command_ids() {
        let mut cmd = command(alice(&["sre", "oncall"]));
        cmd.session_id = Some("s-123".into());
        let identity = impersonation().identity(&cmd).expect("alice may run");
        assert_eq!(identity.user, "kubently:alice");
        assert_eq!(identity.groups, ["kubently:sre", "kubently:oncall"]);
        let headers = identity.headers();
        assert_eq!(headers.get("Impersonate-User").map(|v| v.as_bytes()), Some(&b"kubently:alice"[..]));
        let groups: Vec<&[u8]> = headers.get_all("Impersonate-Group").iter().map(|v| v.as_bytes()).collect();
        assert_eq!(groups, [&b"kubently:sre"[..], b"kubently:oncall"]);
        let id = cmd.id.to_string();
        assert_eq!(
            headers.get("Impersonate-Extra-kubently-command-id").map(|v| v.as_bytes()),
            Some(id.as_bytes())
        );
        assert_eq!(
            headers.get("Impersonate-Extra-kubently-session-id").map(|v| v.as_bytes()),
            Some(&b"s-123"[..])
        );
        assert_eq!(headers.len(), 5);
        let without_session = impersonation().identity(&command(alice(&[]))).expect("alice may run");
        assert_eq!(without_session.extras.len(), 1, "no session, no session extra");
    }

    #[test]
    fn a_caller_without_a_kubernetes_identity_is_refused_naming_the_cluster_and_the_fix() {
        let refusal = impersonation().identity(&command(None)).expect_err("no identity, no command");
        let text = refusal.to_string();
        assert!(text.starts_with("cluster 'prod' runs every command as its caller"), "{text}");
        assert!(text.contains("caller 'agent' has no Kubernetes identity"), "{text}");
        assert!(text.contains("never runs as the executor's own identity"), "{text}");
        assert!(text.contains("`kubernetes_user`"), "{text}");
    }

    #[test]
    fn names_that_would_change_on_the_wire_are_refused() {
        let injected = Some(KubernetesIdentity {
            user: "alice\r\nImpersonate-Group: system:masters".into(),
            groups: Vec::new(),
        });
        let refusal = impersonation().identity(&command(injected)).expect_err("header injection");
        assert!(matches!(
            refusal,
            Refusal::Unsendable { what: "Kubernetes user", source: NameError::Control('\r'), .. }
        ));
        let bad_group = impersonation().identity(&command(alice(&["ok", ""]))).expect_err("empty group");
        assert!(matches!(
            bad_group,
            Refusal::Unsendable { what: "Kubernetes group", source: NameError::Empty, .. }
        ));
        let mut cmd = command(alice(&[]));
        cmd.session_id = Some("s\n1".into());
        assert!(matches!(
            impersonation().identity(&cmd),
            Err(Refusal::Unsendable { what: "session id", .. })
        ));
    }

    #[test]
    fn prefixes_are_checked_at_start() {
        let settings = |user: &str, group: &str| ImpersonationSettings {
            enabled: true,
            user_prefix: user.into(),
            group_prefix: group.into(),
        };
        let error =
            |s: ImpersonationSettings| Impersonation::from_settings(&s, "c").err().map(|e| e.to_string());
        assert_eq!(
            error(settings("", "kubently:")).as_deref(),
            Some(
                "invalid configuration: impersonation.user_prefix \"\": it is empty; use a prefix of your own such as \"kubently:\""
            )
        );
        assert!(
            error(settings("kubently:", "system:")).is_some_and(|e| e.contains("impersonation.group_prefix"))
        );
        let off = ImpersonationSettings { enabled: false, user_prefix: String::new(), ..Default::default() };
        assert!(matches!(Impersonation::from_settings(&off, "c"), Ok(None)), "off: prefixes unused");
    }

    /// The guard and the per-command client, on a mock API server: a request without the caller
    /// is refused before it leaves, one with the caller goes out with exactly its headers.
    #[tokio::test]
    async fn requests_go_out_as_the_caller_or_not_at_all() {
        let (mock, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let service = RequireCaller.layer(mock);
        let commands = kube::Client::new(service, "default");
        let server = tokio::spawn(async move {
            let (request, send) = handle.next_request().await.expect("one request reaches the server");
            let seen: Vec<(String, String)> = request
                .headers()
                .iter()
                .filter(|(k, _)| k.as_str().starts_with("impersonate-"))
                .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            send.send_response(Response::new(Body::from(
                br#"{"major":"1","minor":"20","gitVersion":"v1.20.2"}"#.to_vec(),
            )));
            seen
        });
        let refused = commands.apiserver_version().await.expect_err("no caller, no request");
        let text = refused.to_string();
        assert!(text.contains("refused to send GET /version"), "{text}");

        let cmd = command(alice(&["sre"]));
        let identity = impersonation().identity(&cmd).expect("alice may run");
        let as_alice = identity.client(&commands);
        // A request that tries to pick its own identity gets the caller's instead.
        let mut request = Request::get("/version").body(Vec::new()).expect("request");
        request.headers_mut().insert("impersonate-user", HeaderValue::from_static("system:admin"));
        request.headers_mut().insert("impersonate-group", HeaderValue::from_static("system:masters"));
        as_alice.request_text(request).await.expect("sent as alice");
        let seen = server.await.expect("server task");
        assert_eq!(
            seen,
            [
                ("impersonate-user".to_string(), "kubently:alice".to_string()),
                ("impersonate-group".to_string(), "kubently:sre".to_string()),
                ("impersonate-extra-kubently-command-id".to_string(), cmd.id.to_string()),
            ]
        );
    }
}
