//! The bare JetStream round trip Kubently's command path is built on, measured on the same NATS
//! in the same run as the command path: a requester publishes a request (the size of a command)
//! to a work-queue stream and waits for its publish acknowledgement; a responder on its own
//! connection pulls it from a durable consumer, answers with a core-NATS message (the size of a
//! result) on the subject the request names, and acks. What the command path adds on top of this
//! floor (signing, claims, write-once results, events, audit, the HTTP door, the engine) is its
//! overhead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::oneshot;

const REPLY_HEADER: &str = "Floor-Reply";

type Waiting = Arc<Mutex<HashMap<String, oneshot::Sender<()>>>>;

/// A work-queue stream, its consumer's responder and the requester's reply router; removed by
/// [`Floor::remove`].
pub struct Floor {
    js: jetstream::Context,
    stream: String,
    subject: String,
    reply_prefix: String,
    request: Bytes,
    waiting: Waiting,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Floor {
    /// Sets up the floor under `prefix` with requests of `request_bytes` and answers of
    /// `reply_bytes`. `requester` and `responder` are separate connections (a gateway and an
    /// executor are separate processes).
    pub async fn start(
        requester: async_nats::Client,
        responder: async_nats::Client,
        prefix: &str,
        request_bytes: usize,
        reply_bytes: usize,
    ) -> anyhow::Result<Self> {
        let js = jetstream::new(requester.clone());
        let stream = format!("{prefix}_FLOOR");
        let subject = format!("{prefix}.floor.request");
        let reply_prefix = format!("{prefix}.floor.reply");
        let _ = js.delete_stream(&stream).await;
        js.create_stream(stream::Config {
            name: stream.clone(),
            subjects: vec![subject.clone()],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .context("creating the floor stream")?;
        let consumer: consumer::PullConsumer = jetstream::new(responder.clone())
            .get_stream(&stream)
            .await?
            .create_consumer(consumer::pull::Config {
                durable_name: Some("floor".into()),
                ack_policy: consumer::AckPolicy::Explicit,
                ..Default::default()
            })
            .await
            .context("creating the floor consumer")?;
        let answer = Bytes::from(vec![b'r'; reply_bytes]);
        let respond = tokio::spawn(async move {
            let Ok(mut messages) = consumer.messages().await else { return };
            while let Some(Ok(msg)) = messages.next().await {
                let to = msg.headers.as_ref().and_then(|h| h.get(REPLY_HEADER)).map(|v| v.to_string());
                if let Some(to) = to {
                    let _ = responder.publish(to, answer.clone()).await;
                }
                let _ = msg.ack().await;
            }
        });
        let waiting: Waiting = Arc::default();
        let mut replies = requester.subscribe(format!("{reply_prefix}.>")).await?;
        let router = waiting.clone();
        let route = tokio::spawn(async move {
            while let Some(msg) = replies.next().await {
                let id = msg.subject.rsplit('.').next().unwrap_or_default().to_string();
                if let Some(tx) = router.lock().unwrap_or_else(|e| e.into_inner()).remove(&id) {
                    let _ = tx.send(());
                }
            }
        });
        Ok(Self {
            js,
            stream,
            subject,
            reply_prefix,
            request: Bytes::from(vec![b'q'; request_bytes]),
            waiting,
            tasks: vec![respond, route],
        })
    }

    /// One round trip: publish (acknowledged), pulled, answered.
    pub async fn round_trip(&self) -> anyhow::Result<Duration> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), tx);
        let started = Instant::now();
        let mut headers = HeaderMap::new();
        headers.insert(REPLY_HEADER, format!("{}.{id}", self.reply_prefix).as_str());
        self.js.publish_with_headers(self.subject.clone(), headers, self.request.clone()).await?.await?;
        tokio::time::timeout(Duration::from_secs(10), rx).await.context("no answer within 10 s")??;
        Ok(started.elapsed())
    }

    /// `samples` sequential round trips (after a warm-up).
    pub async fn sequential(&self, samples: usize) -> anyhow::Result<Vec<Duration>> {
        for _ in 0..20 {
            self.round_trip().await?;
        }
        let mut out = Vec::with_capacity(samples);
        for _ in 0..samples {
            out.push(self.round_trip().await?);
        }
        Ok(out)
    }

    /// Round trips at `concurrency` for `duration`: latencies and round trips per second.
    pub async fn throughput(
        self: &Arc<Self>,
        concurrency: usize,
        duration: Duration,
    ) -> (Vec<Duration>, f64) {
        let until = Instant::now() + duration;
        let started = Instant::now();
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                let floor = self.clone();
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    while Instant::now() < until {
                        if let Ok(d) = floor.round_trip().await {
                            lat.push(d);
                        }
                    }
                    lat
                })
            })
            .collect();
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.await.unwrap_or_default());
        }
        let rate = all.len() as f64 / started.elapsed().as_secs_f64();
        (all, rate)
    }

    pub async fn remove(&self) {
        for t in &self.tasks {
            t.abort();
        }
        let _ = self.js.delete_stream(&self.stream).await;
    }
}
