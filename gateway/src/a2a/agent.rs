//! The A2A agent: a message's text part is a kubectl command (`get pods -n demo-shop`) or a
//! plain-English health question ("what is wrong in demo-shop?", matched deterministically to
//! `diagnose`, see [`intent`](super::intent)), or its data part is
//! `{cluster_id?, command, namespace?, session_id?}`, or `{cluster_ids: [..] | "*", command,
//! namespace?}` for one command on many clusters (a fan-out, [`crate::app::fanout`]: the
//! artifact has the summary and each distinct answer as text and the whole outcome as data, and
//! the task completes whatever each cluster came to). It runs through the same
//! command path as REST and MCP and streams Task → working → artifact (text + data) →
//! completed; a command the policy refuses ends REJECTED with the reason, a failed one FAILED.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ::a2a::{
    A2AError, Artifact, Message, Part, PartContent, Role, StreamResponse, Task, TaskArtifactUpdateEvent,
    TaskPushNotificationConfig, TaskState, TaskStatus, TaskStatusUpdateEvent,
};
use a2a_server::{AgentExecutor, ExecutorContext};
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::intent::{self, Intent};
use super::push::{INLINE_CONFIG_KEY, PushConfigs};
use crate::AppState;
use crate::app::access;
use crate::app::commands::{self, CommandOutcome};
use crate::app::fanout::{self, ClusterIds, FanoutOutcome, FanoutRequest};
use crate::app::headers::{self, AgentHeaders};
use crate::app::input::{self, CommandRequest, ExecuteInput};
use crate::auth::Caller;
use crate::error::AppError;
use kubently_shared::protocol::CommandStatus;

/// Task metadata key holding the caller that owns the task.
pub const OWNER_KEY: &str = "kubently.owner";

pub struct KubentlyAgent {
    state: Arc<AppState>,
    push: Arc<PushConfigs>,
    running: Arc<Mutex<HashMap<String, CancellationToken>>>,
}

impl KubentlyAgent {
    pub fn new(state: Arc<AppState>, push: Arc<PushConfigs>) -> Self {
        Self { state, push, running: Arc::default() }
    }
}

/// What the message asks for.
struct Ask {
    /// A fan-out: the data part's `cluster_ids` (a list, or `"*"`).
    cluster_ids: Option<ClusterIds>,
    cluster_id: Option<String>,
    session_id: Option<String>,
    command: String,
    namespace: Option<String>,
    /// A plain-English question, and the command it was understood as.
    understood: Option<String>,
}

fn ask_of(message: Option<&Message>) -> Result<Ask, String> {
    let message = message.ok_or("the message is missing")?;
    for part in &message.parts {
        if let PartContent::Data(Value::Object(d)) = &part.content {
            let text = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_string);
            let command = text("command")
                .ok_or("the data part needs `command` (kubectl words, e.g. `get pods -n demo`)")?;
            let cluster_ids = match d.get("cluster_ids") {
                None => None,
                Some(ids) => Some(serde_json::from_value::<ClusterIds>(ids.clone()).map_err(|_| {
                    "`cluster_ids` is a list of cluster ids (e.g. [\"prod\", \"staging\"]) or \"*\" for every cluster"
                })?),
            };
            if cluster_ids.is_some() && (d.contains_key("cluster_id") || d.contains_key("session_id")) {
                return Err(
                    "give `cluster_ids` (many clusters) or `cluster_id`/`session_id` (one cluster), not both"
                        .into(),
                );
            }
            return Ok(Ask {
                cluster_ids,
                cluster_id: text("cluster_id"),
                session_id: text("session_id"),
                command,
                namespace: text("namespace"),
                understood: None,
            });
        }
    }
    let text: String = message.parts.iter().filter_map(|p| p.as_text()).collect::<Vec<_>>().join(" ");
    if text.trim().is_empty() {
        return Err("send a kubectl command as text (`get pods -n demo`) or a data part {cluster_id, command, namespace}".into());
    }
    let meta = |k: &str| {
        message.metadata.as_ref().and_then(|m| m.get(k)).and_then(Value::as_str).map(str::to_string)
    };
    let namespace = meta("namespace");
    let (command, understood) = match intent::understand(&text) {
        Intent::Command => (text, None),
        Intent::Diagnose(mut scope) => {
            // The message's `namespace` metadata scopes a question that names none.
            if scope.namespace.is_none() {
                scope.namespace.clone_from(&namespace);
            }
            let command = scope.command();
            (command.clone(), Some(command))
        }
        Intent::Unknown => return Err(intent::help(&text)),
    };
    let namespace = if understood.is_some() { None } else { namespace };
    Ok(Ask {
        cluster_ids: None,
        cluster_id: meta("cluster_id"),
        session_id: meta("session_id"),
        command,
        namespace,
        understood,
    })
}

