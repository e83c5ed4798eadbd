//! Commands every executor gave up on. A command is redelivered when its executor neither acks
//! nor reports progress (it died); after `max_deliver` deliveries JetStream stops and publishes a
//! max-deliveries advisory. One gateway (a queue group) answers each: it reads the command from
//! the stream, stores an explicit failure as its result (write-once: a result already stored
//! stays), replies to the gateway waiting for it, emits `command.failed`, and removes the command
//! from the queue. So such a command ends with an answer the caller can read, not at max age.

use std::sync::Arc;

use futures::StreamExt;
use kubently_shared::names::EXHAUSTED_QUEUE_GROUP;
use kubently_shared::protocol::{self, Command, CommandResult, CommandStatus, Event, EventType};
use kubently_shared::results::{self, Stored, fit_to_budget};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use crate::AppState;

/// The fields of JetStream's `io.nats.jetstream.advisory.v1.max_deliver` Kubently reads.
#[derive(Debug, Deserialize)]
struct MaxDeliveries {
    stream_seq: u64,
    deliveries: u64,
}

/// Answers exhausted commands until the subscription ends.
pub async fn answer(state: Arc<AppState>) {
    let subject = state.names.max_deliveries_advisories();
    let mut advisories =
        match state.nats.queue_subscribe(subject.clone(), EXHAUSTED_QUEUE_GROUP.to_string()).await {
            Ok(s) => s,
            Err(e) => {
                return tracing::error!(subject, error = %e, "cannot subscribe to max-deliveries advisories");
            }
        };
    while let Some(msg) = advisories.next().await {
        match serde_json::from_slice::<MaxDeliveries>(&msg.payload) {
            Ok(advisory) => settle(&state, advisory).await,
            Err(e) => {
                tracing::warn!(subject = %msg.subject, error = %e, "undecodable max-deliveries advisory")
            }
        }
    }
    tracing::warn!("max-deliveries advisory subscription ended");
}

async fn settle(state: &AppState, advisory: MaxDeliveries) {
    let stream = match state.js.get_stream(state.names.commands_stream()).await {
        Ok(s) => s,
        Err(e) => return tracing::warn!(error = %e, "cannot open the commands stream"),
    };
    let (command, signature): (Command, String) = match stream.get_raw_message(advisory.stream_seq).await {
        Ok(raw) => match protocol::decode(&raw.payload) {
            Ok(c) => match state.signer.verify_own(Some(&raw.headers), &raw.payload) {
                Ok(signature) => (c, signature),
                Err(refusal) => {
                    return tracing::warn!(seq = advisory.stream_seq, %refusal, "an exhausted message this gateway did not sign; left alone");
                }
            },
            Err(e) => {
                return tracing::warn!(seq = advisory.stream_seq, error = %e, "undecodable exhausted command");
            }
        },
        // Already answered and removed by another gateway, or aged out.
        Err(e) => return tracing::debug!(seq = advisory.stream_seq, error = %e, "exhausted command is gone"),
    };
    let span = tracing::warn_span!("exhausted", command_id = %command.id, cluster_id = %command.cluster_id, deliveries = advisory.deliveries);
    let _enter = span.enter();
    let failure = CommandResult {
        error: Some(format!(
            "the command was delivered {} and no executor finished it (each one stopped before \
             answering); it was given up",
            match advisory.deliveries {
                1 => "once".to_string(),
                n => format!("{n} times"),
            }
        )),
        // Signed like an executor's result, so a gateway waiting for it takes the stored record.
        command_signature: Some(signature),
        ..CommandResult::new(&command, CommandStatus::Failure, "", OffsetDateTime::now_utc())
    };
    match results::store_final(&state.js, &state.buckets.results, &failure).await {
        Ok(Stored::Written) => {
            tracing::warn!("every delivery of the command failed; answered with an explicit failure");
            if !command.reply_from_store
                && let Ok(payload) = protocol::encode(&fit_to_budget(&command, &failure).0)
            {
                let _ = state.nats.publish(command.reply_to.clone(), payload).await;
            }
            let data = json!({"command_id": command.id, "verb": command.request.verb(), "status": failure.status, "error": failure.error, "correlation_id": command.correlation_id, "session_id": command.session_id, "caller": command.caller.service, "caller_token": command.caller.token});
            let event =
                Event::new(EventType::CommandFailed, &command.cluster_id, data, OffsetDateTime::now_utc())
                    .by(&command.caller.service);
            state.events.publish_deduplicated(event, format!("command.{}", command.id));
        }
        Ok(Stored::AlreadyFinal(_)) => tracing::info!("the exhausted command already has a final result"),
        Err(e) => return tracing::warn!(error = %e, "cannot store the exhausted command's failure"),
    }
    if let Err(e) = stream.delete_message(advisory.stream_seq).await {
        tracing::debug!(error = %e, "exhausted command not removed from the queue (it ages out)");
    }
}
