//! One command, from message to ack: decode, refuse if expired (explicit expiry, not run),
//! re-validate with the shared policy (a compromised gateway cannot widen what runs here), run
//! through the engine (which applies the policy again to every resource it resolves) while
//! telling JetStream the work is in progress (so it is not redelivered to another replica
//! meanwhile), reply, store the result, emit the event, then ack. If this process dies before the
//! ack, the command is redelivered.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, AckKind};
use kubently_shared::budget;
use kubently_shared::events::EventPublisher;
use kubently_shared::policy::{self, PolicyConfig};
use kubently_shared::protocol::{self, Command, CommandResult, CommandStatus, Event, EventType, OutputMeta};
use kubently_shared::provision::Buckets;
use serde_json::json;
use time::OffsetDateTime;
use tracing::Instrument;

use crate::engine::{Engine, ExecOptions};

pub struct Worker {
    pub engine: Engine,
    pub nats: async_nats::Client,
    pub buckets: Buckets,
    pub events: EventPublisher,
    pub executor_id: String,
    pub cluster_id: String,
    pub policy: PolicyConfig,
    pub default_namespace: String,
    /// Progress is reported every third of the consumer's ack wait.
    pub ack_wait: Duration,
}

impl Worker {
    pub async fn handle(self: Arc<Self>, msg: jetstream::Message) {
        let command: Command = match protocol::decode(&msg.payload) {
            Ok(c) => c,
            Err(e) => {
                // Not a command we can answer (no reply subject): drop it for good, loudly.
                tracing::error!(subject = %msg.subject, error = %e, "undecodable command; terminating it");
                let _ = msg.ack_with(AckKind::Term).await;
                return;
            }
        };
        let delivered = msg.info().map(|i| i.delivered).unwrap_or(1);
        let span = tracing::info_span!("command", command_id = %command.id, correlation_id = command.correlation_id.as_deref().unwrap_or(""), verb = command.request.verb(), delivered);
        async move {
            if delivered > 1 {
                tracing::warn!("redelivered: a previous executor took it and did not finish");
            }
            let result = self.run(&command, &msg).await;
            self.deliver(&command, &result).await;
            if let Err(e) = msg.double_ack().await {
                tracing::warn!(error = %e, "ack failed; the command may be redelivered and answered again");
            }
        }
        .instrument(span)
        .await
    }

