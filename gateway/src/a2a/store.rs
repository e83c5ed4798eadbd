//! The A2A task store, in NATS KV, so tasks survive a gateway restart and every gateway replica
//! serves them: bucket `KUBENTLY_A2A_TASKS`, key = task id, value = a [`Record`] (the task, its
//! version, and while it runs the lease of the gateway running it). Every write is a
//! compare-and-set on the key's revision, with a per-key TTL (the task retention), and `get`
//! reads the stream leader. Each gateway keeps a replica of the bucket in memory, fed by a watch,
//! to list tasks and to apply the bounds.
//!
//! Bounds: at most `max_tasks` tasks and `max_bytes` bytes of them (their JSON). When a new or
//! grown task would pass a bound, the terminal tasks updated longest ago are evicted (with their
//! push configs) until it fits; a new task that still does not fit (every stored task is still
//! running) is refused. Running tasks are never evicted, and the task just written is never
//! evicted by its own write.
//!
//! A gateway that dies mid-task leaves it running: its lease (`task_lease_seconds` after its
//! last write) runs out, and the first gateway to notice (a sweep every few seconds, or a read
//! of the task) ends it as failed, compare-and-set, so exactly one does; that state is then
//! readable from every gateway.
//!
//! Listing a caller's own tasks: filtered by owner (and the request's filters) before
//! pagination, newest update first, with the true `totalSize` and a cursor page token (the
//! revision of the page's last task), so tasks created or evicted between pages do not shift
//! the pages (a task updated while a client pages moves to the front). As the spec asks,
//! artifacts are listed only with `includeArtifacts: true`; `statusTimestampAfter` keeps tasks
//! whose status time is at or after it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::a2a::{A2AError, ListTasksRequest, ListTasksResponse, Message, Part, Role, Task, TaskState};
use a2a_server::pagination::resolve_page_size;
use a2a_server::task_store::TaskVersion;
use async_nats::jetstream::{self, kv};
use async_trait::async_trait;
use futures::StreamExt;
use kubently_shared::kv_ttl::{self, Latest};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::agent::OWNER_KEY;
use super::push::PushConfigs;
use crate::app::access;
use crate::auth::Caller;
use crate::settings::A2aSettings;

/// How often a gateway looks for running tasks whose lease ran out.
const SWEEP_EVERY: Duration = Duration::from_secs(2);
/// Lost compare-and-set races before a write gives up.
const CAS_ATTEMPTS: u32 = 8;

/// Count and size bounds, retention and lease of a [`TaskStore`].
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_tasks: usize,
    pub max_bytes: usize,
    pub retention: Duration,
    pub lease: Duration,
}

impl From<&A2aSettings> for Limits {
    fn from(s: &A2aSettings) -> Self {
        Self {
            max_tasks: s.max_tasks,
            max_bytes: s.max_bytes,
            retention: Duration::from_secs(s.task_retention_seconds),
            lease: Duration::from_secs(s.task_lease_seconds),
        }
    }
}

/// What the bucket holds per task.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    pub task: Task,
    pub version: TaskVersion,
    /// While the task runs: when its gateway's lease ends, and which gateway holds it.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub lease_until: Option<OffsetDateTime>,
    #[serde(default)]
    pub gateway: Option<String>,
}

