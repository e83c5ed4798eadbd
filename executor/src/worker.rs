//! One command, from message to ack: decode, claim it (at most one execution: a command another
//! executor took is never run again, see [`kubently_shared::claims`]), refuse if expired
//! (explicit expiry, not run), re-validate with the shared policy (a compromised gateway cannot
//! widen what runs here), on a cluster that runs commands as their caller refuse a command
//! without a usable caller identity ([`crate::impersonation`]; else its engine sends the
//! caller), run through the engine (which applies the policy again to every
//! resource it resolves) while telling JetStream the work is in progress, store the result
//! (write-once, see [`kubently_shared::results`]), then reply with what is stored (the gateway
//! receives the stored record itself when the command says `reply_from_store`: the results
//! bucket republishes it), store the event, and ack. The ack comes only after the result and its
//! event are stored: if this process dies before, the command is redelivered, and the next
//! executor finds the claim and the stored result, re-sends the reply and re-emits the event
//! (deduplicated: never twice).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, AckKind};
use kubently_shared::claims::{self, Claim, Claimed};
use kubently_shared::events::EventPublisher;
use kubently_shared::kv_ttl;
use kubently_shared::names::Names;
use kubently_shared::policy::{self, PolicyConfig};
use kubently_shared::protocol::{self, Command, CommandResult, CommandStatus, Event, EventType, OutputMeta};
use kubently_shared::provision::ExecutorBuckets;
use kubently_shared::results::{self, Stored, fit_to_budget};
use kubently_shared::retry;
use kubently_shared::signing::{self, CommandVerifier};
use kubently_shared::untrusted;
use serde_json::json;
use time::OffsetDateTime;
use tracing::Instrument;

use crate::engine::{Engine, ExecOptions};
use crate::impersonation::Impersonation;

/// The one place where what the engine read leaves the executor: output and error texts carry
/// cluster-sourced text (logs, events, messages, annotations), stripped here of escape sequences
/// and control characters ([`untrusted::clean`]) before anything stores or sends them.
fn cluster_text(text: String) -> String {
    match untrusted::clean(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(cleaned) => cleaned,
    }
}

/// How long past a command's deadline a result store is retried (a JetStream leader election
/// takes a few seconds). A result that cannot be stored by then is not replied either: the
/// command is redelivered and answered from the claim.
const STORE_PATIENCE: Duration = Duration::from_secs(15);
/// How often an executor that found a command taken re-reads its result while it waits.
const CLAIMANT_POLL: Duration = Duration::from_millis(250);
/// A final result found stored gets its terminal event re-emitted while it is younger than this:
/// the events stream deduplicates `command.<id>` for 2 minutes, so a re-emitted event is either
/// the one its writer never stored (it died in between) or dropped as a duplicate.
const RE_EMIT_WITHIN: time::Duration = time::Duration::seconds(90);

