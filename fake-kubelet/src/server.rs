//! The kubelet's HTTPS endpoint: `/containerLogs/{ns}/{pod}/{container}` and `/healthz`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;
use tracing::{debug, warn};

use super::logs::{
    ContainerLogs, LiveKind, LogError, LogQuery, container_logs, format_line, live_line, parse_log_query,
    render,
};

const TEXT_PLAIN: &str = "text/plain; charset=utf-8";
/// A follower gets one new line this often…
const FOLLOW_EVERY: Duration = Duration::from_secs(1);
/// …for at most this long.
const FOLLOW_MAX: Duration = Duration::from_secs(600);
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What request handlers need.
#[derive(Clone)]
pub(crate) struct AppState {
    client: kube::Client,
    node: Arc<str>,
}

impl AppState {
    pub(crate) fn new(client: kube::Client, node: &str) -> Self {
        Self { client, node: Arc::from(node) }
    }
}

/// The kubelet's routes (anything else is a 404).
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/containerLogs/{namespace}/{pod}/{container}", get(container_logs_handler))
        .fallback(|| async { text(StatusCode::NOT_FOUND, "404 page not found\n".to_owned()) })
        .with_state(state)
}

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, TEXT_PLAIN)], body).into_response()
}

async fn container_logs_handler(
    State(state): State<AppState>,
    Path((namespace, pod_name, container)): Path<(String, String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let now = OffsetDateTime::now_utc();
    let query = match parse_log_query(&params, now) {
        Ok(query) => query,
        Err(message) => return text(StatusCode::BAD_REQUEST, message),
    };
    let api: Api<Pod> = Api::namespaced(state.client.clone(), &namespace);
    let pod = match api.get_opt(&pod_name).await {
        Ok(Some(pod)) if pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(&*state.node) => pod,
        Ok(_) => {
            return text(StatusCode::NOT_FOUND, format!("pod {pod_name:?} does not exist\n"));
        }
        Err(err) => {
            warn!(pod = %format!("{namespace}/{pod_name}"), error = %err, "reading pod for logs failed");
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("failed to get pod {pod_name:?}: {err}\n"),
            );
        }
    };
    let logs = match container_logs(&pod, &container, query.previous, now) {
        Ok(logs) => logs,
        Err(LogError::NotFound(message)) => return text(StatusCode::NOT_FOUND, message),
        Err(LogError::BadRequest(message)) => return text(StatusCode::BAD_REQUEST, message),
    };
    debug!(pod = %format!("{namespace}/{pod_name}"), %container, ?query, lines = logs.lines.len(), "serving logs");
    let body = log_body(logs, &query, pod_name);
    (StatusCode::OK, [(header::CONTENT_TYPE, TEXT_PLAIN)], body).into_response()
}

fn log_body(logs: ContainerLogs, query: &LogQuery, seed: String) -> Body {
    let initial = render(&logs.lines, query);
    match (query.follow, logs.live) {
        (true, Some(kind)) => follow_body(initial, kind, query.clone(), seed),
        _ => Body::from(initial),
    }
}

/// Existing lines, then one new line per second until the client goes away, `limitBytes` is used
/// up, or [`FOLLOW_MAX`] passes.
fn follow_body(initial: Vec<u8>, kind: LiveKind, query: LogQuery, seed: String) -> Body {
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(16);
    tokio::spawn(async move {
        let mut remaining = query
            .limit_bytes
            .map(|limit| usize::try_from(limit).unwrap_or(usize::MAX).saturating_sub(initial.len()));
        if !initial.is_empty() && tx.send(Ok(Bytes::from(initial))).await.is_err() {
            return;
        }
        let deadline = tokio::time::Instant::now() + FOLLOW_MAX;
        let mut seq = 0_i64;
        while remaining != Some(0) {
            tokio::select! {
                () = tokio::time::sleep(FOLLOW_EVERY) => {}
                () = tx.closed() => break,
            }
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            let line = live_line(kind, &seed, seq, OffsetDateTime::now_utc());
            let mut bytes = format_line(&line, query.timestamps).into_bytes();
            if let Some(left) = remaining.as_mut() {
                bytes.truncate(*left);
                *left -= bytes.len();
            }
            if tx.send(Ok(Bytes::from(bytes))).await.is_err() {
                break;
            }
            seq += 1;
        }
    });
    Body::from_stream(ReceiverStream::new(rx))
}

/// A self-signed certificate for `127.0.0.1`, `localhost` and the node name, served with *ring*.
pub(crate) fn tls_acceptor(node: &str) -> anyhow::Result<TlsAcceptor> {
    let mut names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    if !names.iter().any(|n| n == node) {
        names.push(node.to_owned());
    }
    let certified = rcgen::generate_simple_self_signed(names)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Accept TLS connections forever, serving HTTP/1.1 or HTTP/2 on each.
pub(crate) async fn serve(listener: TcpListener, acceptor: TlsAcceptor, router: Router) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(err) => {
                warn!(error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(err)) => return debug!(%peer, error = %err, "TLS handshake failed"),
                Err(_) => return debug!(%peer, "TLS handshake timed out"),
            };
            let builder = auto::Builder::new(TokioExecutor::new());
            if let Err(err) = builder.serve_connection(TokioIo::new(tls), service).await {
                debug!(%peer, error = %err, "connection ended with error");
            }
        });
    }
}
