//! Durable state: the task queue, results, events and modules.
//!
//! One interface, so the scheduler and the HTTP handlers never know which
//! database holds the queue. SQLite (one file) is the embedded default;
//! Postgres lets several nodes share one queue.
//!
//! Three layers, each written once: [`Storage`] is what the rest of the
//! server calls; `store` composes each stage of a task's life as one
//! transaction; `statements` holds one method per SQL statement, generic
//! over the database. What truly differs between the two databases (row
//! locking, event numbering, hints between nodes) is the small `dialect`
//! trait, implemented by `sqlite` and `postgres`.
//! No transaction stays open while a task runs: a claim takes a lease that
//! the runner renews, and every write about a running task is fenced on its
//! attempt and lease owner, so a stale runner can never overwrite a newer
//! result.

mod activity;
mod artifact;
mod batch;
mod dependencies;
mod dialect;
mod error;
mod guest;
mod labels;
mod node;
mod postgres;
mod record;
mod release;
mod session;
mod sql;
mod sqlite;
mod statements;
mod store;

use std::time::Duration;

use async_trait::async_trait;
use sandrun_api::{TaskEvent, TaskRequest, TaskResult, TaskStatus};

pub use activity::{Activity, EndedCount};
pub use artifact::{ArtifactStore, ArtifactWrite, CHUNK_BYTES};
pub use batch::BatchRecord;
pub use error::StorageError;
pub use guest::{GuestStore, Registry};
pub use node::NodeRecord;
pub use postgres::{PostgresOptions, PostgresStorage};
pub use record::{TaskFilter, TaskRecord, rfc3339};
pub use session::{
    EndReason, NewSession, RunState, SessionChange, SessionFilter, SessionRecord, SessionStore,
};
pub use sqlite::SqliteStorage;

/// A task about to be queued.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub id: String,
    pub request: TaskRequest,
    /// sha256 of the request's canonical JSON, to tell an idempotent retry
    /// from a conflicting reuse of its key.
    pub request_hash: String,
    pub max_attempts: u32,
    pub created_at: i64,
    /// Insert it already running, leased to this runner: the submitting
    /// node had a free slot and nothing was queued, so the task skips the
    /// queue (one transaction instead of an insert and a claim). A
    /// session's run is inserted running only when no earlier run of the
    /// session is queued or running (the insert holds the session, so none
    /// can come meanwhile); else it is queued behind them, and the answer
    /// says so by its status.
    pub claim_for: Option<ClaimFor>,
    /// The session it is the next run of; the session must take runs (see
    /// [`SessionRecord::takes_runs`]), or the insert fails.
    pub session_id: Option<String>,
    /// The batch it is submitted in.
    pub batch_id: Option<String>,
}

/// Who takes a task as it is inserted, and for how long.
#[derive(Debug, Clone)]
pub struct ClaimFor {
    pub owner: String,
    pub lease: Duration,
}

/// The columns a new task starts with.
#[derive(Debug, Clone)]
struct InitialState {
    status: TaskStatus,
    attempt: i64,
    lease_owner: Option<String>,
    lease_expires_at: Option<i64>,
    started_at: Option<i64>,
}

impl NewTask {
    /// Its first columns: `waiting` for its dependencies, queued, or
    /// running when claimed as it is inserted.
    fn initial_state(&self, waiting: bool) -> InitialState {
        match &self.claim_for {
            None => InitialState {
                status: if waiting {
                    TaskStatus::Waiting
                } else {
                    TaskStatus::Queued
                },
                attempt: 0,
                lease_owner: None,
                lease_expires_at: None,
                started_at: None,
            },
            Some(claim) => InitialState {
                status: TaskStatus::Running,
                attempt: 1,
                lease_owner: Some(claim.owner.clone()),
                lease_expires_at: Some(self.created_at + claim.lease.as_millis() as i64),
                started_at: Some(self.created_at),
            },
        }
    }

    /// The events of its insertion: waiting, or queued, and running when
    /// claimed.
    fn initial_events(&self, waiting: bool) -> Vec<TaskEvent> {
        if waiting {
            return vec![status_event(TaskStatus::Waiting, 0, self.created_at)];
        }
        let queued = status_event(TaskStatus::Queued, 0, self.created_at);
        match self.claim_for {
            None => vec![queued],
            Some(_) => vec![
                queued,
                status_event(TaskStatus::Running, 1, self.created_at),
            ],
        }
    }
}

