//! Submission: the one way work enters the queue, for single tasks and
//! batches alike.
//!
//! A request is checked (every field, against the sandbox's limits),
//! hashed for idempotency as it was sent, its module name resolved to the
//! sha256 it was uploaded under, and weighed against the queue's depth.
//! When nothing is queued and a slot is free, a single task skips the
//! queue: it is inserted already claimed by this node, in the same
//! transaction, and started at once. The HTTP handlers only parse and
//! answer.
//!
//! A request that asks to wait holds a waiting slot for as long as it waits;
//! with all of them taken it is refused before its task is made, so that
//! retrying it later makes one task, not two.
//!
//! Sessions enter here too (`sessions`): opening and forking one, and each
//! run, which becomes a task built from the session's settings.

mod sessions;

use std::sync::Arc;
use std::time::Duration;

use sandrun_api::{TaskRequest, TaskStatus};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::{Scheduler, Subscription};
use crate::sandbox::Sandbox;
use crate::slots::Slots;
use crate::storage::{Claimed, Inserted, NewTask, StorageError, TaskRecord, now_ms};
use crate::task_request::{RequestError, is_sha256_hex, validate};

pub use sessions::SessionPolicy;

/// Most tasks in one batch.
pub const MAX_BATCH: usize = 1000;

/// What submission enforces beyond the request itself.
#[derive(Debug, Clone, Copy)]
pub struct SubmitPolicy {
    /// Queued tasks beyond which submissions are refused.
    pub max_queue_depth: u64,
    /// `max_attempts` of a task that does not say.
    pub default_max_attempts: u32,
    /// Requests waiting (`?wait=`) at once.
    pub max_waits: usize,
    pub sessions: SessionPolicy,
}

/// Why a submission was refused.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Invalid(#[from] RequestError),
    #[error("the queue holds {depth} tasks, its configured maximum; retry later")]
    QueueFull { depth: u64 },
    #[error("{max} requests already wait for their tasks, the configured maximum")]
    TooManyWaits { max: usize },
    #[error("no session {0}")]
    SessionNotFound(String),
    /// Why, as `SessionRecord::gone` says it.
    #[error("{0}")]
    SessionEnded(String),
    #[error("{max} sessions are open, the configured maximum; end one first")]
    TooManySessions { max: u64 },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Takes tasks in for this node's scheduler.
#[derive(Debug)]
pub struct Submitter {
    scheduler: Arc<Scheduler>,
    sandbox: Arc<Sandbox>,
    policy: SubmitPolicy,
    /// Requests waiting now.
    waits: Slots,
    /// Ends waits early when the server begins to stop.
    shutdown: CancellationToken,
}

impl Submitter {
    pub fn new(
        scheduler: Arc<Scheduler>,
        sandbox: Arc<Sandbox>,
        policy: SubmitPolicy,
        shutdown: CancellationToken,
    ) -> Self {
        Submitter {
            scheduler,
            sandbox,
            policy,
            waits: Slots::new(policy.max_waits),
            shutdown,
        }
    }

    /// Queue one task, or start it at once on a free slot. With `wait`,
    /// answer once it ends, or as it is when the wait runs out or the
    /// server begins to stop. An idempotent repeat answers the task
    /// already under its key.
    pub async fn submit(
        &self,
        request: TaskRequest,
        wait: Option<Duration>,
    ) -> Result<TaskRecord, SubmitError> {
        let task = self.prepare(request).await?;
        self.submit_prepared(task, wait).await
    }

