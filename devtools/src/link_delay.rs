//! A far-away executor on one machine: a loopback TCP proxy that holds every byte for a fixed
//! time in each direction before passing it on (in order, pipelined: a stream of bytes is
//! delayed, not slowed), so a client behind it sees the server `2 × delay` round trip away. TLS
//! passes through untouched. `./dev bench --executor-link-delay-ms N` puts the executor behind
//! one, as an executor in a remote cluster dials the hub across a WAN.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A running proxy; stops when dropped.
pub struct LinkDelay {
    /// Where clients connect instead of the upstream.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl LinkDelay {
    /// Proxies every connection made to the returned address to `upstream`, each direction
    /// delayed by `delay`.
    pub async fn start(upstream: SocketAddr, delay: Duration) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else { return };
                    let _ = (client.set_nodelay(true), server.set_nodelay(true));
                    let (client_rx, client_tx) = client.into_split();
                    let (server_rx, server_tx) = server.into_split();
                    tokio::join!(pipe(client_rx, server_tx, delay), pipe(server_rx, client_tx, delay));
                });
            }
        });
        Ok(Self { addr, task })
    }
}

impl Drop for LinkDelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies `from` to `to`, each chunk written `delay` after it was read.
async fn pipe(
    mut from: impl AsyncReadExt + Unpin,
    mut to: impl AsyncWriteExt + Unpin + Send + 'static,
    delay: Duration,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    let reader = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = from.read(&mut buf).await {
            if n == 0 || tx.send((Instant::now() + delay, buf[..n].to_vec())).is_err() {
                break;
            }
        }
    };
    tokio::join!(reader, writer);
}