impl Record {
    fn overdue(&self, now: OffsetDateTime) -> bool {
        !self.task.status.state.is_terminal() && self.lease_until.is_some_and(|until| now > until)
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
    js: jetstream::Context,
    kv: kv::Store,
    /// This gateway (named in the leases it holds).
    instance: String,
    replica: Mutex<Inner>,
}

/// This gateway's replica of the bucket.
#[derive(Default)]
struct Inner {
    tasks: HashMap<String, Entry>,
    /// Revision → task id, oldest update first.
    order: BTreeMap<u64, String>,
    bytes: usize,
}

struct Entry {
    record: Record,
    /// The key's revision of this record.
    seq: u64,
    bytes: usize,
}

fn size_of(task: &Task) -> usize {
    serde_json::to_vec(task).map(|v| v.len()).unwrap_or(usize::MAX / 4)
}

fn owner_of(task: &Task) -> Option<&str> {
    task.metadata.as_ref().and_then(|m| m.get(OWNER_KEY)).and_then(|v| v.as_str())
}

fn storage(what: &str, e: impl std::fmt::Display) -> A2AError {
    tracing::warn!(error = %e, "A2A task store: {what} failed");
    A2AError::internal(format!("the task store is unavailable ({what})"))
}

impl Inner {
    /// Applies a write seen at `seq` (ours or, through the watch, anyone's); an older revision
    /// than the one held is ignored.
    fn apply(&mut self, id: &str, record: Option<Record>, seq: u64) {
        if let Some(old) = self.tasks.get(id) {
            if old.seq >= seq {
                return;
            }
            self.order.remove(&old.seq);
            self.bytes -= old.bytes;
            self.tasks.remove(id);
        }
        if let Some(record) = record {
            let bytes = size_of(&record.task);
            self.order.insert(seq, id.to_string());
            self.bytes += bytes;
            self.tasks.insert(id.to_string(), Entry { record, seq, bytes });
        }
    }

    /// The terminal tasks updated longest ago (never `keep`) that must go so that `extra_tasks`
    /// more tasks and `extra_bytes` more bytes fit, and whether they then fit.
    fn to_evict(
        &self,
        limits: Limits,
        keep: &str,
        extra_tasks: usize,
        extra_bytes: usize,
    ) -> (Vec<String>, bool) {
        let (mut count, mut bytes) = (self.tasks.len() + extra_tasks, self.bytes.saturating_add(extra_bytes));
        let fits = |count: usize, bytes: usize| count <= limits.max_tasks && bytes <= limits.max_bytes;
        let mut evict = Vec::new();
        for id in self.order.values() {
            if fits(count, bytes) {
                break;
            }
            let Some(e) = self.tasks.get(id) else { continue };
            if id.as_str() != keep && e.record.task.status.state.is_terminal() {
                evict.push(id.clone());
                count -= 1;
                bytes -= e.bytes;
            }
        }
        (evict, fits(count, bytes))
    }