/// The request's caller (the `/a2a` routes already refused requests without valid credentials;
/// the library hands the handler the headers, not the request's extensions, so they are read
/// again).
pub async fn caller_of(state: &AppState, params: &a2a_server::ServiceParams) -> Option<Caller> {
    let mut headers = http::HeaderMap::new();
    for name in [http::header::AUTHORIZATION.as_str(), crate::auth::API_KEY_HEADER] {
        if let Some(v) = params.get(name).and_then(|v| v.first())
            && let Ok(v) = http::HeaderValue::from_str(v)
        {
            headers.insert(name, v);
        }
    }
    state.auth.authenticate(&headers).await.ok()
}

fn headers_of(params: &a2a_server::ServiceParams) -> Result<AgentHeaders, AppError> {
    let mut map = http::HeaderMap::new();
    for name in [headers::CORRELATION_ID, headers::SERVICE_IDENTITY, headers::REQUEST_TIMEOUT] {
        if let Some(v) = params.get(name).and_then(|v| v.first())
            && let Ok(v) = http::HeaderValue::from_str(v)
        {
            map.insert(name, v);
        }
    }
    AgentHeaders::from_headers(&map)
}

fn status(task_id: &str, context_id: &str, state: TaskState, text: Option<String>) -> StreamResponse {
    let message = text.map(|t| {
        let mut m = Message::new(Role::Agent, vec![Part::text(t)]);
        m.task_id = Some(task_id.to_string());
        m.context_id = Some(context_id.to_string());
        m
    });
    StreamResponse::StatusUpdate(TaskStatusUpdateEvent {
        task_id: task_id.into(),
        context_id: context_id.into(),
        status: TaskStatus { state, message, timestamp: None },
        metadata: None,
    })
}

impl AgentExecutor for KubentlyAgent {
    fn execute(&self, ctx: ExecutorContext) -> BoxStream<'static, Result<StreamResponse, A2AError>> {
        let (tx, rx) = mpsc::channel::<Result<StreamResponse, A2AError>>(8);
        let state = self.state.clone();
        let push = self.push.clone();
        let token = CancellationToken::new();
        self.running.lock().expect("running lock").insert(ctx.task_id.clone(), token.clone());
        let running = self.running.clone();
        tokio::spawn(async move {
            let task_id = ctx.task_id.clone();
            tokio::select! {
                () = run(state, push, ctx, tx) => {}
                () = token.cancelled() => {}
            }
            running.lock().expect("running lock").remove(&task_id);
        });
        tokio_stream::wrappers::ReceiverStream::new(rx).boxed()
    }

    fn cancel(&self, ctx: ExecutorContext) -> BoxStream<'static, Result<StreamResponse, A2AError>> {
        if let Some(token) = self.running.lock().expect("running lock").remove(&ctx.task_id) {
            token.cancel();
        }
        let (state, push) = (self.state.clone(), self.push.clone());
        futures::stream::once(async move {
            let event = status(
                &ctx.task_id,
                &ctx.context_id,
                TaskState::Canceled,
                Some("canceled by the caller".into()),
            );
            push.notify(&state.webhooks, &ctx.task_id, usize::MAX, &event).await;
            Ok(event)
        })
        .boxed()
    }
}

/// One task: Task first (with the history carried over and the owner), then the outcome. Every
/// event also goes to the task's push configs.
async fn run(
    state: Arc<AppState>,
    push: Arc<PushConfigs>,
    ctx: ExecutorContext,
    tx: mpsc::Sender<Result<StreamResponse, A2AError>>,
) {
    let (task_id, context_id) = ctx.task_info();
    let Some(caller) = caller_of(&state, &ctx.service_params).await else {
        let _ = tx.send(Err(A2AError::invalid_request("missing or invalid X-API-Key"))).await;
        return;
    };
    if let Some(inline) = ctx.metadata.as_ref().and_then(|m| m.get(INLINE_CONFIG_KEY)) {
        let saved = match serde_json::from_value::<TaskPushNotificationConfig>(inline.clone()) {
            Ok(mut config) => {
                config.task_id = task_id.clone();
                push.save(&state.webhooks, config).await
            }
            Err(e) => Err(A2AError::invalid_params(format!("push notification config: {e}"))),
        };
        if let Err(e) = saved {
            let _ = tx.send(Err(e)).await;
            return;
        }
    }
    let mut history = ctx.stored_task.as_ref().and_then(|t| t.history.clone()).unwrap_or_default();
    if let Some(m) = &ctx.message
        && !history.iter().any(|h| h.message_id == m.message_id)
    {
        history.push(m.clone());
    }
    let mut metadata = ctx.stored_task.as_ref().and_then(|t| t.metadata.clone()).unwrap_or_default();
    metadata.insert(OWNER_KEY.into(), json!(caller.service));
    let task = Task {
        id: task_id.clone(),
        context_id: context_id.clone(),
        status: TaskStatus { state: TaskState::Submitted, message: None, timestamp: None },
        artifacts: ctx.stored_task.as_ref().and_then(|t| t.artifacts.clone()),
        history: Some(history),
        metadata: Some(metadata),
    };
    let seq = std::sync::atomic::AtomicUsize::new(0);
    let send = |event: StreamResponse| {
        let (tx, push, state, task_id) = (tx.clone(), push.clone(), state.clone(), task_id.clone());
        let n = seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async move {
            push.notify(&state.webhooks, &task_id, n, &event).await;
            tx.send(Ok(event)).await.is_ok()
        }
    };
    if !send(StreamResponse::Task(task)).await {
        return;
    }

    let prepared = ask_of(ctx.message.as_ref()).and_then(|ask| {
        let understood = ask.understood.clone();
        prepare(&state, &caller, &ctx, ask).map(|work| (work, understood)).map_err(|e| e.for_agent())
    });
    let (work, understood) = match prepared {
        Ok(prepared) => prepared,
        Err(why) => {
            send(status(&task_id, &context_id, TaskState::Rejected, Some(why))).await;
            return;
        }
    };
    let working = understood.map(|command| format!("understood as `{command}`"));
    if !send(status(&task_id, &context_id, TaskState::Working, working)).await {
        return;
    }
    let done = match work {
        Work::One(input) => commands::execute(&state, &caller, *input).await.map(one_answer),
        Work::Fanout(headers, req) => fanout::run(&state, &caller, headers, *req).await.map(fanout_answer),
    };
    let (artifact, terminal, text) = match done {
        Ok(done) => done,
        Err(e) => {
            let terminal = if e.is_callers_fault() { TaskState::Rejected } else { TaskState::Failed };
            send(status(&task_id, &context_id, terminal, Some(e.for_agent()))).await;
            return;
        }
    };
    if !send(StreamResponse::ArtifactUpdate(TaskArtifactUpdateEvent {
        task_id: task_id.clone(),
        context_id: context_id.clone(),
        artifact,
        append: None,
        last_chunk: Some(true),
        metadata: None,
    }))
    .await
    {
        return;
    }
    send(status(&task_id, &context_id, terminal, text)).await;
}