/// What inserting one task did.
#[derive(Debug, Clone)]
pub enum Inserted {
    Created(TaskRecord),
    /// The idempotency key was seen before with the same request.
    Existing(TaskRecord),
}

/// A task a runner now holds.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub attempt: u32,
    pub request: TaskRequest,
    /// The session it is a run of.
    pub session_id: Option<String>,
    /// When the task was submitted, in ms since the epoch.
    pub created_at: i64,
}

/// Tasks waiting and running, across every node sharing the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueDepth {
    /// Waiting for the tasks they depend on.
    pub waiting: u64,
    pub queued: u64,
    pub running: u64,
}

/// The connections of this node's database pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    pub in_use: u32,
    pub idle: u32,
}

/// A held task, as seen when its lease was renewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewed {
    pub id: String,
    pub cancel_requested: bool,
}

/// How a run ended, as recorded.
#[derive(Debug, Clone, Copy)]
pub struct RunEnd<'a> {
    pub status: TaskStatus,
    pub result: Option<&'a TaskResult>,
    pub error: Option<&'a str>,
    /// Output and log events not yet written; they go before the status.
    pub events: &'a [TaskEvent],
    /// For a session's run: the state it leaves, stored with the result.
    pub session: Option<SessionWrite<'a>>,
    /// The files the run left under `/output`, stored with the result.
    pub artifacts: &'a [ArtifactWrite<'a>],
}

/// What a session's run writes to its session as it ends.
#[derive(Debug, Clone, Copy)]
pub struct SessionWrite<'a> {
    pub session_id: &'a str,
    /// The session's generation the run started from (see [`RunState`]).
    pub generation: i64,
    /// The new state; `None` when the run was rolled back.
    pub state: Option<StateWrite<'a>>,
}

/// A session's new state as stored: its bytes, and the token naming them.
#[derive(Debug, Clone, Copy)]
pub struct StateWrite<'a> {
    pub token: &'a str,
    pub bytes: &'a [u8],
}

impl<'a> RunEnd<'a> {
    /// Failed without a result.
    pub fn failed(error: &'a str, events: &'a [TaskEvent]) -> Self {
        RunEnd {
            status: TaskStatus::Failed,
            result: None,
            error: Some(error),
            events,
            session: None,
            artifacts: &[],
        }
    }
}

/// What a cancel request did.
#[derive(Debug, Clone)]
pub enum Cancelled {
    /// It was queued and is now cancelled.
    Now(TaskRecord),
    /// It is running; its runner will stop it.
    Requested(TaskRecord),
    /// It had already ended.
    AlreadyEnded(TaskRecord),
    NotFound,
}

/// What naming a module did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameOutcome {
    /// The name now (or already) points at the module.
    Named,
    /// The name points at another module.
    Taken { hash: String },
}

/// What a delete request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    Yes,
    NotEnded,
    NotFound,
}

/// A hint from another node that something changed. Hints may be lost or
/// repeated; they only make the next look at the database come sooner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hint {
    /// Tasks were queued.
    Queued,
    /// A cancel was requested for this running task.
    Cancel(String),
    /// Hints may have been missed (the listening connection was lost).
    Missed,
}

