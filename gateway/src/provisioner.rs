//! Provisioning for executors. Executors may not create anything on the bus (their NATS
//! permissions refuse it), so an executor whose cluster has no consumer yet asks for one on
//! `kubently.provision.<cluster>`; one gateway (a queue group) creates `executor-<cluster>`
//! (idempotent) and answers. The cluster comes from the subject, which NATS lets only that
//! cluster's executors publish to: an executor can only ever get its own cluster's consumer.

use std::sync::Arc;

use futures::StreamExt;
use kubently_shared::names::{PROVISION_QUEUE_GROUP, validate_cluster_id};
use kubently_shared::provision::{self, ACK_WAIT_RANGE, ProvisionReply, ProvisionRequest};

use crate::AppState;

/// Answers provisioning requests until the subscription ends.
pub async fn answer(state: Arc<AppState>) {
    let subject = state.names.provision_subjects();
    let mut requests = match state.nats.queue_subscribe(subject.clone(), PROVISION_QUEUE_GROUP.into()).await {
        Ok(s) => s,
        Err(e) => return tracing::error!(subject, error = %e, "cannot subscribe to provisioning requests"),
    };
    while let Some(msg) = requests.next().await {
        let Some(reply_to) = msg.reply.clone() else { continue };
        let cluster_id = msg.subject.rsplit('.').next().unwrap_or_default().to_string();
        let mut opts = state.settings.provision_options();
        let request = match serde_json::from_slice::<ProvisionRequest>(&msg.payload) {
            Ok(r) if ACK_WAIT_RANGE.contains(&r.ack_wait_seconds) => Ok(r),
            Ok(r) => Err(format!(
                "ack_wait_seconds must be between {} and {}, got {}",
                ACK_WAIT_RANGE.start(),
                ACK_WAIT_RANGE.end(),
                r.ack_wait_seconds
            )),
            Err(e) => Err(format!("not a provisioning request: {e}")),
        };
        let outcome = match (validate_cluster_id(&cluster_id), request) {
            (Err(e), _) => Err(format!("cluster id {cluster_id:?}: {e}")),
            (_, Err(e)) => Err(e),
            (Ok(()), Ok(request)) => {
                opts.ack_wait = std::time::Duration::from_secs(request.ack_wait_seconds);
                provision::ensure_cluster_consumer(&state.js, &cluster_id, &opts)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        };
        let reply = match outcome {
            Ok(()) => {
                tracing::info!(cluster_id, "provisioned the cluster's consumer for its executor");
                ProvisionReply { ok: true, error: None }
            }
            Err(error) => {
                tracing::warn!(cluster_id, error, "could not provision the cluster's consumer");
                ProvisionReply { ok: false, error: Some(error) }
            }
        };
        let payload = serde_json::to_vec(&reply).unwrap_or_default();
        if let Err(e) = state.nats.publish(reply_to, payload.into()).await {
            tracing::warn!(error = %e, "could not answer a provisioning request");
        }
    }
    tracing::warn!("provisioning request subscription ended");
}
