//! The A2A task store: in the gateway's memory, bounded in count ([`MAX_TASKS`]) and in size
//! ([`MAX_BYTES`], the tasks' JSON size). When a new or grown task would pass a bound, the
//! terminal tasks updated longest ago are evicted (with their push configs) until it fits; a
//! new task that still does not fit (every stored task is still running) is refused. Running
//! tasks are never evicted, and the task just written is never evicted by its own write.
//!
//! It also lists a caller's own tasks: filtered by owner (and the request's filters) before
//! pagination, newest update first, with the true `totalSize` and a cursor page token (the
//! store's update sequence of the page's last task), so tasks created or evicted between pages
//! do not shift the pages (a task updated while a client pages moves to the front). As the spec
//! asks, artifacts are listed only with `includeArtifacts: true`; `statusTimestampAfter` keeps
//! tasks whose status time is at or after it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use ::a2a::{A2AError, ListTasksRequest, ListTasksResponse, Task, TaskState};
use a2a_server::pagination::resolve_page_size;
use a2a_server::task_store::TaskVersion;
use async_trait::async_trait;

use super::agent::OWNER_KEY;
use super::push::PushConfigs;
use crate::app::access;
use crate::auth::Caller;

/// Most tasks kept at once.
pub const MAX_TASKS: usize = 10_000;
/// Most bytes of tasks (their JSON encoding) kept at once.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

/// Count and size bounds of a [`TaskStore`].
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_tasks: usize,
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_tasks: MAX_TASKS, max_bytes: MAX_BYTES }
    }
}

/// A cheap handle: clones share the tasks.
#[derive(Clone)]
pub struct TaskStore {
    shared: Arc<Shared>,
}

struct Shared {
    limits: Limits,
    push: Arc<PushConfigs>,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    tasks: HashMap<String, Entry>,
    /// Update sequence → task id, oldest update first.
    order: BTreeMap<u64, String>,
    last_seq: u64,
    bytes: usize,
}

struct Entry {
    task: Task,
    version: TaskVersion,
    /// The store's sequence number of the task's last write.
    seq: u64,
    bytes: usize,
}

fn size_of(task: &Task) -> usize {
    serde_json::to_vec(task).map(|v| v.len()).unwrap_or(usize::MAX / 4)
}

fn owner_of(task: &Task) -> Option<&str> {
    task.metadata.as_ref().and_then(|m| m.get(OWNER_KEY)).and_then(|v| v.as_str())
}

impl Inner {
    fn next_seq(&mut self) -> u64 {
        self.last_seq += 1;
        self.last_seq
    }

    /// Writes `task` (new or replacing), keeping the byte count and the order.
    fn put(&mut self, task: Task, bytes: usize, version: TaskVersion) {
        let seq = self.next_seq();
        if let Some(old) = self.tasks.remove(&task.id) {
            self.order.remove(&old.seq);
            self.bytes -= old.bytes;
        }
        self.order.insert(seq, task.id.clone());
        self.bytes += bytes;
        self.tasks.insert(task.id.clone(), Entry { task, version, seq, bytes });
    }

    /// Evicts the terminal tasks updated longest ago (never `keep`) until `extra_tasks` more
    /// tasks and `extra_bytes` more bytes fit; false if they still do not. Returns the evicted
    /// ids through `evicted`.
    fn make_room(
        &mut self,
        limits: Limits,
        keep: &str,
        extra_tasks: usize,
        extra_bytes: usize,
        evicted: &mut Vec<String>,
    ) -> bool {
        let fits = |inner: &Inner| {
            inner.tasks.len() + extra_tasks <= limits.max_tasks
                && inner.bytes.saturating_add(extra_bytes) <= limits.max_bytes
        };
        if fits(self) {
            return true;
        }
        let candidates: Vec<(u64, String)> = self
            .order
            .iter()
            .filter(|(_, id)| {
                id.as_str() != keep && self.tasks.get(*id).is_some_and(|e| e.task.status.state.is_terminal())
            })
            .map(|(seq, id)| (*seq, id.clone()))
            .collect();
        for (seq, id) in candidates {
            if fits(self) {
                break;
            }
            self.order.remove(&seq);
            if let Some(e) = self.tasks.remove(&id) {
                self.bytes -= e.bytes;
            }
            evicted.push(id);
        }
        fits(self)
    }
}

