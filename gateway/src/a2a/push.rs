//! A2A push notifications, sent through the webhook machinery: every event of a task with push
//! configs becomes a job on the callbacks work queue, posted with the config's token
//! (`A2A-Notification-Token`) and credentials, to targets the webhook policy allows, retried
//! with the webhook backoff. Configs live beside the tasks (in the gateway's memory).

use std::collections::HashMap;
use std::sync::Mutex;

use ::a2a::{A2AError, StreamResponse, TaskPushNotificationConfig};

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

#[derive(Default)]
pub struct PushConfigs {
    by_task: Mutex<HashMap<String, Vec<TaskPushNotificationConfig>>>,
}

impl PushConfigs {
    /// Checks and stores `config` (for `config.task_id`), replacing one with the same id.
    pub fn save(
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
        let mut map = self.by_task.lock().expect("push configs lock");
        let configs = map.entry(config.task_id.clone()).or_default();
        configs.retain(|c| c.id.as_deref() != Some(id.as_str()));
        if configs.len() >= MAX_PER_TASK {
            return Err(A2AError::invalid_params(format!(
                "a task may have at most {MAX_PER_TASK} push notification configs"
            )));
        }
        configs.push(config.clone());
        Ok(config)
    }

    pub fn list(&self, task_id: &str) -> Vec<TaskPushNotificationConfig> {
        self.by_task.lock().expect("push configs lock").get(task_id).cloned().unwrap_or_default()
    }

    pub fn get(&self, task_id: &str, id: &str) -> Option<TaskPushNotificationConfig> {
        self.list(task_id).into_iter().find(|c| c.id.as_deref() == Some(id))
    }

    pub fn delete(&self, task_id: &str, id: &str) -> bool {
        let mut map = self.by_task.lock().expect("push configs lock");
        let Some(configs) = map.get_mut(task_id) else { return false };
        let before = configs.len();
        configs.retain(|c| c.id.as_deref() != Some(id));
        before != configs.len()
    }

    /// Drops every push config of a task (it left the task store).
    pub fn forget(&self, task_id: &str) {
        self.by_task.lock().expect("push configs lock").remove(task_id);
    }

    /// Queues `event` (the task's `seq`-th) for every push config of the task.
    pub async fn notify(&self, webhooks: &Webhooks, task_id: &str, seq: usize, event: &StreamResponse) {
        let configs = self.list(task_id);
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