/// What a task runs: one command, or one command on many clusters (checked when it runs).
enum Work {
    One(Box<ExecuteInput>),
    Fanout(AgentHeaders, Box<FanoutRequest>),
}

/// A command's artifact (its output as text, the whole outcome as data) and how the task ends:
/// completed on success, failed otherwise.
fn one_answer(response: CommandOutcome) -> (Artifact, TaskState, Option<String>) {
    let output = response.output.clone().unwrap_or_default();
    let data = serde_json::to_value(&response).unwrap_or_default();
    let artifact = Artifact {
        artifact_id: ::a2a::new_artifact_id(),
        name: Some("kubectl-output".into()),
        description: Some(format!(
            "{} on cluster {}",
            response.meta.as_ref().map_or("output", |m| m.verb.as_str()),
            response.cluster_id
        )),
        parts: vec![Part::text(output), Part::data(data)],
        metadata: None,
        extensions: None,
    };
    let (terminal, text) = match response.status {
        CommandStatus::Success => (TaskState::Completed, None),
        _ => (
            TaskState::Failed,
            Some(
                response
                    .error
                    .unwrap_or_else(|| format!("the command ended with status {}", response.status)),
            ),
        ),
    };
    (artifact, terminal, text)
}

/// A fan-out's artifact (the summary and each distinct answer as text, the whole outcome as
/// data); the task completes with the summary, whatever each cluster came to (partial results
/// are the normal answer).
fn fanout_answer(outcome: FanoutOutcome) -> (Artifact, TaskState, Option<String>) {
    let summary = outcome.summary();
    let artifact = Artifact {
        artifact_id: ::a2a::new_artifact_id(),
        name: Some("kubectl-fanout".into()),
        description: Some(format!("`{}` on {} clusters", outcome.command, outcome.counts.sent)),
        parts: vec![
            Part::text(outcome.text()),
            Part::data(serde_json::to_value(&outcome).unwrap_or_default()),
        ],
        metadata: None,
        extensions: None,
    };
    (artifact, TaskState::Completed, Some(summary))
}

/// The work, through the same validation and policy as `POST /debug/execute` (a fan-out's is
/// `POST /debug/execute/fanout`'s, when it runs).
fn prepare(state: &AppState, caller: &Caller, ctx: &ExecutorContext, ask: Ask) -> Result<Work, AppError> {
    let (command_type, args) = kubently_shared::policy::split_verb(&ask.command)
        .map_err(|e| AppError::field(&["message", "command"], "command", e, Value::Null))?;
    let headers = headers_of(&ctx.service_params)?;
    if let Some(cluster_ids) = ask.cluster_ids {
        let req = FanoutRequest {
            cluster_ids,
            correlation_id: Some(ctx.context_id.clone()),
            command_type,
            args,
            extra_args: None,
            namespace: ask.namespace,
            timeout_seconds: None,
            output_budget: None,
        };
        return Ok(Work::Fanout(headers, Box::new(req)));
    }
    let cluster_id = match ask.cluster_id {
        Some(c) => c,
        None => access::only_cluster(state, caller)?,
    };
    let req = CommandRequest {
        cluster_id,
        session_id: ask.session_id,
        correlation_id: Some(ctx.context_id.clone()),
        command_type,
        args,
        namespace: ask.namespace,
        ..Default::default()
    };
    input::prepare(state, caller, headers, req).map(|input| Work::One(Box::new(input)))
}