    async fn run(&self, command: &Command, msg: &jetstream::Message) -> CommandResult {
        let now = OffsetDateTime::now_utc();
        let Some(remaining) = command.remaining(now).filter(|_| !command.is_expired(now)) else {
            tracing::info!("expired before it could run; answering with an explicit expiry");
            return CommandResult::expired(command, &self.executor_id, now);
        };
        if command.cluster_id != self.cluster_id {
            return self.failure(
                command,
                format!(
                    "command for cluster '{}' reached the executor of '{}'",
                    command.cluster_id, self.cluster_id
                ),
                0,
            );
        }
        if let Err(e) = policy::validate(&command.request, &self.policy) {
            return self.failure(command, format!("refused by the executor's read-only policy: {e}"), 0);
        }
        let started = Instant::now();
        let opts = ExecOptions {
            default_namespace: self.default_namespace.clone(),
            deadline: Some(started + remaining),
        };
        let progress = async {
            let mut tick = tokio::time::interval(self.ack_wait / 3);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = msg.ack_with(AckKind::Progress).await {
                    tracing::warn!(error = %e, "could not report progress");
                }
            }
        };
        let outcome = tokio::select! {
            out = tokio::time::timeout(remaining, self.engine.execute(&command.request, &opts)) => out,
            _ = progress => unreachable!("the progress loop never ends"),
        };
        let ms = started.elapsed().as_millis() as u64;
        match outcome {
            Ok(Ok(output)) => CommandResult {
                output: output.text,
                execution_time_ms: ms,
                meta: Some(OutputMeta { kind: output.kind, rows: output.rows, ..OutputMeta::default() }),
                ..CommandResult::new(
                    command,
                    CommandStatus::Success,
                    &self.executor_id,
                    OffsetDateTime::now_utc(),
                )
            },
            // Like kubectl: what was read goes to the output, the errors to `error`.
            Ok(Err(e)) => CommandResult {
                output: e.partial_output().map(|o| o.text.clone()).unwrap_or_default(),
                ..self.failure(command, e.to_string(), ms)
            },
            Err(_) => CommandResult {
                error: Some(format!(
                    "the command did not finish within its {} s deadline and was abandoned",
                    remaining.as_secs().max(1)
                )),
                execution_time_ms: ms,
                ..CommandResult::new(
                    command,
                    CommandStatus::Timeout,
                    &self.executor_id,
                    OffsetDateTime::now_utc(),
                )
            },
        }
    }

    async fn reply(&self, command: &Command, reply: &CommandResult) {
        match protocol::encode(reply) {
            Ok(payload) => {
                if let Err(e) = self.nats.publish(command.reply_to.clone(), payload).await {
                    tracing::warn!(error = %e, "reply not sent; the result is still stored");
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot encode the reply"),
        }
    }

    async fn store(&self, command: &Command, stored: &CommandResult) {
        match protocol::encode(stored) {
            Ok(payload) => {
                if let Err(e) = self.buckets.results.put(command.id.to_string(), payload).await {
                    tracing::warn!(error = %e, "result not stored");
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot encode the stored result"),
        }
    }

    fn failure(&self, command: &Command, error: String, ms: u64) -> CommandResult {
        CommandResult {
            error: Some(error),
            execution_time_ms: ms,
            ..CommandResult::new(
                command,
                CommandStatus::Failure,
                &self.executor_id,
                OffsetDateTime::now_utc(),
            )
        }
    }

    /// Replies with the output fitted to the command's budget and stores the full output (for
    /// paging), then emits the event. A cut reply tells the caller to page, so then the full copy
    /// is stored first; otherwise the reply goes first (the caller is waiting).
    async fn deliver(&self, command: &Command, result: &CommandResult) {
        let (reply, stored) = fit_to_budget(command, result);
        let truncated = reply.meta.as_ref().is_some_and(|m| m.truncated);
        if truncated {
            self.store(command, &stored).await;
            self.reply(command, &reply).await;
        } else {
            self.reply(command, &reply).await;
            self.store(command, &stored).await;
        }
        let event_type = match result.status {
            CommandStatus::Success => EventType::CommandCompleted,
            CommandStatus::Failure => EventType::CommandFailed,
            CommandStatus::Timeout | CommandStatus::Pending => return, // the gateway reports timeouts
        };
        let data = json!({
            "command_id": command.id, "verb": command.request.verb(), "status": result.status.as_str(),
            "execution_time_ms": result.execution_time_ms, "error": result.error, "caller": command.caller.service,
            "correlation_id": command.correlation_id, "session_id": command.session_id, "executor_id": self.executor_id,
        });
        self.events.publish_deduplicated(
            Event::new(event_type, &command.cluster_id, data, OffsetDateTime::now_utc())
                .by(&command.caller.service),
            format!("{}.{}", event_type.as_str(), command.id),
        );
        tracing::info!(
            status = result.status.as_str(),
            execution_time_ms = result.execution_time_ms,
            "command done"
        );
    }
}

/// (reply, stored): the reply's output fits the command's budget (default 16 KiB) with a footer
/// saying what was cut and how to narrow; the stored copy keeps the full output (up to 4 MiB).
fn fit_to_budget(command: &Command, full: &CommandResult) -> (CommandResult, CommandResult) {
    let budget = command
        .output_budget_bytes
        .map_or(budget::DEFAULT_BUDGET_BYTES, |b| b as usize)
        .clamp(budget::MIN_BUDGET_BYTES, budget::MAX_BUDGET_BYTES);
    let fitted = budget::fit(&full.output, budget, command.request.verb(), &command.id.to_string());
    let base = full.meta.clone().unwrap_or_default();
    let meta = |returned: usize, truncated: bool| OutputMeta {
        bytes: fitted.total_bytes as u64,
        lines: fitted.total_lines as u64,
        returned_bytes: returned as u64,
        tokens_estimate: budget::estimate_tokens(returned),
        truncated,
        ..base.clone()
    };
    let reply = CommandResult {
        output: fitted.text.clone(),
        meta: Some(meta(fitted.text.len(), fitted.truncated)),
        ..full.clone()
    };
    let stored_len = (0..=full.output.len().min(budget::MAX_STORED_BYTES))
        .rev()
        .find(|i| full.output.is_char_boundary(*i))
        .unwrap_or(0);
    let stored = CommandResult {
        output: full.output[..stored_len].to_string(),
        meta: Some(meta(stored_len, stored_len < full.output.len())),
        ..full.clone()
    };
    (reply, stored)
}
