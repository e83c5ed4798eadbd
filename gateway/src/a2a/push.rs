//! A2A push notifications, sent through the webhook machinery: every event of a task with push
//! configs becomes a job on the callbacks work queue, posted with the config's token
//! (`A2A-Notification-Token`) and credentials, to targets the webhook policy allows, retried
//! with the webhook backoff. Configs live beside the tasks, in NATS KV (`KUBENTLY_A2A_PUSH`:
//! task id → that task's configs, compare-and-set writes, the tasks' retention as per-key TTL),
//! so every gateway replica serves and sends them.

use std::time::Duration;

use ::a2a::{A2AError, StreamResponse, TaskPushNotificationConfig};
use async_nats::jetstream::{self, kv};
use kubently_shared::kv_ttl::{self, Latest};

use crate::webhooks::Webhooks;
use crate::webhooks::follow_ups::PushJob;

/// Request metadata key under which an inline push config (SendMessage's
/// `configuration.taskPushNotificationConfig`) reaches the agent, which knows the task id.
pub const INLINE_CONFIG_KEY: &str = "kubently.pushConfig";
pub const TOKEN_HEADER: &str = "A2A-Notification-Token";
/// Most push configs one task may have.
const MAX_PER_TASK: usize = 10;
/// Largest push config (its JSON encoding) kept.
const MAX_CONFIG_BYTES: usize = 8 * 1024;

/// Lost compare-and-set races before a write gives up.
const CAS_ATTEMPTS: u32 = 8;

pub struct PushConfigs {
    js: jetstream::Context,
    kv: kv::Store,
    /// How long a task's configs are kept after their last change (the tasks' retention).
    retention: Duration,
}

fn storage(what: &str, e: impl std::fmt::Display) -> A2AError {
    tracing::warn!(error = %e, "A2A push configs: {what} failed");
    A2AError::internal(format!("the push notification config store is unavailable ({what})"))
}

impl PushConfigs {
    pub fn new(js: jetstream::Context, kv: kv::Store, retention: Duration) -> Self {
        Self { js, kv, retention }
    }

    /// The task's configs and the key's revision (0: none stored).
    async fn read(&self, task_id: &str) -> Result<(Vec<TaskPushNotificationConfig>, u64), A2AError> {
        if kubently_shared::names::validate_kv_key(task_id).is_err() {
            return Ok((Vec::new(), 0));
        }
        match kv_ttl::latest(&self.kv, task_id).await.map_err(|e| storage("reading", e))? {
            Some(Latest { revision, value: Some(bytes) }) => {
                Ok((serde_json::from_slice(&bytes).map_err(|e| storage("decoding", e))?, revision))
            }
            Some(Latest { revision, value: None }) => Ok((Vec::new(), revision)),
            None => Ok((Vec::new(), 0)),
        }
    }

    /// Applies `change` to the task's configs, compare-and-set; `Ok(None)` when `change` made
    /// no change.
    async fn modify<T>(
        &self,
        task_id: &str,
        change: impl Fn(&mut Vec<TaskPushNotificationConfig>) -> Result<Option<T>, A2AError>,
    ) -> Result<Option<T>, A2AError> {
        for _ in 0..CAS_ATTEMPTS {
            let (mut configs, revision) = self.read(task_id).await?;
            let Some(out) = change(&mut configs)? else { return Ok(None) };
            let value = serde_json::to_vec(&configs).map_err(|e| storage("encoding", e))?;
            let written = if revision == 0 {
                kv_ttl::create_with_ttl(&self.js, &self.kv, task_id, value.into(), self.retention).await
            } else {
                kv_ttl::update_with_ttl(&self.js, &self.kv, task_id, value.into(), revision, self.retention)
                    .await
            };
            match written {
                Ok(_) => return Ok(Some(out)),
                Err(
                    kubently_shared::Error::WrongRevision { .. } | kubently_shared::Error::KeyExists { .. },
                ) => {}
                Err(e) => return Err(storage("writing", e)),
            }
        }
        Err(storage("writing", "too many concurrent writers"))
    }