#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Is the database answering?
    async fn ping(&self) -> Result<(), StorageError>;

    /// Queue `tasks` in one transaction: all of them, or none.
    async fn insert_tasks(&self, tasks: Vec<NewTask>) -> Result<Vec<Inserted>, StorageError>;
    async fn task(&self, id: &str) -> Result<Option<TaskRecord>, StorageError>;
    /// The task submitted under an idempotency key.
    async fn task_by_idempotency_key(&self, key: &str) -> Result<Option<TaskRecord>, StorageError>;
    /// Newest first.
    async fn list_tasks(&self, filter: &TaskFilter) -> Result<Vec<TaskRecord>, StorageError>;
    /// Tasks queued and running, on every node of the queue.
    async fn queue_depth(&self) -> Result<QueueDepth, StorageError>;
    /// The tasks queued and running, and those that ended from `since` on,
    /// in all and by the `interval` they ended in, counted from `since`.
    async fn activity(&self, since: i64, interval: Duration) -> Result<Activity, StorageError>;
    /// Batches newest first, those below `before_id` when given.
    async fn batches(
        &self,
        before_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<BatchRecord>, StorageError>;
    /// A batch that still has tasks.
    async fn batch(&self, id: &str) -> Result<Option<BatchRecord>, StorageError>;
    /// This node's connections to the database.
    fn pool_use(&self) -> PoolUse;

    /// Take up to `limit` runnable tasks, highest priority then oldest first,
    /// leasing them to `owner` for `lease`.
    async fn claim(
        &self,
        owner: &str,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<Claimed>, StorageError>;
    /// Extend the leases `owner` holds on `held` (id, attempt); answers the
    /// ones still held. A task missing from the answer was lost.
    async fn renew(
        &self,
        owner: &str,
        held: &[(String, u32)],
        lease: Duration,
    ) -> Result<Vec<Renewed>, StorageError>;
    /// Record a run's end and its last events, fenced: `false` (and
    /// nothing written) if the attempt or owner is stale.
    async fn finish(
        &self,
        id: &str,
        attempt: u32,
        owner: &str,
        end: RunEnd<'_>,
    ) -> Result<bool, StorageError>;
    /// Give a task back after an infrastructure failure: queued again after
    /// `retry_after` while attempts remain, failed with `error` otherwise,
    /// and cancelled if a cancel was requested while it ran. `counts` is
    /// false when the run was interrupted on purpose (shutdown), so the
    /// attempt is not used up. Fenced like `finish`.
    async fn release(
        &self,
        id: &str,
        attempt: u32,
        owner: &str,
        retry_after: Duration,
        error: &str,
        counts: bool,
    ) -> Result<bool, StorageError>;
    /// Give back every task whose lease has expired, as `release` does.
    async fn reclaim_expired(&self) -> Result<u64, StorageError>;
    /// At start-up: give back every running task, whoever holds it, when
    /// one server owns the database (no other node can be running them);
    /// on a shared queue, only the expired leases.
    async fn reclaim_all_running(&self) -> Result<u64, StorageError>;

    async fn cancel(&self, id: &str) -> Result<Cancelled, StorageError>;
    async fn delete(&self, id: &str) -> Result<Deleted, StorageError>;
    /// Delete up to `batch` tasks that ended before `ended_before` (ms).
    async fn prune(&self, ended_before: i64, batch: u32) -> Result<u64, StorageError>;

    async fn append_events(&self, task_id: &str, events: &[TaskEvent]) -> Result<(), StorageError>;
    /// Events of `task_id` after the one numbered `after`, in order. A
    /// reader that saw event `n` will see every later event with a number
    /// above `n`: numbers never commit out of order.
    async fn events_after(
        &self,
        task_id: &str,
        after: i64,
    ) -> Result<Vec<(i64, TaskEvent)>, StorageError>;

    /// Key-value data and progress of task modules.
    fn guest(&self) -> &dyn GuestStore;
    /// Uploaded modules, their names, and the nodes sharing the queue.
    fn registry(&self) -> &dyn Registry;
    /// Sessions' own rows; their runs are tasks.
    fn sessions(&self) -> &dyn SessionStore;
    /// The files runs left under `/output`.
    fn artifacts(&self) -> &dyn ArtifactStore;

    /// Start receiving other nodes' hints, if this database carries them.
    fn listen(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Hint>> {
        None
    }
}

/// Milliseconds since the Unix epoch.
/// The event of a task moving to `status` at `at_ms`.
pub(crate) fn status_event(status: TaskStatus, attempt: u32, at_ms: i64) -> TaskEvent {
    TaskEvent::Status {
        status,
        attempt,
        at: Some(rfc3339(at_ms)),
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The status a finished run's result puts its task in.
pub fn status_for(result: &TaskResult) -> TaskStatus {
    match result.outcome {
        sandrun_api::Outcome::Succeeded => TaskStatus::Succeeded,
        sandrun_api::Outcome::Cancelled => TaskStatus::Cancelled,
        _ => TaskStatus::Failed,
    }
}