/// Why a command message may not run here.
#[derive(Debug, thiserror::Error)]
enum Inadmissible {
    #[error(transparent)]
    Signature(#[from] signing::Refusal),
    #[error("the command is for cluster '{0}', another cluster than this executor's")]
    OtherCluster(String),
    #[error("the command's deadline {deadline} is further ahead than a command lives ({} s)", lifetime.as_secs())]
    TooFarAhead { deadline: OffsetDateTime, lifetime: Duration },
}

pub struct Worker {
    pub engine: Engine,
    pub nats: async_nats::Client,
    pub js: jetstream::Context,
    pub names: Names,
    pub buckets: ExecutorBuckets,
    pub events: EventPublisher,
    pub executor_id: String,
    pub cluster_id: String,
    pub policy: PolicyConfig,
    pub default_namespace: String,
    /// Progress is reported every third of the consumer's ack wait.
    pub ack_wait: Duration,
    /// The gateway keys whose signed commands run here.
    pub verifier: CommandVerifier,
    /// Set when this cluster runs commands as their caller: each command then runs on an engine
    /// whose client impersonates the caller, and a command without a caller identity is refused.
    pub impersonation: Option<Impersonation>,
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
        let (delivered, sequence) = msg.info().map_or((1, None), |i| (i.delivered, Some(i.stream_sequence)));
        let span = tracing::info_span!("command", command_id = %command.id, correlation_id = command.correlation_id.as_deref().unwrap_or(""), verb = command.request.verb(), delivered);
        async move {
            let signature = match self.admit(&command, &msg) {
                Ok(signature) => signature,
                Err(refusal) => return self.refuse(&command, &msg, &refusal).await,
            };
            if delivered > 1 {
                tracing::warn!("redelivered: a previous executor took it and did not ack");
            }
            let settled = match self.claim(&command, sequence).await {
                Ok(Claimed::Mine) => {
                    let result = self.run(&command, &msg).await;
                    self.deliver(&command, &signature, result).await
                }
                Ok(Claimed::Taken(Some(holder))) if holder.is_other_message(sequence) => {
                    self.replayed(&command, &signature, &holder).await;
                    let _ = msg.ack_with(AckKind::Term).await;
                    return;
                }
                Ok(Claimed::Taken(holder)) => self.await_claimant(&command, &signature, &msg, holder).await,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot claim the command; it will be redelivered");
                    false
                }
            };
            // A plain ack (no confirmation round trip): if it is lost, the redelivery finds this
            // claim and the stored result and is answered from them.
            let ack = if settled { msg.ack().await } else { msg.ack_with(AckKind::Nak(Some(Duration::from_secs(1)))).await };
            if let Err(e) = ack {
                tracing::warn!(error = %e, settled, "ack failed; a redelivery is answered from the stored result");
            }
        }
        .instrument(span)
        .await
    }

    /// Whether this message may run here: signed by a trusted key, for this cluster, with a
    /// deadline no further ahead than a command lives. Returns its signature.
    fn admit(&self, command: &Command, msg: &jetstream::Message) -> Result<String, Inadmissible> {
        let signature = self.verifier.verify(msg.headers.as_ref(), &msg.payload)?;
        if command.cluster_id != self.cluster_id {
            return Err(Inadmissible::OtherCluster(command.cluster_id.clone()));
        }
        let lifetime = time::Duration::try_from(self.buckets.claim_ttl).unwrap_or(time::Duration::MAX);
        if command.deadline - OffsetDateTime::now_utc() > lifetime {
            return Err(Inadmissible::TooFarAhead {
                deadline: command.deadline,
                lifetime: self.buckets.claim_ttl,
            });
        }
        Ok(signature)
    }

    /// Refuses a message that may not run here: a log line, an explicit failure to its reply
    /// subject (when that is one of this cluster's: NATS lets the executor publish nowhere
    /// else), and it is terminated. Nothing is claimed or stored: a forged message cannot
    /// touch the real command's record.
    async fn refuse(&self, command: &Command, msg: &jetstream::Message, refusal: &Inadmissible) {
        tracing::warn!(%refusal, subject = %msg.subject, "refused a command message; not running it");
        let reply = CommandResult {
            error: Some(format!(
                "refused by the executor of '{}': {refusal}; it was not run",
                self.cluster_id
            )),
            command_signature: signing::signature_of(msg.headers.as_ref()),
            ..CommandResult::new(
                command,
                CommandStatus::Failure,
                &self.executor_id,
                OffsetDateTime::now_utc(),
            )
        };
        let own_replies = self.names.cluster_replies(&self.cluster_id);
        if command.reply_to.starts_with(own_replies.trim_end_matches('>')) {
            self.publish_reply(&command.reply_to, &reply).await;
        }
        let _ = msg.ack_with(AckKind::Term).await;
    }

    /// A copy of a command that was already taken from another message of the stream: someone
    /// re-published the signed command. It is not run; if the command's final result is
    /// stored, that (true) result is sent again, else nothing (a failure sent now would be taken
    /// as the answer of the command that is still running).
    async fn replayed(&self, command: &Command, signature: &str, holder: &Claim) {
        tracing::warn!(
            claimed_by = holder.executor_id,
            claimed_sequence = holder.stream_sequence,
            "refused a replayed copy of a command taken before; not running it"
        );
        if let Ok(Some(stored)) = results::read(&self.buckets.results, &command.cluster_id, command.id).await
            && stored.status.is_final()
        {
            self.reply(command, signature, &fit_to_budget(command, &stored).0).await;
        }
    }

    /// Claims `command` for this executor, riding out a leader election until its deadline (with
    /// one claim value, so an attempt whose ack was lost is recognized as this one's).
    async fn claim(&self, command: &Command, sequence: Option<u64>) -> kubently_shared::Result<Claimed> {
        let until =
            tokio::time::Instant::now() + command.remaining(OffsetDateTime::now_utc()).unwrap_or_default();
        let claim = Claim::new(&self.executor_id);
        let claim = match sequence {
            Some(seq) => claim.for_message(seq),
            None => claim,
        };
        retry::until(until, "claim the command", || {
            claims::claim(&self.js, &self.buckets.claims, command, &claim, self.buckets.claim_ttl)
        })
        .await
    }

    /// The command was taken before (by another replica, or by this one before a restart). It is
    /// not run again: the claimant's result is awaited (re-sent to the gateway when it is there,
    /// in case the claimant died between storing and replying). If the claimant's presence is
    /// gone (it died, or is frozen past its heartbeats), an explicit failure is stored at once;
    /// if it is alive but silent, an explicit timeout at the deadline. Returns whether the
    /// command is settled.
    async fn await_claimant(
        &self,
        command: &Command,
        signature: &str,
        msg: &jetstream::Message,
        holder: Option<Claim>,
    ) -> bool {
        let who = holder.as_ref().map_or_else(
            || "another executor".to_string(),
            |c| format!("executor '{}' (at {})", c.executor_id, c.claimed_at),
        );
        tracing::warn!(claimed_by = who, "the command was taken before; not running it again");
        let mut last_progress = Instant::now();
        let status = loop {
            match results::read(&self.buckets.results, &command.cluster_id, command.id).await {
                Ok(Some(stored)) if stored.status.is_final() => {
                    // The claimant stored it; it may have died before replying or emitting.
                    self.reply(command, signature, &fit_to_budget(command, &stored).0).await;
                    self.re_emit(command, &stored).await;
                    return true;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read the result; retrying"),
            }
            if OffsetDateTime::now_utc() > command.deadline {
                break CommandStatus::Timeout;
            }
            if let Some(claim) = &holder
                && !self.is_present(&claim.executor_id).await
            {
                break CommandStatus::Failure;
            }
            if last_progress.elapsed() >= self.ack_wait / 3 {
                let _ = msg.ack_with(AckKind::Progress).await;
                last_progress = Instant::now();
            }
            tokio::time::sleep(CLAIMANT_POLL).await;
        };
        let how = match status {
            CommandStatus::Failure => "is gone (no heartbeat) and did not answer",
            _ => "stopped answering before its deadline",
        };
        let abandoned = CommandResult {
            error: Some(format!(
                "{who} took this command and {how}; it was not run again (a command runs at most \
                 once), so whether it reached the cluster is unknown — send it again to retry"
            )),
            ..CommandResult::new(command, status, &self.executor_id, OffsetDateTime::now_utc())
        };
        self.deliver(command, signature, abandoned).await
    }

    /// Whether `executor_id` of this cluster still heartbeats (an unreadable registry counts as
    /// present: only a known absence settles early).
    async fn is_present(&self, executor_id: &str) -> bool {
        let key = self.names.executor_key(&self.cluster_id, executor_id);
        !matches!(
            kv_ttl::latest(&self.buckets.executors, &key).await,
            Ok(None | Some(kv_ttl::Latest { value: None, .. }))
        )
    }

    async fn run(&self, command: &Command, msg: &jetstream::Message) -> CommandResult {
        let now = OffsetDateTime::now_utc();
        let Some(remaining) = command.remaining(now).filter(|_| !command.is_expired(now)) else {
            tracing::info!("expired before it could run; answering with an explicit expiry");
            return CommandResult::expired(command, &self.executor_id, now);
        };
        if let Err(e) = policy::validate(&command.request, &self.policy) {
            return self.failure(command, format!("refused by the executor's read-only policy: {e}"), 0);
        }
        let as_caller = match self.impersonation.as_ref().map(|i| i.identity(command)).transpose() {
            Ok(identity) => identity.map(|identity| {
                tracing::info!(user = %identity.user, groups = ?identity.groups, "running as the caller (impersonation)");
                self.engine.with_client(identity.client(self.engine.client()))
            }),
            Err(refusal) => {
                tracing::warn!(%refusal, caller = %command.caller.service, "refused: the caller has no usable Kubernetes identity");
                return self.failure(command, refusal.to_string(), 0);
            }
        };
        let engine = as_caller.as_ref().unwrap_or(&self.engine);
        // The one log line that says this command reached the cluster from this executor (the
        // fault-injection suite counts them to prove a command ran at most once).
        tracing::info!(executor_id = %self.executor_id, "running the command");
        let started = Instant::now();
        let opts = ExecOptions {
            default_namespace: self.default_namespace.clone(),
            deadline: Some(started + remaining),
            output_budget: kubently_shared::budget::effective(command.output_budget_bytes),
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
            out = tokio::time::timeout(remaining, engine.execute(&command.request, &opts)) => out,
            _ = progress => unreachable!("the progress loop never ends"),
        };
        let ms = started.elapsed().as_millis() as u64;
        match outcome {
            Ok(Ok(output)) => CommandResult {
                output: cluster_text(output.text),
                execution_time_ms: ms,
                meta: Some(OutputMeta {
                    kind: output.kind,
                    rows: output.rows,
                    notices: output.notices,
                    ..OutputMeta::default()
                }),
                ..CommandResult::new(
                    command,
                    CommandStatus::Success,
                    &self.executor_id,
                    OffsetDateTime::now_utc(),
                )
            },
            // Like kubectl: what was read goes to the output, the errors to `error`.
            Ok(Err(e)) => CommandResult {
                output: cluster_text(e.partial_output().map(|o| o.text.clone()).unwrap_or_default()),
                ..self.failure(command, cluster_text(e.to_string()), ms)
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

    /// Replies to `command` (signed with `signature`, which the reply echoes).
    async fn reply(&self, command: &Command, signature: &str, reply: &CommandResult) {
        let reply = CommandResult { command_signature: Some(signature.to_string()), ..reply.clone() };
        self.publish_reply(&command.reply_to, &reply).await;
    }

    async fn publish_reply(&self, subject: &str, reply: &CommandResult) {
        match protocol::encode(reply) {
            Ok(payload) => {
                if let Err(e) = self.nats.publish(subject.to_string(), payload).await {
                    tracing::warn!(error = %e, "reply not sent; the result is still stored");
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot encode the reply"),
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

    /// Stores the result (write-once; the full output, for paging), then replies with what is
    /// stored, fitted to the command's budget (unless the gateway takes the stored record itself,
    /// `reply_from_store`), and emits the event if this result is the one stored. Returns whether
    /// the command is settled (its final result is stored).
    async fn deliver(&self, command: &Command, signature: &str, result: CommandResult) -> bool {
        // The stored record echoes the signature too: a gateway takes it, as the results bucket
        // republishes it, for the reply (`reply_from_store`).
        let result = CommandResult { command_signature: Some(signature.to_string()), ..result };
        let (reply, stored) = fit_to_budget(command, &result);
        let until = tokio::time::Instant::now()
            + command.remaining(OffsetDateTime::now_utc()).unwrap_or_default()
            + STORE_PATIENCE;
        let outcome = retry::until(until, "store the result", || {
            results::store_final(&self.js, &self.buckets.results, &stored)
        })
        .await;
        match outcome {
            Ok(Stored::Written) => {
                if !command.reply_from_store {
                    self.reply(command, signature, &reply).await;
                }
                self.emit(command, &result).await;
                tracing::info!(
                    status = result.status.as_str(),
                    execution_time_ms = result.execution_time_ms,
                    "command done"
                );
                true
            }
            Ok(Stored::AlreadyFinal(existing)) => {
                tracing::warn!(
                    status = result.status.as_str(),
                    stored_status = existing.status.as_str(),
                    stored_by = existing.executor_id,
                    "a final result was stored first; it stays, and this one is dropped"
                );
                self.reply(command, signature, &fit_to_budget(command, &existing).0).await;
                self.re_emit(command, &existing).await;
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "result not stored; not replying, the command will be redelivered");
                false
            }
        }
    }

    /// The command's one terminal event (stored by whoever stored its final result, before the
    /// command is acked; deduplicated by `command.<id>`).
    async fn emit(&self, command: &Command, result: &CommandResult) {
        let Some(event_type) = EventType::for_status(result.status) else { return };
        let data = json!({
            "command_id": command.id, "verb": command.request.verb(), "status": result.status.as_str(),
            "execution_time_ms": result.execution_time_ms, "error": result.error, "caller": command.caller.service, "caller_token": command.caller.token,
            "correlation_id": command.correlation_id, "session_id": command.session_id, "executor_id": result.executor_id,
        });
        self.events
            .store_deduplicated(
                Event::new(event_type, &command.cluster_id, data, OffsetDateTime::now_utc())
                    .by(&command.caller.service),
                format!("command.{}", command.id),
            )
            .await;
    }

    /// Re-emits the terminal event of a final result someone else stored, in case its writer
    /// died between storing it and storing its event: the stream keeps the first event of
    /// `command.<id>`, so subscribers see one either way. Only while the stream still
    /// deduplicates it ([`RE_EMIT_WITHIN`]).
    async fn re_emit(&self, command: &Command, stored: &CommandResult) {
        if OffsetDateTime::now_utc() - stored.executed_at < RE_EMIT_WITHIN {
            self.emit(command, stored).await;
        }
    }
}