    /// [`Submitter::submit`], for a task already checked and made.
    async fn submit_prepared(
        &self,
        mut task: NewTask,
        wait: Option<Duration>,
    ) -> Result<TaskRecord, SubmitError> {
        let _waiting = match wait {
            Some(_) => Some(self.waits.try_take().ok_or(SubmitError::TooManyWaits {
                max: self.waits.max(),
            })?),
            None => None,
        };
        let depth = self.room_for(&[&task]).await?;
        // Nothing waits and a slot is free: the task skips the queue. The
        // slot is held across the insert, so it cannot be taken meanwhile.
        // A session's run skips it only if no earlier run of its session is
        // pending, which the insert decides (its status tells).
        let admitted = (depth == 0).then(|| self.scheduler.try_admit()).flatten();
        let (permit, claim) = admitted.unzip();
        task.claim_for = claim;
        // Watching before the task exists, a waiter needs no first look at
        // it: nothing can have happened to it unseen.
        let subscription = wait.map(|_| self.scheduler.notifier.subscribe(&task.id));
        let first_change = subscription.as_ref().map(Subscription::next_change);
        let inserted = match self.scheduler.storage.insert_tasks(vec![task]).await {
            Err(e @ StorageError::SessionClosed(_)) => {
                return Err(SubmitError::SessionEnded(e.to_string()));
            }
            inserted => inserted?,
        };
        let (record, created) = match inserted.into_iter().next().expect("one in, one out") {
            Inserted::Created(record) => (record, true),
            Inserted::Existing(record) => (record, false),
        };
        if created {
            self.scheduler
                .metrics
                .task_submitted(record.request.runtime);
        }
        match permit {
            Some(permit) if created && record.status == TaskStatus::Running => {
                let claimed = Claimed {
                    id: record.id.clone(),
                    attempt: record.attempt,
                    request: record.request.clone(),
                    session_id: record.session_id.clone(),
                    created_at: record.created_at,
                };
                self.scheduler.start_admitted(claimed, permit);
            }
            // Queued, or an earlier task under the same idempotency key.
            _ => self.scheduler.wake(),
        }
        let Some(wait) = wait else { return Ok(record) };
        if created && let Some(first_change) = first_change {
            let _ = tokio::time::timeout(wait, first_change).await;
        }
        self.wait_for_end(record, wait).await
    }

    /// The task once it ends, or as it is when `wait` runs out or the
    /// server begins to stop.
    async fn wait_for_end(
        &self,
        record: TaskRecord,
        wait: Duration,
    ) -> Result<TaskRecord, SubmitError> {
        if record.status.is_terminal() {
            return Ok(record);
        }
        let storage = &self.scheduler.storage;
        let subscription = self.scheduler.notifier.subscribe(&record.id);
        let ended = subscription.until(|| async {
            let current = storage.task(&record.id).await?;
            Ok::<_, StorageError>(current.filter(|r| r.status.is_terminal()))
        });
        tokio::select! {
            ended = tokio::time::timeout(wait, ended) => {
                if let Ok(ended) = ended {
                    return Ok(ended?);
                }
            }
            () = self.shutdown.cancelled() => {}
        }
        Ok(storage.task(&record.id).await?.unwrap_or(record))
    }

    /// Queue every task of a batch in one transaction, or none: the
    /// batch's id and its tasks in order. A refused field is named by its
    /// task's index, as `tasks[i].field`.
    pub async fn submit_batch(
        &self,
        requests: Vec<TaskRequest>,
    ) -> Result<(String, Vec<TaskRecord>), SubmitError> {
        if requests.is_empty() || requests.len() > MAX_BATCH {
            return Err(RequestError {
                field: "tasks".into(),
                detail: format!("a batch holds 1 to {MAX_BATCH} tasks"),
            }
            .into());
        }
        let batch_id = uuid::Uuid::now_v7().to_string();
        let mut tasks = Vec::with_capacity(requests.len());
        for (i, request) in requests.into_iter().enumerate() {
            let task = self.prepare(request).await.map_err(|e| match e {
                SubmitError::Invalid(RequestError { field, detail }) => {
                    SubmitError::Invalid(RequestError {
                        field: format!("tasks[{i}].{field}"),
                        detail,
                    })
                }
                other => other,
            })?;
            tasks.push(NewTask {
                batch_id: Some(batch_id.clone()),
                ..task
            });
        }
        self.room_for(&tasks.iter().collect::<Vec<_>>()).await?;
        let inserted = self.scheduler.storage.insert_tasks(tasks).await?;
        self.scheduler.wake();
        let records = inserted
            .into_iter()
            .map(|i| match i {
                Inserted::Created(record) => {
                    self.scheduler
                        .metrics
                        .task_submitted(record.request.runtime);
                    record
                }
                Inserted::Existing(record) => record,
            })
            .collect();
        Ok((batch_id, records))
    }