    /// Checks and stores `config` (for `config.task_id`), replacing one with the same id.
    pub async fn save(
        &self,
        webhooks: &Webhooks,
        mut config: TaskPushNotificationConfig,
    ) -> Result<TaskPushNotificationConfig, A2AError> {
        webhooks
            .sender()
            .policy()
            .check_url(&config.url)
            .map_err(|e| A2AError::invalid_params(format!("push notification url {e}")))?;
        let size = serde_json::to_vec(&config).map(|v| v.len()).unwrap_or(usize::MAX);
        if size > MAX_CONFIG_BYTES {
            return Err(A2AError::invalid_params(format!(
                "a push notification config is at most {MAX_CONFIG_BYTES} bytes"
            )));
        }
        let has_newline = |s: &str| s.contains(['\r', '\n']);
        if config.token.as_deref().is_some_and(has_newline)
            || config.authentication.as_ref().and_then(|a| a.credentials.as_deref()).is_some_and(has_newline)
        {
            return Err(A2AError::invalid_params(
                "push notification token and credentials must not contain line breaks",
            ));
        }
        if let Some(id) = &config.id
            && (id.is_empty()
                || id.len() > 64
                || !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(A2AError::invalid_params(
                "a push notification config id is 1–64 characters of letters, digits, `-`, `_` and `.`",
            ));
        }
        let id = config.id.get_or_insert_with(|| uuid::Uuid::now_v7().to_string()).clone();
        let saved = self
            .modify(&config.task_id.clone(), |configs| {
                configs.retain(|c| c.id.as_deref() != Some(id.as_str()));
                if configs.len() >= MAX_PER_TASK {
                    return Err(A2AError::invalid_params(format!(
                        "a task may have at most {MAX_PER_TASK} push notification configs"
                    )));
                }
                configs.push(config.clone());
                Ok(Some(()))
            })
            .await?;
        debug_assert!(saved.is_some());
        Ok(config)
    }

    pub async fn list(&self, task_id: &str) -> Result<Vec<TaskPushNotificationConfig>, A2AError> {
        Ok(self.read(task_id).await?.0)
    }

    pub async fn get(&self, task_id: &str, id: &str) -> Result<Option<TaskPushNotificationConfig>, A2AError> {
        Ok(self.list(task_id).await?.into_iter().find(|c| c.id.as_deref() == Some(id)))
    }

    pub async fn delete(&self, task_id: &str, id: &str) -> Result<bool, A2AError> {
        let removed = self
            .modify(task_id, |configs| {
                let before = configs.len();
                configs.retain(|c| c.id.as_deref() != Some(id));
                Ok((before != configs.len()).then_some(()))
            })
            .await?;
        Ok(removed.is_some())
    }

    /// Drops every push config of a task (it left the task store).
    pub async fn forget(&self, task_id: &str) {
        if let Err(e) = self.kv.purge(task_id).await {
            tracing::debug!(task_id, error = %e, "could not drop an evicted task's push configs");
        }
    }

    /// Queues `event` (the task's `seq`-th) for every push config of the task.
    pub async fn notify(&self, webhooks: &Webhooks, task_id: &str, seq: usize, event: &StreamResponse) {
        let configs = match self.list(task_id).await {
            Ok(c) => c,
            Err(e) => {
                return tracing::warn!(task_id, error = %e.message, "cannot read the task's push configs");
            }
        };
        if configs.is_empty() {
            return;
        }
        let body = match serde_json::to_string(event) {
            Ok(b) => b,
            Err(e) => return tracing::error!(error = %e, "cannot encode an A2A push notification"),
        };
        for c in configs {
            let mut headers = Vec::new();
            if let Some(token) = &c.token {
                headers.push((TOKEN_HEADER.to_string(), token.clone()));
            }
            if let Some(auth) = &c.authentication
                && let Some(credentials) = &auth.credentials
            {
                match auth.scheme.to_ascii_lowercase().as_str() {
                    "bearer" => headers.push(("Authorization".into(), format!("Bearer {credentials}"))),
                    "basic" => headers.push(("Authorization".into(), format!("Basic {credentials}"))),
                    _ => {}
                }
            }
            let id = format!("{task_id}.{}.{seq}", c.id.as_deref().unwrap_or("default"));
            if let Err(e) =
                webhooks.queue_push(PushJob { id, url: c.url.clone(), headers, body: body.clone() }).await
            {
                tracing::warn!(
                    task_id,
                    error = crate::error::chain(&e),
                    "cannot queue an A2A push notification"
                );
            }
        }
    }
}
