//! A loopback reverse proxy that adds one header to every request: for clients that cannot send
//! the gateway's `X-API-Key` themselves (the MCP conformance suite). Everything else passes
//! through as it came, `Host` included, and both bodies stream (an SSE response reaches the
//! client event by event). Each request gets its own upstream connection.

use std::net::SocketAddr;

use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct HeaderProxy {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    task: JoinHandle<()>,
}

impl HeaderProxy {
    /// Proxies to `upstream` (a `http://host:port` URL of a loopback server), adding `name: value`.
    pub async fn start(upstream: &str, name: &'static str, value: &str) -> anyhow::Result<Self> {
        let upstream: SocketAddr = upstream
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
            .ok_or_else(|| anyhow::anyhow!("{upstream} is not a http://host:port URL"))?
            .parse()?;
        anyhow::ensure!(upstream.ip().is_loopback(), "the proxy only forwards to loopback, not {upstream}");
        let header = (HeaderName::from_static(name), HeaderValue::from_str(value)?);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let header = header.clone();
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |request| forward(upstream, header.clone(), request));
                    // A client that goes away mid-stream ends the connection; nothing to report.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { url, task })
    }
}

impl Drop for HeaderProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Body = Either<Incoming, Full<Bytes>>;

/// The upstream's response, or a 502 that says why there is none.
async fn forward(
    upstream: SocketAddr,
    header: (HeaderName, HeaderValue),
    request: Request<Incoming>,
) -> Result<Response<Body>, std::convert::Infallible> {
    Ok(match send(upstream, header, request).await {
        Ok(response) => response.map(Either::Left),
        Err(e) => {
            let mut response = Response::new(Either::Right(Full::new(Bytes::from(format!("proxy: {e:#}")))));
            *response.status_mut() = StatusCode::BAD_GATEWAY;
            response
        }
    })
}

async fn send(
    upstream: SocketAddr,
    (name, value): (HeaderName, HeaderValue),
    mut request: Request<Incoming>,
) -> anyhow::Result<Response<Incoming>> {
    request.headers_mut().insert(name, value);
    let stream = TcpStream::connect(upstream).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender.send_request(request).await?)
}