    /// Check a request and make the row to insert.
    async fn prepare(&self, mut request: TaskRequest) -> Result<NewTask, SubmitError> {
        validate(&request, &self.sandbox)?;
        // The request as sent decides idempotency, before names are resolved.
        let canonical = serde_json::to_vec(&request).expect("requests serialise");
        if let Some(reference) = &request.module {
            request.module = Some(self.resolve_module(reference).await?);
        }
        for (i, dependency) in request.depends_on.iter().enumerate() {
            if self.scheduler.storage.task(dependency).await?.is_none() {
                return Err(RequestError {
                    field: format!("depends_on[{i}]"),
                    detail: format!("no task {dependency}"),
                }
                .into());
            }
        }
        Ok(NewTask {
            id: uuid::Uuid::now_v7().to_string(),
            max_attempts: request
                .max_attempts
                .unwrap_or(self.policy.default_max_attempts),
            request,
            request_hash: hex::encode(Sha256::digest(&canonical)),
            created_at: now_ms(),
            claim_for: None,
            session_id: None,
            batch_id: None,
        })
    }

    /// The number of queued tasks, unless adding `tasks` would overflow
    /// the queue. A task whose idempotency key already names a task adds
    /// nothing: repeating a request (as a client does to wait longer) is
    /// never refused for a full queue.
    async fn room_for(&self, tasks: &[&NewTask]) -> Result<u64, SubmitError> {
        let storage = &self.scheduler.storage;
        let depth = storage.queue_depth().await?.queued;
        let mut adding = tasks.len() as u64;
        if depth + adding <= self.policy.max_queue_depth {
            return Ok(depth);
        }
        for task in tasks {
            if let Some(key) = &task.request.idempotency_key
                && storage.task_by_idempotency_key(key).await?.is_some()
            {
                adding -= 1;
            }
        }
        if depth + adding > self.policy.max_queue_depth {
            return Err(SubmitError::QueueFull { depth });
        }
        Ok(depth)
    }

    /// The sha256 of the module `reference` names: a sha256, `name@version`,
    /// or `name` for its highest version.
    async fn resolve_module(&self, reference: &str) -> Result<String, SubmitError> {
        let registry = self.scheduler.storage.registry();
        let bad = |detail: String| RequestError {
            field: "module".into(),
            detail,
        };
        let missing = |what: String| bad(format!("no uploaded module {what}"));
        if is_sha256_hex(reference) {
            return match registry.module_info(reference).await? {
                Some(_) => Ok(reference.to_owned()),
                None => Err(missing(format!("has sha256 {reference}")).into()),
            };
        }
        let (name, wanted) = match reference.split_once('@') {
            Some((name, version)) => {
                let version = semver::Version::parse(version)
                    .map_err(|e| bad(format!("`{reference}`: {e}")))?;
                (name, Some(version))
            }
            None => (reference, None),
        };
        let found = registry
            .module_versions(name)
            .await?
            .into_iter()
            .filter_map(|(v, hash)| semver::Version::parse(&v).ok().map(|v| (v, hash)))
            .filter(|(v, _)| wanted.as_ref().is_none_or(|w| w == v))
            .max_by(|a, b| a.0.cmp(&b.0));
        match found {
            Some((_, hash)) => Ok(hash),
            None => Err(missing(format!("is called {reference}")).into()),
        }
    }
}