    /// The tasks `caller` may see that match `req`'s filters, newest update first, one page.
    fn list_for(&self, caller: &Caller, req: &ListTasksRequest) -> Result<ListTasksResponse, A2AError> {
        let page_size = resolve_page_size(req.page_size);
        let before = match req.page_token.as_deref().filter(|t| !t.is_empty()) {
            Some(token) => {
                Some(token.parse::<u64>().map_err(|_| A2AError::invalid_params("invalid page token"))?)
            }
            None => None,
        };
        let mut total = 0usize;
        let mut page = Vec::new();
        let mut more = false;
        for (seq, id) in self.order.iter().rev() {
            let Some(entry) = self.tasks.get(id) else { continue };
            let task = &entry.record.task;
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

impl TaskStore {
    /// A store on the A2A tasks bucket `kv`; [`TaskStore::start`] starts its replica and sweeper.
    pub fn new(
        js: jetstream::Context,
        kv: kv::Store,
        push: Arc<PushConfigs>,
        instance: String,
        limits: Limits,
    ) -> Self {
        Self { shared: Arc::new(Shared { limits, push, js, kv, instance, replica: Mutex::default() }) }
    }

    fn replica(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned replica only means a panic elsewhere mid-update; it is refreshed by the watch.
        self.shared.replica.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps the replica in step with the bucket, and ends tasks whose gateway died.
    pub fn start(&self) {
        tokio::spawn(self.clone().follow());
        tokio::spawn(self.clone().sweep());
    }

    async fn follow(self) {
        let mut delay = Duration::from_millis(200);
        loop {
            match self.shared.kv.watch_with_history(">").await {
                Ok(mut watch) => {
                    delay = Duration::from_millis(200);
                    while let Some(entry) = watch.next().await {
                        let Ok(entry) = entry else { break };
                        let record = match entry.operation {
                            kv::Operation::Put => serde_json::from_slice::<Record>(&entry.value).ok(),
                            kv::Operation::Delete | kv::Operation::Purge => None,
                        };
                        self.replica().apply(&entry.key, record, entry.revision);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot watch the A2A tasks bucket; retrying"),
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }

    async fn sweep(self) {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            let now = OffsetDateTime::now_utc();
            let overdue: Vec<String> = self
                .replica()
                .tasks
                .iter()
                .filter(|(_, e)| e.record.overdue(now))
                .map(|(id, _)| id.clone())
                .collect();
            for id in overdue {
                if let Err(e) = self.load(&id).await {
                    tracing::debug!(task_id = %id, error = %e.message, "could not end an abandoned task");
                }
            }
        }
    }

    /// How many tasks and bytes are kept.
    pub fn usage(&self) -> (usize, usize) {
        let replica = self.replica();
        (replica.tasks.len(), replica.bytes)
    }

    /// The tasks `caller` may see that match `req`'s filters, newest update first, one page.
    pub fn list_for(&self, caller: &Caller, req: &ListTasksRequest) -> Result<ListTasksResponse, A2AError> {
        self.replica().list_for(caller, req)
    }

    /// The task's record and revision from the stream leader; a running task whose lease ran out
    /// is ended as failed first.
    async fn load(&self, id: &str) -> Result<Option<(Record, u64)>, A2AError> {
        for _ in 0..CAS_ATTEMPTS {
            let Some(current) = self.read(id).await? else { return Ok(None) };
            let (mut record, revision) = current;
            if !record.overdue(OffsetDateTime::now_utc()) {
                return Ok(Some((record, revision)));
            }
            record.task.status.state = TaskState::Failed;
            record.task.status.timestamp = Some(std::time::SystemTime::now().into());
            let mut message = Message::new(
                Role::Agent,
                vec![Part::text(format!(
                    "the gateway running this task ({}) stopped before it finished; send the message again",
                    record.gateway.as_deref().unwrap_or("unknown")
                ))],
            );
            message.task_id = Some(record.task.id.clone());
            message.context_id = Some(record.task.context_id.clone());
            record.task.status.message = Some(message);
            record.version += 1;
            record.lease_until = None;
            match self.write(id, &record, Some(revision)).await {
                Ok(revision) => {
                    tracing::warn!(task_id = %id, gateway = ?record.gateway, "A2A task abandoned by its gateway; ended as failed");
                    return Ok(Some((record, revision)));
                }
                Err(kubently_shared::Error::WrongRevision { .. }) => continue,
                Err(e) => return Err(storage("ending an abandoned task", e)),
            }
        }
        Err(storage("ending an abandoned task", "too many concurrent writers"))
    }

    async fn read(&self, id: &str) -> Result<Option<(Record, u64)>, A2AError> {
        if kubently_shared::names::validate_kv_key(id).is_err() {
            return Ok(None);
        }
        match kv_ttl::latest(&self.shared.kv, id).await.map_err(|e| storage("reading a task", e))? {
            Some(Latest { revision, value: Some(bytes) }) => {
                let record = serde_json::from_slice(&bytes).map_err(|e| storage("decoding a task", e))?;
                Ok(Some((record, revision)))
            }
            _ => Ok(None),
        }
    }

    /// Writes `record` (a create when `expected` is `None`), then applies it to the replica.
    async fn write(&self, id: &str, record: &Record, expected: Option<u64>) -> kubently_shared::Result<u64> {
        let value = serde_json::to_vec(record).map_err(|source| kubently_shared::Error::Encode {
            kind: "A2A task",
            version: 1,
            source,
        })?;
        let (js, kv, ttl) = (&self.shared.js, &self.shared.kv, self.shared.limits.retention);
        let revision = match expected {
            None => kv_ttl::create_with_ttl(js, kv, id, value.into(), ttl).await?,
            Some(revision) => kv_ttl::update_with_ttl(js, kv, id, value.into(), revision, ttl).await?,
        };
        self.replica().apply(id, Some(record.clone()), revision);
        Ok(revision)
    }

    /// A record of `task` at `version`, leased to this gateway while it runs.
    fn record(&self, task: Task, version: TaskVersion) -> Record {
        let running = !task.status.state.is_terminal();
        Record {
            task,
            version,
            lease_until: running.then(|| OffsetDateTime::now_utc() + self.shared.limits.lease),
            gateway: running.then(|| self.shared.instance.clone()),
        }
    }

    /// Evicts (deletes) the tasks the replica says must go for `keep` to fit; whether it fits.
    async fn make_room(&self, keep: &str, extra_tasks: usize, extra_bytes: usize) -> bool {
        let (evict, fits) = self.replica().to_evict(self.shared.limits, keep, extra_tasks, extra_bytes);
        for id in evict {
            match self.shared.kv.purge(&id).await {
                Ok(()) => {
                    self.shared.push.forget(&id).await;
                    tracing::debug!(task_id = %id, "A2A task evicted from the task store");
                }
                Err(e) => tracing::warn!(task_id = %id, error = %e, "could not evict an A2A task"),
            }
        }
        fits
    }
}

#[async_trait]
impl a2a_server::TaskStore for TaskStore {
    async fn create(&self, task: Task) -> Result<TaskVersion, A2AError> {
        if kubently_shared::names::validate_kv_key(&task.id).is_err() {
            return Err(A2AError::invalid_params("a task id is letters, digits, `-` and `_`"));
        }
        if !self.make_room(&task.id, 1, size_of(&task)).await {
            return Err(A2AError::internal(
                "the gateway holds too many unfinished A2A tasks; try again when some have ended",
            ));
        }
        let id = task.id.clone();
        match self.write(&id, &self.record(task, 1), None).await {
            Ok(_) => Ok(1),
            Err(kubently_shared::Error::KeyExists { .. }) => Err(A2AError::internal("task already exists")),
            Err(e) => Err(storage("storing a task", e)),
        }
    }

    async fn update(&self, task: Task) -> Result<TaskVersion, A2AError> {
        for _ in 0..CAS_ATTEMPTS {
            let Some((current, revision)) = self.load(&task.id).await? else {
                return Err(A2AError::task_not_found(&task.id));
            };
            // A terminal state is final; re-applying the same one is allowed (cancel flows).
            if current.task.status.state.is_terminal() && current.task.status.state != task.status.state {
                return Err(A2AError::invalid_request(format!(
                    "task {} is in terminal state {:?} and cannot transition to {:?}",
                    task.id, current.task.status.state, task.status.state
                )));
            }
            // A running task is always written (its execution must go on); the terminal tasks
            // updated longest ago make room for its growth.
            let growth = size_of(&task).saturating_sub(size_of(&current.task));
            self.make_room(&task.id, 0, growth).await;
            let version = current.version + 1;
            match self.write(&task.id, &self.record(task.clone(), version), Some(revision)).await {
                Ok(_) => return Ok(version),
                Err(kubently_shared::Error::WrongRevision { .. }) => continue,
                Err(e) => return Err(storage("updating a task", e)),
            }
        }
        Err(storage("updating a task", "too many concurrent writers"))
    }

    async fn get(&self, task_id: &str) -> Result<Option<Task>, A2AError> {
        Ok(self.load(task_id).await?.map(|(record, _)| record.task))
    }

    /// Every task, unfiltered by owner: `OwnedTasks` lists through [`TaskStore::list_for`].
    async fn list(&self, req: &ListTasksRequest) -> Result<ListTasksResponse, A2AError> {
        let everyone = Caller::key("", vec![], true);
        self.list_for(&everyone, req)
    }

    async fn begin_cancel(&self, task_id: &str) -> Result<Task, A2AError> {
        for _ in 0..CAS_ATTEMPTS {
            let Some((current, revision)) = self.load(task_id).await? else {
                return Err(A2AError::task_not_found(task_id));
            };
            if current.task.status.state.is_terminal() {
                return Err(A2AError::task_not_cancelable(task_id));
            }
            let mut task = current.task;
            task.status.state = TaskState::Canceled;
            task.status.timestamp = Some(std::time::SystemTime::now().into());
            match self.write(task_id, &self.record(task.clone(), current.version + 1), Some(revision)).await {
                Ok(_) => return Ok(task),
                Err(kubently_shared::Error::WrongRevision { .. }) => continue,
                Err(e) => return Err(storage("canceling a task", e)),
            }
        }
        Err(storage("canceling a task", "too many concurrent writers"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::a2a::TaskStatus;
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

    fn record(task: Task) -> Record {
        Record { task, version: 1, lease_until: None, gateway: None }
    }

    fn caller(service: &str) -> Caller {
        Caller::key(service, vec![], false)
    }

    fn limits(max_tasks: usize, max_bytes: usize) -> Limits {
        Limits { max_tasks, max_bytes, retention: Duration::from_secs(60), lease: Duration::from_secs(60) }
    }

    #[test]
    fn eviction_takes_the_oldest_terminal_tasks_and_never_running_ones() {
        let mut inner = Inner::default();
        for (seq, (id, state)) in
            [("a", TaskState::Completed), ("b", TaskState::Working), ("c", TaskState::Completed)]
                .into_iter()
                .enumerate()
        {
            inner.apply(id, Some(record(task(id, "x", state, id))), seq as u64 + 1);
        }
        assert_eq!(inner.to_evict(limits(3, usize::MAX), "d", 1, 0), (vec!["a".to_string()], true));
        assert_eq!(
            inner.to_evict(limits(1, usize::MAX), "d", 1, 0),
            (vec!["a".to_string(), "c".to_string()], false),
            "the running task stays, so a new one does not fit"
        );
        assert_eq!(inner.to_evict(limits(3, usize::MAX), "c", 0, 0), (vec![], true));
        // A newer write wins over an older one seen late (the watch after our own write).
        inner.apply("a", Some(record(task("a", "x", TaskState::Completed, "newer"))), 10);
        inner.apply("a", None, 4);
        assert!(inner.tasks.contains_key("a"));
        inner.apply("a", None, 11);
        assert!(!inner.tasks.contains_key("a"));
        let one = size_of(&task("t", "x", TaskState::Completed, &"x".repeat(1000)));
        assert!(inner.bytes < one, "bytes follow the writes: {}", inner.bytes);
    }

    #[test]
    fn an_overdue_lease_marks_only_running_tasks() {
        let now = OffsetDateTime::now_utc();
        let leased = |state| Record {
            lease_until: Some(now - time::Duration::seconds(1)),
            ..record(task("t", "x", state, "t"))
        };
        assert!(leased(TaskState::Working).overdue(now));
        assert!(!leased(TaskState::Completed).overdue(now));
        assert!(!record(task("t", "x", TaskState::Working, "t")).overdue(now));
    }

    #[test]
    fn listing_pages_through_the_callers_own_tasks() {
        let mut inner = Inner::default();
        let mut seq = 0;
        let mut put = |inner: &mut Inner, id: &str, owner: &str| {
            seq += 1;
            inner.apply(id, Some(record(task(id, owner, TaskState::Completed, "x"))), seq);
        };
        for i in 0..7 {
            put(&mut inner, &format!("t{i}"), if i % 3 == 0 { "other" } else { "me" });
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
            let page = inner.list_for(&caller("me"), &req(&token)).expect("list");
            let created = seen.len() / 2;
            assert_eq!(page.total_size as usize, 4 + created, "every task of mine, before pagination");
            assert!(page.tasks.len() == 2 || page.next_page_token.is_empty(), "{page:?}");
            seen.extend(page.tasks.iter().map(|t| t.id.clone()));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
            // A task created between pages does not shift the rest.
            put(&mut inner, &format!("new{}", seen.len()), "me");
        }
        assert_eq!(seen, ["t5", "t4", "t2", "t1"], "newest first, only mine");
        assert_eq!(inner.list_for(&caller("other"), &req("")).expect("list").total_size, 3);
        let admin = Caller::key("admin", vec![], true);
        assert_eq!(inner.list_for(&admin, &req("")).expect("list").total_size, 8);
        assert!(inner.list_for(&caller("me"), &req("nope")).is_err());
    }
}
