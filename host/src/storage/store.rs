//! Each stage of a task's life as one transaction, written once for both
//! backends: insert (with idempotency, labels, events and hint, and a
//! session run's number), claim, renew, finish (with a session run's
//! state and the run's artifacts), release (with the retry plan), cancel, reclaim, delete, prune.
//! A session's own transactions are in `sessions`, the reading of
//! artifacts in `artifacts`. The statements come
//! from [`Statements`]; what differs between the databases, from the
//! [`Dialect`].

mod artifacts;
mod dependencies;
mod sessions;

use std::time::Duration;

use async_trait::async_trait;
use sandrun_api::{ModuleInfo, TaskEvent, TaskStatus};
use serde_json::Value;
use sqlx::pool::PoolConnection;
use sqlx::{Pool, Transaction};

use super::activity::{self, Activity};
use super::batch::{self, BatchRecord};
use super::dependencies::Readiness;
use super::dialect::{Conn, Dialect};
use super::labels::Labelled;
use super::node::NodeRecord;
use super::release::{NODE_STOPPED, Release};
use super::statements::{Ending, Lookup, Statements};
use super::{
    ArtifactStore, Cancelled, Claimed, Deleted, GuestStore, Hint, Inserted, NameOutcome, NewTask,
    PoolUse, QueueDepth, Registry, Renewed, RunEnd, SessionStore, Storage, StorageError,
    TaskFilter, TaskRecord, now_ms, status_event,
};

/// The queue, results, events and modules in one database.
#[derive(Debug)]
pub struct Store<D: Dialect> {
    pool: Pool<D::Db>,
    dialect: D,
}

impl<D: Dialect> Store<D> {
    pub(super) fn new(pool: Pool<D::Db>, dialect: D) -> Self {
        Store { pool, dialect }
    }

