//! Tasks belong to the caller that created them: a wrapper around the library's request
//! handler that answers "task not found" for other callers' tasks and lists only the caller's
//! (admins see all). The owner is recorded in the task's metadata by the agent. Push
//! notification configs are kept here (see `push`), not in the library, so pushes go through
//! the webhook machinery. A message is checked before the library sees it: it is required
//! (with a `messageId` and at least one part) and at most [`MAX_MESSAGE_BYTES`], since it is
//! kept in the task's history.

use std::sync::Arc;

use ::a2a::*;
use a2a_server::{DefaultRequestHandler, RequestHandler, ServiceParams};
use async_trait::async_trait;
use futures::stream::BoxStream;

use super::agent::{OWNER_KEY, caller_of};
use super::push::{INLINE_CONFIG_KEY, PushConfigs};
use super::store::TaskStore;
use crate::AppState;
use crate::app::access;
use crate::auth::Caller;

/// Largest message (its JSON encoding) `SendMessage` accepts: a kubectl command fits many
/// times over, and the message stays in the task's history.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

pub struct OwnedTasks {
    pub inner: DefaultRequestHandler,
    pub state: Arc<AppState>,
    pub push: Arc<PushConfigs>,
    /// The store `inner` writes to, listed here by owner.
    pub store: TaskStore,
}

/// A2A §9.5: a request without its required `message` (the library fills in an empty one) or
/// with an unusable one is -32602.
fn check_message(message: &Message) -> Result<(), A2AError> {
    if message.parts.is_empty() {
        return Err(A2AError::invalid_params(
            "invalid params: `message` is required, with at least one part",
        ));
    }
    if message.message_id.trim().is_empty() {
        return Err(A2AError::invalid_params("invalid params: `message.messageId` is required"));
    }
    let size = serde_json::to_vec(message).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_MESSAGE_BYTES {
        return Err(A2AError::invalid_params(format!(
            "invalid params: the message is {size} bytes; at most {MAX_MESSAGE_BYTES} are accepted"
        )));
    }
    Ok(())
}

impl OwnedTasks {
    async fn caller(&self, params: &ServiceParams) -> Result<Caller, A2AError> {
        caller_of(&self.state, params)
            .await
            .ok_or_else(|| A2AError::invalid_request("missing or invalid credentials"))
    }

    fn owns(caller: &Caller, task: &Task) -> bool {
        access::owns_task(
            caller,
            task.metadata.as_ref().and_then(|m| m.get(OWNER_KEY)).and_then(|v| v.as_str()),
        )
    }

    /// The task, if it exists and is the caller's.
    async fn check(&self, params: &ServiceParams, task_id: &str) -> Result<Task, A2AError> {
        let caller = self.caller(params).await?;
        let task = self
            .inner
            .get_task(params, GetTaskRequest { id: task_id.to_string(), history_length: None, tenant: None })
            .await?;
        if Self::owns(&caller, &task) { Ok(task) } else { Err(A2AError::task_not_found(task_id)) }
    }

    /// Checks a follow-up message's task, and hands an inline push config to the agent (which
    /// learns the task id) through the request metadata.
    async fn prepare(
        &self,
        params: &ServiceParams,
        mut req: SendMessageRequest,
    ) -> Result<SendMessageRequest, A2AError> {
        self.caller(params).await?;
        check_message(&req.message)?;
        if let Some(id) = &req.message.task_id {
            self.check(params, id).await?;
        }
        if let Some(config) = req.configuration.as_mut().and_then(|c| c.task_push_notification_config.take())
        {
            let value = serde_json::to_value(&config)
                .map_err(|e| A2AError::invalid_params(format!("push notification config: {e}")))?;
            req.metadata.get_or_insert_with(Default::default).insert(INLINE_CONFIG_KEY.into(), value);
        }
        Ok(req)
    }
}

#[async_trait]
impl RequestHandler for OwnedTasks {
    async fn send_message(
        &self,
        params: &ServiceParams,
        req: SendMessageRequest,
    ) -> Result<SendMessageResponse, A2AError> {
        let req = self.prepare(params, req).await?;
        self.inner.send_message(params, req).await
    }

    async fn send_streaming_message(
        &self,
        params: &ServiceParams,
        req: SendMessageRequest,
    ) -> Result<BoxStream<'static, Result<StreamResponse, A2AError>>, A2AError> {
        let req = self.prepare(params, req).await?;
        self.inner.send_streaming_message(params, req).await
    }

    async fn get_task(&self, params: &ServiceParams, req: GetTaskRequest) -> Result<Task, A2AError> {
        self.check(params, &req.id).await?;
        self.inner.get_task(params, req).await
    }

    async fn list_tasks(
        &self,
        params: &ServiceParams,
        req: ListTasksRequest,
    ) -> Result<ListTasksResponse, A2AError> {
        // Filtered by owner before pagination, so pages are full and `totalSize` is the
        // caller's (the library's list would page through everyone's tasks).
        let caller = self.caller(params).await?;
        self.store.list_for(&caller, &req)
    }

    async fn cancel_task(&self, params: &ServiceParams, req: CancelTaskRequest) -> Result<Task, A2AError> {
        self.check(params, &req.id).await?;
        self.inner.cancel_task(params, req).await
    }

    async fn subscribe_to_task(
        &self,
        params: &ServiceParams,
        req: SubscribeToTaskRequest,
    ) -> Result<BoxStream<'static, Result<StreamResponse, A2AError>>, A2AError> {
        self.check(params, &req.id).await?;
        self.inner.subscribe_to_task(params, req).await
    }

    async fn create_push_config(
        &self,
        params: &ServiceParams,
        req: TaskPushNotificationConfig,
    ) -> Result<TaskPushNotificationConfig, A2AError> {
        self.check(params, &req.task_id).await?;
        self.push.save(&self.state.webhooks, req).await
    }

    async fn get_push_config(
        &self,
        params: &ServiceParams,
        req: GetTaskPushNotificationConfigRequest,
    ) -> Result<TaskPushNotificationConfig, A2AError> {
        self.check(params, &req.task_id).await?;
        self.push.get(&req.task_id, &req.id).await?.ok_or_else(|| {
            A2AError::invalid_params(format!(
                "task {} has no push notification config {}",
                req.task_id, req.id
            ))
        })
    }

    async fn list_push_configs(
        &self,
        params: &ServiceParams,
        req: ListTaskPushNotificationConfigsRequest,
    ) -> Result<ListTaskPushNotificationConfigsResponse, A2AError> {
        self.check(params, &req.task_id).await?;
        Ok(ListTaskPushNotificationConfigsResponse {
            configs: self.push.list(&req.task_id).await?,
            next_page_token: None,
        })
    }

    async fn delete_push_config(
        &self,
        params: &ServiceParams,
        req: DeleteTaskPushNotificationConfigRequest,
    ) -> Result<(), A2AError> {
        self.check(params, &req.task_id).await?;
        self.push.delete(&req.task_id, &req.id).await?;
        Ok(())
    }

    async fn get_extended_agent_card(
        &self,
        params: &ServiceParams,
        req: GetExtendedAgentCardRequest,
    ) -> Result<AgentCard, A2AError> {
        self.inner.get_extended_agent_card(params, req).await
    }
}
