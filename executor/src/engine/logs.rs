//! `logs` of one pod's container, through the API server's `pods/log` subresource. `-f` follows
//! until shortly before the command's deadline and returns what arrived (as an interrupted
//! `kubectl logs -f` would have shown). Workload targets (`deploy/x`), `-l` and
//! `--all-containers` arrive with the full kubectl engine.

use std::time::{Duration, Instant};

use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use kubently_shared::policy::{LogTarget, LogsRequest, NamespaceScope};

use super::{EngineError, ExecOptions, Output};

/// Stop following this long before the deadline, so the output makes it back in time.
const FOLLOW_MARGIN: Duration = Duration::from_millis(300);

pub(super) async fn run(client: &kube::Client, _discovery: &super::discovery::DiscoveryCache, req: &LogsRequest, opts: &ExecOptions) -> Result<Output, EngineError> {
    let pod = match &req.target {
        LogTarget::Object(r) if matches!(r.resource.as_str(), "pods" | "pod" | "po") && r.names.len() == 1 => r.names[0].clone(),
        _ => return Err(EngineError::Unsupported { verb: "logs of workloads, selectors or several pods".into() }),
    };
    if req.all_containers {
        return Err(EngineError::Unsupported { verb: "logs --all-containers".into() });
    }
    let namespace = match &req.namespace {
        NamespaceScope::Namespace(ns) => ns.clone(),
        _ => opts.default_namespace.clone(),
    };
    let api: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    let params = LogParams {
        container: req.container.clone(),
        follow: req.follow,
        limit_bytes: req.limit_bytes,
        previous: req.previous,
        since_seconds: req.since_seconds,
        since_time: req.since_time.as_deref().map(parse_time).transpose()?,
        tail_lines: req.tail_lines.filter(|t| *t >= 0),
        timestamps: req.timestamps,
        ..LogParams::default()
    };
    let text = if req.follow {
        follow(&api, &pod, &params, opts.deadline).await?
    } else {
        api.logs(&pod, &params).await?
    };
    let rows = text.lines().count() as u64;
    Ok(Output { text, kind: Some("Log".into()), rows: Some(rows) })
}

async fn follow(api: &Api<Pod>, pod: &str, params: &LogParams, deadline: Option<Instant>) -> Result<String, EngineError> {
    let stop = deadline.map(|d| d.checked_sub(FOLLOW_MARGIN).unwrap_or(d));
    let mut lines = api.log_stream(pod, params).await?.lines();
    let mut text = String::new();
    loop {
        let next = match stop {
            Some(at) => match tokio::time::timeout_at(at.into(), lines.next()).await {
                Ok(line) => line,
                Err(_) => break, // followed until the deadline
            },
            None => lines.next().await,
        };
        match next {
            Some(Ok(line)) => {
                text.push_str(&line);
                text.push('\n');
            }
            Some(Err(e)) => return Err(EngineError::Connection(format!("log stream ended: {e}"))),
            None => break,
        }
    }
    Ok(text)
}

fn parse_time(value: &str) -> Result<k8s_openapi::jiff::Timestamp, EngineError> {
    value.parse().map_err(|e| EngineError::Invalid(format!("invalid --since-time {value:?}: {e}")))
}