    async fn begin(&self) -> Result<Transaction<'static, D::Db>, StorageError> {
        Ok(self.pool.begin().await?)
    }

    async fn conn(&self) -> Result<PoolConnection<D::Db>, StorageError> {
        Ok(self.pool.acquire().await?)
    }

    /// The task an idempotent repeat of `task` finds, refused when its key
    /// was used with another request.
    async fn existing(conn: &mut Conn<D>, task: &NewTask) -> Result<TaskRecord, StorageError> {
        let key = task.request.idempotency_key.clone().unwrap_or_default();
        let record = D::Db::task(conn, Lookup::IdempotencyKey(&key))
            .await?
            .ok_or_else(|| StorageError::Corrupt("idempotent task vanished".into()))?;
        if record.request_hash != task.request_hash {
            return Err(StorageError::IdempotencyConflict(key));
        }
        Ok(record)
    }

    /// The number task `task`'s run of its session gets, if it is one: the
    /// session is held for the rest of the transaction, so its runs are
    /// numbered one after another, and it must take runs.
    async fn session_run(conn: &mut Conn<D>, task: &NewTask) -> Result<Option<i64>, StorageError> {
        let Some(session_id) = &task.session_id else {
            return Ok(None);
        };
        let closed = || StorageError::SessionClosed(session_id.clone());
        if !D::Db::lock_row(conn, D::LOCK_SESSION, session_id).await? {
            return Err(closed());
        }
        let session = D::Db::session(conn, session_id).await?.ok_or_else(closed)?;
        if !session.takes_runs(now_ms()) {
            return Err(closed());
        }
        Ok(Some(session.runs as i64 + 1))
    }

    /// Cancel task `id` (already held by this transaction): a queued one
    /// ends now, a running one is asked to stop.
    async fn cancel_in(&self, conn: &mut Conn<D>, id: &str) -> Result<Cancelled, StorageError> {
        let record = D::Db::task(conn, Lookup::Id(id))
            .await?
            .ok_or_else(|| StorageError::Corrupt("a held task vanished".into()))?;
        Ok(match record.status {
            TaskStatus::Waiting | TaskStatus::Queued => {
                let ending = Ending {
                    status: TaskStatus::Cancelled,
                    error: None,
                };
                D::Db::end_task(conn, id, ending).await?;
                let cancelled = status_event(TaskStatus::Cancelled, record.attempt, now_ms());
                D::append_events(conn, id, &[cancelled]).await?;
                self.settle_dependents(conn, id).await?;
                let record = D::Db::task(conn, Lookup::Id(id)).await?;
                Cancelled::Now(record.ok_or_else(|| StorageError::Corrupt("vanished".into()))?)
            }
            TaskStatus::Running => {
                D::Db::request_cancel(conn, id).await?;
                self.dialect
                    .hint(conn, &Hint::Cancel(id.to_owned()))
                    .await?;
                Cancelled::Requested(record)
            }
            _ => Cancelled::AlreadyEnded(record),
        })
    }

    /// Give back running task `id` (already held by this transaction):
    /// retried, failed, or cancelled if a cancel was requested meanwhile.
    /// Fenced on `attempt`, and on `owner` when given.
    async fn release_in(
        &self,
        conn: &mut Conn<D>,
        id: &str,
        attempt: u32,
        owner: Option<&str>,
        retry_after: Duration,
        error: &str,
        counts: bool,
    ) -> Result<Option<Release>, StorageError> {
        let Some(held) = D::Db::held(conn, id, attempt).await? else {
            return Ok(None);
        };
        if owner.is_some_and(|owner| held.lease_owner.as_deref() != Some(owner)) {
            return Ok(None);
        }
        let plan = Release::plan(
            attempt,
            held.max_attempts as u32,
            held.cancel_requested,
            retry_after,
            error,
            counts,
        );
        match &plan {
            Release::Fail { error } => {
                let ending = Ending {
                    status: TaskStatus::Failed,
                    error: Some(error),
                };
                D::Db::end_task(conn, id, ending).await?;
            }
            Release::Cancel { error } => {
                let ending = Ending {
                    status: TaskStatus::Cancelled,
                    error: Some(error),
                };
                D::Db::end_task(conn, id, ending).await?;
            }
            Release::Requeue {
                attempt,
                run_after,
                error,
            } => D::Db::requeue(conn, id, *attempt, *run_after, error).await?,
        }
        D::append_events(conn, id, &[plan.event(attempt)]).await?;
        if !matches!(plan, Release::Requeue { .. }) {
            self.settle_dependents(conn, id).await?;
        }
        Ok(Some(plan))
    }

    /// Give back every running task whose lease expires before `moment`.
    async fn reclaim_before(&self, moment: i64) -> Result<u64, StorageError> {
        let mut tx = self.begin().await?;
        let expired = D::Db::lock_expired(&mut tx, D::LOCK_EXPIRED, moment).await?;
        let mut requeued = false;
        let mut count = 0;
        for (id, attempt) in &expired {
            let released = self
                .release_in(
                    &mut tx,
                    id,
                    *attempt,
                    None,
                    Duration::ZERO,
                    NODE_STOPPED,
                    true,
                )
                .await?;
            requeued |= matches!(released, Some(Release::Requeue { .. }));
            count += u64::from(released.is_some());
        }
        if requeued {
            self.dialect.hint(&mut tx, &Hint::Queued).await?;
        }
        tx.commit().await?;
        Ok(count)
    }
}

#[async_trait]
impl<D: Dialect> Storage for Store<D> {
    async fn ping(&self) -> Result<(), StorageError> {
        D::Db::ping(&mut *self.conn().await?).await
    }

