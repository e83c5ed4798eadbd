//! "Killed right after replying", made exact: a loopback TCP proxy between one executor and its
//! NATS server that reads the client's side of the NATS protocol. Once armed, it forwards the
//! first publish to a given subject prefix — the executor's answer: its write of the final result,
//! which the results bucket republishes to the waiting gateway — and nothing after it from that
//! client (the ack, the event and anything else the executor sends next never reach the server),
//! then reports the cut; the suite kills the executor at once. Without it, a kill after seeing the reply loses the race
//! to the ack, which the executor sends microseconds after the reply.
//!
//! Parsing: every client operation is a line ending in CRLF; `PUB <subject> [reply] <size>` and
//! `HPUB <subject> [reply] <header size> <total size>` are followed by `<size>` bytes and CRLF.
//! Server-to-client bytes pass through untouched.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct CutProxy {
    /// `nats://127.0.0.1:<port>`
    pub url: String,
    armed: Arc<AtomicBool>,
    cut: watch::Receiver<Option<String>>,
    task: tokio::task::JoinHandle<()>,
}

impl CutProxy {
    /// Proxies to `upstream`; cuts after a publish to a subject starting with `reply_prefix`.
    pub async fn start(upstream: SocketAddr, reply_prefix: String) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("nats://{}", listener.local_addr()?);
        let armed = Arc::new(AtomicBool::new(false));
        let (tx, cut) = watch::channel(None);
        let tx = Arc::new(tx);
        let state = (armed.clone(), tx, Arc::new(reply_prefix));
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (armed, tx, prefix) = state.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        relay(client, server, armed, tx, prefix).await;
                    }
                });
            }
        });
        Ok(Self { url, armed, cut, task })
    }

    /// From now on, the next reply is the last thing forwarded.
    pub fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    /// The subject of the reply after which the client was cut.
    pub async fn cut(&mut self) -> anyhow::Result<String> {
        let subject = self.cut.wait_for(Option::is_some).await?;
        Ok(subject.clone().unwrap_or_default())
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(
    client: TcpStream,
    server: TcpStream,
    armed: Arc<AtomicBool>,
    cut: Arc<watch::Sender<Option<String>>>,
    reply_prefix: Arc<String>,
) {
    let (mut client_rx, mut client_tx) = client.into_split();
    let (mut server_rx, mut server_tx) = server.into_split();
    let down = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut server_rx, &mut client_tx).await;
    });
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    'read: loop {
        let n = match client_rx.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        while let Some(frame) = next_frame(&buf) {
            let reply_subject = frame
                .publish_subject
                .as_deref()
                .filter(|s| armed.load(Ordering::SeqCst) && s.starts_with(reply_prefix.as_str()))
                .map(str::to_string);
            if server_tx.write_all(&buf[..frame.len]).await.is_err() {
                break 'read;
            }
            buf.drain(..frame.len);
            if let Some(subject) = reply_subject {
                let _ = server_tx.flush().await;
                armed.store(false, Ordering::SeqCst);
                cut.send_replace(Some(subject));
                // Swallow whatever the client sends until it dies.
                while matches!(client_rx.read(&mut chunk).await, Ok(n) if n > 0) {}
                break 'read;
            }
        }
    }
    down.abort();
}

struct Frame {
    /// Bytes of the whole operation (line, and payload if any).
    len: usize,
    /// The subject of a `PUB`/`HPUB`.
    publish_subject: Option<String>,
}

/// The first complete client operation in `buf`, if it holds one.
fn next_frame(buf: &[u8]) -> Option<Frame> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&buf[..line_end]).unwrap_or_default();
    let mut words = line.split_whitespace();
    let op = words.next().unwrap_or_default().to_ascii_uppercase();
    let words: Vec<&str> = words.collect();
    let (payload, subject) = match op.as_str() {
        "PUB" | "HPUB" => {
            let size: usize = words.last()?.parse().ok()?;
            (size + 2, words.first().map(|s| s.to_string()))
        }
        _ => (0, None),
    };
    let len = line_end + 2 + payload;
    (buf.len() >= len).then_some(Frame { len, publish_subject: subject })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_whole_operations() {
        let buf = b"PING\r\nPUB a.b _INBOX.1 5\r\nhello\r\nHPUB x 12 14\r\nNATS/1.0\r\n\r\nhi\r\nSUB";
        let f = next_frame(buf).expect("PING");
        assert_eq!((f.len, f.publish_subject), (6, None));
        let rest = &buf[6..];
        let f = next_frame(rest).expect("PUB");
        assert_eq!(f.publish_subject.as_deref(), Some("a.b"));
        assert_eq!(&rest[..f.len], b"PUB a.b _INBOX.1 5\r\nhello\r\n");
        let rest = &rest[f.len..];
        let f = next_frame(rest).expect("HPUB");
        assert_eq!(&rest[..f.len], b"HPUB x 12 14\r\nNATS/1.0\r\n\r\nhi\r\n");
        assert!(next_frame(&rest[f.len..]).is_none(), "an incomplete line is not a frame");
        assert!(next_frame(b"PUB a 10\r\nshort").is_none(), "nor an incomplete payload");
    }
}