impl TaskStore {
    pub fn new(push: Arc<PushConfigs>) -> Self {
        Self::with_limits(push, Limits::default())
    }

    pub fn with_limits(push: Arc<PushConfigs>, limits: Limits) -> Self {
        Self { shared: Arc::new(Shared { limits, push, inner: Mutex::default() }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.inner.lock().expect("A2A task store lock")
    }

    fn forget(&self, evicted: Vec<String>) {
        for id in evicted {
            self.shared.push.forget(&id);
            tracing::debug!(task_id = %id, "A2A task evicted from the task store");
        }
    }

    /// How many tasks and bytes are kept.
    pub fn usage(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.tasks.len(), inner.bytes)
    }

    /// The tasks `caller` may see that match `req`'s filters, newest update first, one page.
    pub fn list_for(&self, caller: &Caller, req: &ListTasksRequest) -> Result<ListTasksResponse, A2AError> {
        let page_size = resolve_page_size(req.page_size);
        let before = match req.page_token.as_deref().filter(|t| !t.is_empty()) {
            Some(token) => {
                Some(token.parse::<u64>().map_err(|_| A2AError::invalid_params("invalid page token"))?)
            }
            None => None,
        };
        let inner = self.lock();
        let mut total = 0usize;
        let mut page = Vec::new();
        let mut more = false;
        for (seq, id) in inner.order.iter().rev() {
            let Some(entry) = inner.tasks.get(id) else { continue };
            let task = &entry.task;
            let matches = access::owns_task(caller, owner_of(task))
                && req.context_id.as_ref().is_none_or(|c| *c == task.context_id)
                && req.status.as_ref().is_none_or(|s| *s == task.status.state)
                && req
                    .status_timestamp_after
                    .is_none_or(|after| task.status.timestamp.is_some_and(|t| t >= after));
            if !matches {
                continue;
            }
            total += 1;
            if before.is_some_and(|b| *seq >= b) {
                continue;
            }
            if page.len() < page_size {
                page.push((*seq, task.clone()));
            } else {
                more = true;
            }
        }
        drop(inner);
        let next_page_token = if more {
            page.last().map(|(seq, _)| seq.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        let tasks = page
            .into_iter()
            .map(|(_, mut task)| {
                if let Some(n) = req.history_length
                    && let Some(history) = task.history.as_mut()
                {
                    let keep = usize::try_from(n).unwrap_or(0);
                    let drop = history.len().saturating_sub(keep);
                    history.drain(..drop);
                }
                if req.include_artifacts != Some(true) {
                    task.artifacts = None;
                }
                task
            })
            .collect();
        Ok(ListTasksResponse {
            tasks,
            next_page_token,
            page_size: page_size as i32,
            total_size: i32::try_from(total).unwrap_or(i32::MAX),
        })
    }
}

#[async_trait]
impl a2a_server::TaskStore for TaskStore {
    async fn create(&self, task: Task) -> Result<TaskVersion, A2AError> {
        let bytes = size_of(&task);
        let mut evicted = Vec::new();
        let result = {
            let mut inner = self.lock();
            if inner.tasks.contains_key(&task.id) {
                Err(A2AError::internal("task already exists"))
            } else if !inner.make_room(self.shared.limits, &task.id, 1, bytes, &mut evicted) {
                Err(A2AError::internal(
                    "the gateway holds too many unfinished A2A tasks; try again when some have ended",
                ))
            } else {
                inner.put(task, bytes, 1);
                Ok(1)
            }
        };
        self.forget(evicted);
        result
    }

    async fn update(&self, task: Task) -> Result<TaskVersion, A2AError> {
        let bytes = size_of(&task);
        let mut evicted = Vec::new();
        let result = {
            let mut inner = self.lock();
            match inner.tasks.get(&task.id) {
                None => Err(A2AError::task_not_found(&task.id)),
                // A terminal state is final; re-applying the same one is allowed (cancel flows).
                Some(e) if e.task.status.state.is_terminal() && e.task.status.state != task.status.state => {
                    Err(A2AError::invalid_request(format!(
                        "task {} is in terminal state {:?} and cannot transition to {:?}",
                        task.id, e.task.status.state, task.status.state
                    )))
                }
                Some(e) => {
                    let (version, old_bytes) = (e.version + 1, e.bytes);
                    // A running task is always written (its execution must go on); the
                    // terminal tasks updated longest ago make room for its growth.
                    inner.make_room(
                        self.shared.limits,
                        &task.id,
                        0,
                        bytes.saturating_sub(old_bytes),
                        &mut evicted,
                    );
                    inner.put(task, bytes, version);
                    Ok(version)
                }
            }
        };
        self.forget(evicted);
        result
    }

    async fn get(&self, task_id: &str) -> Result<Option<Task>, A2AError> {
        Ok(self.lock().tasks.get(task_id).map(|e| e.task.clone()))
    }

    /// Every task, unfiltered by owner: `OwnedTasks` lists through [`TaskStore::list_for`].
    async fn list(&self, req: &ListTasksRequest) -> Result<ListTasksResponse, A2AError> {
        let everyone = Caller { service: String::new(), clusters: vec![], admin: true };
        self.list_for(&everyone, req)
    }

    async fn begin_cancel(&self, task_id: &str) -> Result<Task, A2AError> {
        let mut inner = self.lock();
        let entry = inner.tasks.get(task_id).ok_or_else(|| A2AError::task_not_found(task_id))?;
        if entry.task.status.state.is_terminal() {
            return Err(A2AError::task_not_cancelable(task_id));
        }
        let mut task = entry.task.clone();
        let (version, bytes) = (entry.version + 1, entry.bytes);
        task.status.state = TaskState::Canceled;
        task.status.timestamp = Some(std::time::SystemTime::now().into());
        inner.put(task.clone(), bytes, version);
        Ok(task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::a2a::{Message, Part, Role, TaskStatus};
    use a2a_server::TaskStore as _;
    use serde_json::json;

    fn task(id: &str, owner: &str, state: TaskState, text: &str) -> Task {
        Task {
            id: id.into(),
            context_id: "ctx".into(),
            status: TaskStatus { state, message: None, timestamp: None },
            artifacts: None,
            history: Some(vec![Message::new(Role::User, vec![Part::text(text)])]),
            metadata: Some([(OWNER_KEY.to_string(), json!(owner))].into_iter().collect()),
        }
    }

    fn caller(service: &str) -> Caller {
        Caller { service: service.into(), clusters: vec![], admin: false }
    }

    fn store(max_tasks: usize, max_bytes: usize) -> TaskStore {
        TaskStore::with_limits(Arc::default(), Limits { max_tasks, max_bytes })
    }

    #[tokio::test]
    async fn the_count_bound_evicts_the_oldest_terminal_tasks() {
        let s = store(3, usize::MAX);
        s.create(task("a", "x", TaskState::Completed, "a")).await.expect("store call");
        s.create(task("b", "x", TaskState::Working, "b")).await.expect("store call");
        s.create(task("c", "x", TaskState::Completed, "c")).await.expect("store call");
        s.create(task("d", "x", TaskState::Completed, "d")).await.expect("store call");
        assert!(s.get("a").await.expect("store call").is_none(), "the oldest terminal task goes");
        assert!(s.get("b").await.expect("store call").is_some(), "a running task stays");
        s.create(task("e", "x", TaskState::Working, "e")).await.expect("store call");
        assert!(s.get("c").await.expect("store call").is_none());
        assert_eq!(s.usage().0, 3);
        // Updating `d` makes it the newest; `e` and `b` run: nothing can go but `d`, which is
        // refused for a new task only when nothing terminal is left.
        s.update(task("d", "x", TaskState::Completed, "d")).await.expect("store call");
        s.create(task("f", "x", TaskState::Working, "f")).await.expect("store call");
        assert!(s.get("d").await.expect("store call").is_none());
        let full = s.create(task("g", "x", TaskState::Working, "g")).await.expect_err("refused");
        assert!(full.message.contains("too many unfinished"), "{full:?}");
        assert_eq!(s.usage().0, 3);
    }

    #[tokio::test]
    async fn the_size_bound_evicts_terminal_tasks_and_refuses_what_cannot_fit() {
        let one = size_of(&task("t0", "x", TaskState::Completed, &"x".repeat(1000)));
        let s = store(usize::MAX, one * 3);
        for i in 0..10 {
            s.create(task(&format!("t{i}"), "x", TaskState::Completed, &"x".repeat(1000)))
                .await
                .expect("store call");
            assert!(s.usage().1 <= one * 3, "{:?}", s.usage());
        }
        assert_eq!(s.usage().0, 3);
        assert!(s.get("t9").await.expect("store call").is_some());
        assert!(s.get("t6").await.expect("store call").is_none());
        let big =
            s.create(task("big", "x", TaskState::Working, &"x".repeat(one * 4))).await.expect_err("refused");
        assert!(big.message.contains("too many unfinished"), "{big:?}");
        assert!(s.usage().1 <= one * 3);
    }

    #[tokio::test]
    async fn terminal_states_are_final_and_cancel_is_atomic() {
        let s = store(10, usize::MAX);
        s.create(task("a", "x", TaskState::Working, "a")).await.expect("store call");
        assert_eq!(s.begin_cancel("a").await.expect("store call").status.state, TaskState::Canceled);
        assert!(s.begin_cancel("a").await.is_err());
        assert!(s.update(task("a", "x", TaskState::Completed, "a")).await.is_err());
        assert!(s.update(task("a", "x", TaskState::Canceled, "a")).await.is_ok());
        assert!(s.update(task("nope", "x", TaskState::Canceled, "a")).await.is_err());
    }

    #[tokio::test]
    async fn listing_pages_through_the_callers_own_tasks() {
        let s = store(100, usize::MAX);
        for i in 0..7 {
            let owner = if i % 3 == 0 { "other" } else { "me" };
            s.create(task(&format!("t{i}"), owner, TaskState::Completed, "x")).await.expect("store call");
        }
        let req = |token: &str| ListTasksRequest {
            context_id: None,
            status: None,
            page_size: Some(2),
            page_token: Some(token.to_string()),
            history_length: None,
            status_timestamp_after: None,
            include_artifacts: None,
            tenant: None,
        };
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let page = s.list_for(&caller("me"), &req(&token)).expect("store call");
            let created = seen.len() / 2;
            assert_eq!(page.total_size as usize, 4 + created, "every task of mine, before pagination");
            assert!(page.tasks.len() == 2 || page.next_page_token.is_empty(), "{page:?}");
            seen.extend(page.tasks.iter().map(|t| t.id.clone()));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
            // A task created between pages does not shift the rest.
            s.create(task(&format!("new{}", seen.len()), "me", TaskState::Completed, "x"))
                .await
                .expect("store call");
        }
        assert_eq!(seen, ["t5", "t4", "t2", "t1"], "newest first, only mine");
        assert_eq!(s.list_for(&caller("other"), &req("")).expect("store call").total_size, 3);
        let admin = Caller { service: "admin".into(), clusters: vec![], admin: true };
        assert_eq!(s.list_for(&admin, &req("")).expect("store call").total_size, 8);
        assert!(s.list_for(&caller("me"), &req("nope")).is_err());
    }
}