    async fn insert_tasks(&self, tasks: Vec<NewTask>) -> Result<Vec<Inserted>, StorageError> {
        let mut tx = self.begin().await?;
        let mut inserted = Vec::with_capacity(tasks.len());
        for mut task in tasks {
            // The insert comes first, so the transaction writes before it
            // reads; a taken key inserts nothing. On Postgres a concurrent
            // insert of the same key waits for the other transaction, then
            // finds its row. A session's run holds its session first, and
            // waits in the queue behind any run of it not yet ended.
            let session_run = Self::session_run(&mut tx, &task).await?;
            if let Some(session_id) = &task.session_id
                && task.claim_for.is_some()
                && !D::Db::pending_runs(&mut tx, session_id).await?.is_empty()
            {
                task.claim_for = None;
            }
            // A task with dependencies holds them first, so none ends
            // before it is recorded as waiting for it.
            let readiness = Self::hold_dependencies(&mut tx, &task).await?;
            let waiting = readiness != Readiness::Ready;
            if waiting {
                task.claim_for = None;
            }
            let task = &task;
            match D::Db::insert_task(&mut tx, task, session_run, waiting).await? {
                Some(mut record) => {
                    if let Some(session_id) = &task.session_id {
                        D::Db::count_session_run(&mut tx, session_id).await?;
                    }
                    D::Db::insert_labels(&mut tx, Labelled::Task, &task.id, &task.request.labels)
                        .await?;
                    D::append_events(&mut tx, &task.id, &task.initial_events(waiting)).await?;
                    Self::record_dependencies(&mut tx, task).await?;
                    if let Readiness::Doomed(reason) = &readiness {
                        Self::doom(&mut tx, &task.id, reason).await?;
                        record = D::Db::task(&mut tx, Lookup::Id(&task.id))
                            .await?
                            .ok_or_else(|| {
                                StorageError::Corrupt("a task just inserted vanished".into())
                            })?;
                    }
                    inserted.push(Inserted::Created(record));
                }
                None => inserted.push(Inserted::Existing(Self::existing(&mut tx, task).await?)),
            }
        }
        let queued_any = inserted
            .iter()
            .any(|i| matches!(i, Inserted::Created(r) if r.status == TaskStatus::Queued));
        if queued_any {
            self.dialect.hint(&mut tx, &Hint::Queued).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    async fn task(&self, id: &str) -> Result<Option<TaskRecord>, StorageError> {
        D::Db::task(&mut *self.conn().await?, Lookup::Id(id)).await
    }

    async fn task_by_idempotency_key(&self, key: &str) -> Result<Option<TaskRecord>, StorageError> {
        D::Db::task(&mut *self.conn().await?, Lookup::IdempotencyKey(key)).await
    }

    async fn list_tasks(&self, filter: &TaskFilter) -> Result<Vec<TaskRecord>, StorageError> {
        D::Db::list_tasks(&mut *self.conn().await?, filter).await
    }

    async fn queue_depth(&self) -> Result<QueueDepth, StorageError> {
        D::Db::queue_depth(&mut *self.conn().await?).await
    }

    async fn activity(&self, since: i64, interval: Duration) -> Result<Activity, StorageError> {
        let interval_ms = (interval.as_millis() as i64).max(1);
        let mut conn = self.conn().await?;
        let depth = D::Db::queue_depth(&mut conn).await?;
        let ended = activity::ended(D::Db::ended_since(&mut conn, since, interval_ms).await?)?;
        Ok(Activity {
            counts: activity::counts(depth, &ended),
            ended,
            newest_task_id: D::Db::newest_task_id(&mut conn).await?,
        })
    }

    async fn batches(
        &self,
        before_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<BatchRecord>, StorageError> {
        let mut conn = self.conn().await?;
        let mut batches = Vec::new();
        for id in D::Db::batch_ids(&mut conn, before_id, limit).await? {
            let counts = D::Db::batch_counts(&mut conn, &id).await?;
            batches.extend(batch::from_rows(&id, counts)?);
        }
        Ok(batches)
    }

    async fn batch(&self, id: &str) -> Result<Option<BatchRecord>, StorageError> {
        let counts = D::Db::batch_counts(&mut *self.conn().await?, id).await?;
        batch::from_rows(id, counts)
    }

    fn pool_use(&self) -> PoolUse {
        let idle = self.pool.num_idle() as u32;
        PoolUse {
            in_use: self.pool.size().saturating_sub(idle),
            idle,
        }
    }

    async fn claim(
        &self,
        owner: &str,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<Claimed>, StorageError> {
        let lease_until = now_ms() + lease.as_millis() as i64;
        let mut tx = self.begin().await?;
        let claimed =
            D::Db::claim_queued(&mut tx, owner, lease_until, limit, D::SKIP_LOCKED).await?;
        for task in &claimed {
            let running = status_event(TaskStatus::Running, task.attempt, now_ms());
            D::append_events(&mut tx, &task.id, &[running]).await?;
        }
        tx.commit().await?;
        Ok(claimed)
    }

    async fn renew(
        &self,
        owner: &str,
        held: &[(String, u32)],
        lease: Duration,
    ) -> Result<Vec<Renewed>, StorageError> {
        let lease_until = now_ms() + lease.as_millis() as i64;
        D::Db::renew(&mut *self.conn().await?, owner, held, lease_until).await
    }

    async fn finish(
        &self,
        id: &str,
        attempt: u32,
        owner: &str,
        end: RunEnd<'_>,
    ) -> Result<bool, StorageError> {
        let mut tx = self.begin().await?;
        let finished = D::Db::finish_run(&mut tx, id, attempt, owner, &end).await?;
        if let Some(session) = end.session.filter(|_| finished) {
            D::Db::touch_session(&mut tx, session.session_id, now_ms()).await?;
            if let Some(state) = session.state {
                let (id, generation) = (session.session_id, session.generation);
                let bytes = state.bytes.len() as u64;
                if D::Db::size_session_state(&mut tx, id, generation, bytes).await? {
                    D::Db::put_session_state(&mut tx, id, state.token, state.bytes).await?;
                }
            }
        }
        if finished {
            Self::insert_artifacts(&mut tx, id, end.artifacts).await?;
            let status = [status_event(end.status, attempt, now_ms())];
            D::append_events(&mut tx, id, &[end.events, &status].concat()).await?;
            self.settle_dependents(&mut tx, id).await?;
        }
        tx.commit().await?;
        Ok(finished)
    }

    async fn release(
        &self,
        id: &str,
        attempt: u32,
        owner: &str,
        retry_after: Duration,
        error: &str,
        counts: bool,
    ) -> Result<bool, StorageError> {
        let mut tx = self.begin().await?;
        if !D::Db::lock_row(&mut tx, D::LOCK_TASK, id).await? {
            return Ok(false);
        }
        let released = self
            .release_in(
                &mut tx,
                id,
                attempt,
                Some(owner),
                retry_after,
                error,
                counts,
            )
            .await?;
        if matches!(released, Some(Release::Requeue { .. })) {
            self.dialect.hint(&mut tx, &Hint::Queued).await?;
        }
        tx.commit().await?;
        Ok(released.is_some())
    }

    async fn reclaim_expired(&self) -> Result<u64, StorageError> {
        self.reclaim_before(now_ms()).await
    }

    async fn reclaim_all_running(&self) -> Result<u64, StorageError> {
        // On a shared queue other nodes may be running them: only expired
        // leases come back.
        self.reclaim_before(if D::ONE_NODE { i64::MAX } else { now_ms() })
            .await
    }

    async fn cancel(&self, id: &str) -> Result<Cancelled, StorageError> {
        let mut tx = self.begin().await?;
        if !D::Db::lock_row(&mut tx, D::LOCK_TASK, id).await? {
            return Ok(Cancelled::NotFound);
        }
        let outcome = self.cancel_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn delete(&self, id: &str) -> Result<Deleted, StorageError> {
        let mut conn = self.conn().await?;
        if D::Db::delete_ended(&mut conn, id).await? {
            return Ok(Deleted::Yes);
        }
        Ok(match D::Db::status(&mut conn, id).await? {
            None => Deleted::NotFound,
            Some(_) => Deleted::NotEnded,
        })
    }

    async fn prune(&self, ended_before: i64, batch: u32) -> Result<u64, StorageError> {
        D::Db::prune(
            &mut *self.conn().await?,
            ended_before,
            batch,
            D::SKIP_LOCKED,
        )
        .await
    }

    async fn append_events(&self, task_id: &str, events: &[TaskEvent]) -> Result<(), StorageError> {
        let mut tx = self.begin().await?;
        D::append_events(&mut tx, task_id, events).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn events_after(
        &self,
        task_id: &str,
        after: i64,
    ) -> Result<Vec<(i64, TaskEvent)>, StorageError> {
        let mut conn = self.conn().await?;
        D::Db::events_after(&mut conn, task_id, after, D::EVENT_NUMBER).await
    }

    fn guest(&self) -> &dyn GuestStore {
        self
    }

    fn registry(&self) -> &dyn Registry {
        self
    }

    fn sessions(&self) -> &dyn SessionStore {
        self
    }

    fn artifacts(&self) -> &dyn ArtifactStore {
        self
    }

    fn listen(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Hint>> {
        self.dialect.listen(&self.pool)
    }
}

#[async_trait]
impl<D: Dialect> GuestStore for Store<D> {
    async fn kv_get(&self, namespace: &str, key: &str) -> Result<Option<Value>, StorageError> {
        D::Db::kv_get(&mut *self.conn().await?, namespace, key).await
    }

    async fn kv_put(&self, namespace: &str, key: &str, value: &Value) -> Result<(), StorageError> {
        D::Db::kv_put(&mut *self.conn().await?, namespace, key, value).await
    }

    async fn kv_delete(&self, namespace: &str, key: &str) -> Result<bool, StorageError> {
        D::Db::kv_delete(&mut *self.conn().await?, namespace, key).await
    }

    async fn set_progress(
        &self,
        id: &str,
        attempt: u32,
        progress: f64,
    ) -> Result<(), StorageError> {
        D::Db::set_progress(&mut *self.conn().await?, id, attempt, progress).await
    }
}

#[async_trait]
impl<D: Dialect> Registry for Store<D> {
    async fn put_module(&self, hash: &str, bytes: &[u8]) -> Result<ModuleInfo, StorageError> {
        let mut conn = self.conn().await?;
        D::Db::put_module(&mut conn, hash, bytes).await?;
        D::Db::module_info(&mut conn, hash)
            .await?
            .ok_or_else(|| StorageError::Corrupt("module vanished".into()))
    }

    async fn module(&self, hash: &str) -> Result<Option<Vec<u8>>, StorageError> {
        D::Db::module(&mut *self.conn().await?, hash).await
    }

    async fn module_info(&self, hash: &str) -> Result<Option<ModuleInfo>, StorageError> {
        D::Db::module_info(&mut *self.conn().await?, hash).await
    }

    async fn list_modules(&self) -> Result<Vec<ModuleInfo>, StorageError> {
        D::Db::list_modules(&mut *self.conn().await?).await
    }

    async fn name_module(
        &self,
        name: &str,
        version: &str,
        hash: &str,
    ) -> Result<NameOutcome, StorageError> {
        D::Db::name_module(&mut *self.conn().await?, name, version, hash).await
    }

    async fn module_names(&self, hash: &str) -> Result<Vec<String>, StorageError> {
        D::Db::module_names(&mut *self.conn().await?, hash).await
    }

    async fn module_versions(&self, name: &str) -> Result<Vec<(String, String)>, StorageError> {
        D::Db::module_versions(&mut *self.conn().await?, name).await
    }

    async fn heartbeat(&self, node: &NodeRecord) -> Result<(), StorageError> {
        D::Db::heartbeat(&mut *self.conn().await?, node).await
    }

    async fn nodes(&self) -> Result<Vec<NodeRecord>, StorageError> {
        D::Db::nodes(&mut *self.conn().await?).await
    }

    async fn forget_nodes(&self, silent_before: i64) -> Result<u64, StorageError> {
        D::Db::forget_nodes(&mut *self.conn().await?, silent_before).await
    }
}
