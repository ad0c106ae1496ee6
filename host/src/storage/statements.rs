//! Every statement the two backends run word for word, written once.
//!
//! One method per statement, generic over the sqlx database: the SQL uses
//! `$n` placeholders, which SQLite and Postgres both read, and the
//! fragments that do differ (row locking) come in as arguments from the
//! [`Dialect`](super::dialect::Dialect). The sqlx bounds that make one body
//! serve both pools are written once, on the blanket implementation below.
//! No method opens or commits a transaction: the transactions are composed
//! above, in [`Store`](super::store::Store).

use async_trait::async_trait;
use serde_json::Value;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Type};

use sandrun_api::{ArtifactInfo, ModuleInfo, TaskEvent, TaskStatus};

use super::artifact::ArtifactRow;
use super::labels::Labelled;
use super::node::NodeRecord;
use super::record::{ModuleRow, TASK_COLUMNS, TaskFilter, TaskRecord, TaskRow, labels_json};
use super::session::{
    EndReason, NewSession, RunState, SESSION_COLUMNS, SessionFilter, SessionRecord, SessionRow,
};
use super::sql::{Param, Sql};
use super::{Claimed, NameOutcome, NewTask, QueueDepth, Renewed, RunEnd, StorageError, now_ms};

type Result<T> = std::result::Result<T, StorageError>;

/// A held task's row, as a release reads it.
#[derive(Debug, FromRow)]
pub struct Held {
    pub max_attempts: i64,
    pub cancel_requested: bool,
    pub lease_owner: Option<String>,
}

/// Which task to read.
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a> {
    Id(&'a str),
    IdempotencyKey(&'a str),
}

/// A session's rows in a table of their own, which a fork copies.
#[derive(Debug, Clone, Copy)]
pub enum SessionRows {
    Labels,
    State,
}

impl SessionRows {
    /// The statement copying session `$2`'s rows to session `$1`.
    fn copy(self) -> &'static str {
        match self {
            SessionRows::Labels => {
                "INSERT INTO session_labels (session_id, key, value) \
                 SELECT $1, key, value FROM session_labels WHERE session_id = $2"
            }
            SessionRows::State => {
                "INSERT INTO session_states (session_id, token, state) \
                 SELECT $1, token, state FROM session_states WHERE session_id = $2"
            }
        }
    }
}

/// What ending a task sets. `error` left `None` keeps the row's error.
#[derive(Debug, Clone, Copy)]
pub struct Ending<'a> {
    pub status: TaskStatus,
    pub error: Option<&'a str>,
}

#[async_trait]
pub trait Statements: Database {
    async fn ping(conn: &mut Self::Connection) -> Result<()>;
    /// Run a dialect's `lock` statement for the task or session `id`:
    /// whether it exists.
    async fn lock_row(conn: &mut Self::Connection, lock: &str, id: &str) -> Result<bool>;
    /// Run a dialect's `lock` statement for the leases expiring before
    /// `moment`: (id, attempt) of each.
    async fn lock_expired(
        conn: &mut Self::Connection,
        lock: &str,
        moment: i64,
    ) -> Result<Vec<(String, u32)>>;

    // --- tasks ---

    /// Insert a task unless its idempotency key is taken: the new row, or
    /// `None` when nothing was inserted. `session_run` numbers a session's
    /// run.
    async fn insert_task(
        conn: &mut Self::Connection,
        task: &NewTask,
        session_run: Option<i64>,
        waiting: bool,
    ) -> Result<Option<TaskRecord>>;
    /// Record that task `task_id` waits for `depends_on`.
    async fn insert_dependency(
        conn: &mut Self::Connection,
        task_id: &str,
        depends_on: &str,
    ) -> Result<()>;
    /// The tasks waiting for `id`.
    async fn waiting_dependents(conn: &mut Self::Connection, id: &str) -> Result<Vec<String>>;
    /// What task `id` waits for: `(id, status)`, the status `None` for a
    /// task that no longer exists.
    async fn dependencies_of(
        conn: &mut Self::Connection,
        id: &str,
    ) -> Result<Vec<(String, Option<String>)>>;
    /// Queue waiting task `id`, runnable from `run_after`.
    async fn release_waiting(conn: &mut Self::Connection, id: &str, run_after: i64) -> Result<()>;
    /// The labels of the task or session `owner`.
    async fn insert_labels(
        conn: &mut Self::Connection,
        labelled: Labelled,
        owner: &str,
        labels: &std::collections::BTreeMap<String, String>,
    ) -> Result<()>;
    async fn task(conn: &mut Self::Connection, lookup: Lookup<'_>) -> Result<Option<TaskRecord>>;
    async fn list_tasks(
        conn: &mut Self::Connection,
        filter: &TaskFilter,
    ) -> Result<Vec<TaskRecord>>;
    async fn queue_depth(conn: &mut Self::Connection) -> Result<QueueDepth>;
    /// Tasks that ended from `since` on, by the `interval_ms` interval
    /// counted from `since` they ended in: `(interval, status, tasks)`.
    async fn ended_since(
        conn: &mut Self::Connection,
        since: i64,
        interval_ms: i64,
    ) -> Result<Vec<(i64, String, i64)>>;
    /// The id of the task submitted last.
    async fn newest_task_id(conn: &mut Self::Connection) -> Result<Option<String>>;
    /// Batch ids, highest (newest) first, below `before_id` when given.
    async fn batch_ids(
        conn: &mut Self::Connection,
        before_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>>;
    /// A batch's tasks by status: `(status, tasks, earliest created_at)`.
    async fn batch_counts(conn: &mut Self::Connection, id: &str)
    -> Result<Vec<(String, i64, i64)>>;
    /// Lease up to `limit` runnable tasks to `owner` until `lease_until`,
    /// highest priority then oldest first; `skip_locked` ends the query
    /// that picks them.
    async fn claim_queued(
        conn: &mut Self::Connection,
        owner: &str,
        lease_until: i64,
        limit: usize,
        skip_locked: &str,
    ) -> Result<Vec<Claimed>>;
    async fn renew(
        conn: &mut Self::Connection,
        owner: &str,
        held: &[(String, u32)],
        lease_until: i64,
    ) -> Result<Vec<Renewed>>;
    /// Record a run's end, fenced on attempt and owner: whether it did.
    async fn finish_run(
        conn: &mut Self::Connection,
        id: &str,
        attempt: u32,
        owner: &str,
        end: &RunEnd<'_>,
    ) -> Result<bool>;
    /// The running task `id` at `attempt`, if it is.
    async fn held(conn: &mut Self::Connection, id: &str, attempt: u32) -> Result<Option<Held>>;
    /// End a task without a result, letting go of any lease.
    async fn end_task(conn: &mut Self::Connection, id: &str, ending: Ending<'_>) -> Result<()>;
    /// Queue a task again as `attempt`, runnable from `run_after`.
    async fn requeue(
        conn: &mut Self::Connection,
        id: &str,
        attempt: u32,
        run_after: i64,
        error: &str,
    ) -> Result<()>;
    async fn request_cancel(conn: &mut Self::Connection, id: &str) -> Result<()>;
    /// Delete `id` if it has ended: whether it did.
    async fn delete_ended(conn: &mut Self::Connection, id: &str) -> Result<bool>;
    async fn status(conn: &mut Self::Connection, id: &str) -> Result<Option<TaskStatus>>;
    async fn prune(
        conn: &mut Self::Connection,
        ended_before: i64,
        batch: u32,
        skip_locked: &str,
    ) -> Result<u64>;
    /// Events of `task_id` numbered (in `number_column`) above `after`.
    async fn events_after(
        conn: &mut Self::Connection,
        task_id: &str,
        after: i64,
        number_column: &str,
    ) -> Result<Vec<(i64, TaskEvent)>>;

    // --- what task modules keep and report ---

    async fn kv_get(
        conn: &mut Self::Connection,
        namespace: &str,
        key: &str,
    ) -> Result<Option<Value>>;
    async fn kv_put(
        conn: &mut Self::Connection,
        namespace: &str,
        key: &str,
        value: &Value,
    ) -> Result<()>;
    async fn kv_delete(conn: &mut Self::Connection, namespace: &str, key: &str) -> Result<bool>;
    async fn set_progress(
        conn: &mut Self::Connection,
        id: &str,
        attempt: u32,
        progress: f64,
    ) -> Result<()>;

    // --- modules and nodes ---

    async fn put_module(conn: &mut Self::Connection, hash: &str, bytes: &[u8]) -> Result<()>;
    async fn module(conn: &mut Self::Connection, hash: &str) -> Result<Option<Vec<u8>>>;
    async fn module_info(conn: &mut Self::Connection, hash: &str) -> Result<Option<ModuleInfo>>;
    async fn list_modules(conn: &mut Self::Connection) -> Result<Vec<ModuleInfo>>;
    async fn name_module(
        conn: &mut Self::Connection,
        name: &str,
        version: &str,
        hash: &str,
    ) -> Result<NameOutcome>;
    async fn module_names(conn: &mut Self::Connection, hash: &str) -> Result<Vec<String>>;
    async fn module_versions(
        conn: &mut Self::Connection,
        name: &str,
    ) -> Result<Vec<(String, String)>>;
    async fn heartbeat(conn: &mut Self::Connection, node: &NodeRecord) -> Result<()>;
    async fn nodes(conn: &mut Self::Connection) -> Result<Vec<NodeRecord>>;
    async fn forget_nodes(conn: &mut Self::Connection, silent_before: i64) -> Result<u64>;

    // --- sessions ---

    async fn insert_session(conn: &mut Self::Connection, new: &NewSession) -> Result<()>;
    async fn session(conn: &mut Self::Connection, id: &str) -> Result<Option<SessionRecord>>;
    async fn list_sessions(
        conn: &mut Self::Connection,
        filter: &SessionFilter,
    ) -> Result<Vec<SessionRecord>>;
    async fn open_sessions(conn: &mut Self::Connection) -> Result<u64>;
    async fn run_state(conn: &mut Self::Connection, id: &str) -> Result<Option<RunState>>;
    /// Count one more run of the session.
    async fn count_session_run(conn: &mut Self::Connection, id: &str) -> Result<()>;
    /// A run of the session ended at `now`: it is not idle from then.
    async fn touch_session(conn: &mut Self::Connection, id: &str, now: i64) -> Result<()>;
    /// Note the size of a run's new state, unless the session ended or was
    /// restarted since the run began (`generation`): whether it was noted,
    /// and so whether the state is to be stored.
    async fn size_session_state(
        conn: &mut Self::Connection,
        id: &str,
        generation: i64,
        bytes: u64,
    ) -> Result<bool>;
    /// The session's stored state: its token and bytes.
    async fn session_state(
        conn: &mut Self::Connection,
        id: &str,
    ) -> Result<Option<(String, Vec<u8>)>>;
    /// Store `state`, named `token`, as the session's state.
    async fn put_session_state(
        conn: &mut Self::Connection,
        id: &str,
        token: &str,
        state: &[u8],
    ) -> Result<()>;
    async fn delete_session_state(conn: &mut Self::Connection, id: &str) -> Result<()>;
    /// Insert `new` as a copy of open session `from`: whether it was.
    async fn copy_session(
        conn: &mut Self::Connection,
        from: &str,
        new: &NewSession,
    ) -> Result<bool>;
    /// Give session `to` a copy of session `from`'s `rows`.
    async fn copy_session_rows(
        conn: &mut Self::Connection,
        rows: SessionRows,
        from: &str,
        to: &str,
    ) -> Result<()>;
    /// A fresh interpreter for the session: no state, a new generation.
    /// (The state's row is deleted apart.)
    async fn forget_session_state(conn: &mut Self::Connection, id: &str) -> Result<()>;
    /// End open session `id`: whether it was open. (Its state's row is
    /// deleted apart.)
    async fn end_session(
        conn: &mut Self::Connection,
        id: &str,
        reason: EndReason,
        now: i64,
    ) -> Result<bool>;
    /// Delete session `id` (its labels go with it).
    async fn delete_session(conn: &mut Self::Connection, id: &str) -> Result<()>;
    /// The session's runs that are queued or running, in order.
    async fn pending_runs(conn: &mut Self::Connection, session_id: &str) -> Result<Vec<String>>;
    /// Up to `limit` open sessions with no run pending whose idle timeout
    /// or lifetime passed before `now`: id and lifetime's end.
    async fn expired_sessions(
        conn: &mut Self::Connection,
        now: i64,
        limit: u32,
    ) -> Result<Vec<(String, i64)>>;
    /// Delete up to `batch` sessions ended before `ended_before`: how many.
    async fn prune_sessions(
        conn: &mut Self::Connection,
        ended_before: i64,
        batch: u32,
        skip_locked: &str,
    ) -> Result<u64>;

    // --- artifacts ---

    async fn insert_artifact(
        conn: &mut Self::Connection,
        task_id: &str,
        info: &ArtifactInfo,
    ) -> Result<()>;
    async fn insert_artifact_chunk(
        conn: &mut Self::Connection,
        task_id: &str,
        path: &str,
        chunk: i64,
        bytes: &[u8],
    ) -> Result<()>;
    /// By path.
    async fn artifacts(conn: &mut Self::Connection, task_id: &str) -> Result<Vec<ArtifactInfo>>;
    async fn artifact(
        conn: &mut Self::Connection,
        task_id: &str,
        path: &str,
    ) -> Result<Option<ArtifactInfo>>;
    async fn artifact_chunk(
        conn: &mut Self::Connection,
        task_id: &str,
        path: &str,
        chunk: i64,
    ) -> Result<Option<Vec<u8>>>;
}

/// `query` with `params` bound in order.
fn bound<'q, DB, O>(
    mut query: sqlx::query::QueryAs<'q, DB, O, DB::Arguments<'q>>,
    params: Vec<Param>,
) -> sqlx::query::QueryAs<'q, DB, O, DB::Arguments<'q>>
where
    DB: Database,
    String: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
{
    for param in params {
        query = match param {
            Param::Text(text) => query.bind(text),
            Param::Int(n) => query.bind(n),
        };
    }
    query
}

/// The statuses of a task that has ended, as SQL.
const ENDED: &str = "('succeeded', 'failed', 'cancelled')";

#[async_trait]
impl<DB> Statements for DB
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> f64: Encode<'q, DB> + Type<DB>,
    for<'q> Vec<u8>: Encode<'q, DB> + Type<DB>,
    TaskRow: for<'r> FromRow<'r, DB::Row>,
    Held: for<'r> FromRow<'r, DB::Row>,
    ModuleRow: for<'r> FromRow<'r, DB::Row>,
    ArtifactRow: for<'r> FromRow<'r, DB::Row>,
    NodeRecord: for<'r> FromRow<'r, DB::Row>,
    SessionRow: for<'r> FromRow<'r, DB::Row>,
    (Option<String>, i64, i64): for<'r> FromRow<'r, DB::Row>,
    (String, Vec<u8>): for<'r> FromRow<'r, DB::Row>,
    (i64,): for<'r> FromRow<'r, DB::Row>,
    (String,): for<'r> FromRow<'r, DB::Row>,
    (Vec<u8>,): for<'r> FromRow<'r, DB::Row>,
    (String, bool): for<'r> FromRow<'r, DB::Row>,
    (String, String): for<'r> FromRow<'r, DB::Row>,
    (i64, String): for<'r> FromRow<'r, DB::Row>,
    (String, i64): for<'r> FromRow<'r, DB::Row>,
    (String, Option<String>): for<'r> FromRow<'r, DB::Row>,
    (i64, String, i64): for<'r> FromRow<'r, DB::Row>,
    (String, i64, i64): for<'r> FromRow<'r, DB::Row>,
    (String, i64, String, Option<String>, i64): for<'r> FromRow<'r, DB::Row>,
    (i64, i64): for<'r> FromRow<'r, DB::Row>,
    (i64, i64, i64): for<'r> FromRow<'r, DB::Row>,
{
    async fn ping(conn: &mut Self::Connection) -> Result<()> {
        sqlx::query("SELECT 1").execute(&mut *conn).await?;
        Ok(())
    }

    async fn lock_row(conn: &mut Self::Connection, lock: &str, id: &str) -> Result<bool> {
        let held: Option<(String,)> = sqlx::query_as(lock)
            .bind(id.to_owned())
            .fetch_optional(&mut *conn)
            .await?;
        Ok(held.is_some())
    }

    async fn lock_expired(
        conn: &mut Self::Connection,
        lock: &str,
        moment: i64,
    ) -> Result<Vec<(String, u32)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(lock)
            .bind(moment)
            .fetch_all(&mut *conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, attempt)| (id, attempt as u32))
            .collect())
    }

    async fn insert_task(
        conn: &mut Self::Connection,
        task: &NewTask,
        session_run: Option<i64>,
        waiting: bool,
    ) -> Result<Option<TaskRecord>> {
        let start = task.initial_state(waiting);
        let row: Option<TaskRow> = sqlx::query_as(&format!(
            "INSERT INTO tasks (id, status, attempt, lease_owner, lease_expires_at, started_at, runtime, \
             request, request_hash, idempotency_key, priority, labels, max_attempts, run_after, created_at, \
             session_id, session_run, batch_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, $16, $17) \
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING {TASK_COLUMNS}",
        ))
        .bind(task.id.clone())
        .bind(start.status.name().to_owned())
        .bind(start.attempt)
        .bind(start.lease_owner)
        .bind(start.lease_expires_at)
        .bind(start.started_at)
        .bind(task.request.runtime.name().to_owned())
        .bind(serde_json::to_string(&task.request)?)
        .bind(task.request_hash.clone())
        .bind(task.request.idempotency_key.clone())
        .bind(i64::from(task.request.priority))
        .bind(labels_json(&task.request.labels))
        .bind(i64::from(task.max_attempts))
        .bind(task.created_at)
        .bind(task.session_id.clone())
        .bind(session_run)
        .bind(task.batch_id.clone())
        .fetch_optional(&mut *conn)
        .await?;
        row.map(TaskRecord::try_from).transpose()
    }

    async fn insert_dependency(
        conn: &mut Self::Connection,
        task_id: &str,
        depends_on: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO task_dependencies (task_id, depends_on) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(task_id.to_owned())
        .bind(depends_on.to_owned())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn waiting_dependents(conn: &mut Self::Connection, id: &str) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT d.task_id FROM task_dependencies d JOIN tasks t ON t.id = d.task_id \
             WHERE d.depends_on = $1 AND t.status = 'waiting' ORDER BY d.task_id",
        )
        .bind(id.to_owned())
        .fetch_all(&mut *conn)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    async fn dependencies_of(
        conn: &mut Self::Connection,
        id: &str,
    ) -> Result<Vec<(String, Option<String>)>> {
        Ok(sqlx::query_as(
            "SELECT d.depends_on, t.status FROM task_dependencies d \
             LEFT JOIN tasks t ON t.id = d.depends_on WHERE d.task_id = $1 ORDER BY d.depends_on",
        )
        .bind(id.to_owned())
        .fetch_all(&mut *conn)
        .await?)
    }

    async fn release_waiting(conn: &mut Self::Connection, id: &str, run_after: i64) -> Result<()> {
        sqlx::query("UPDATE tasks SET status = 'queued', run_after = $2 WHERE id = $1 AND status = 'waiting'")
            .bind(id.to_owned())
            .bind(run_after)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    async fn insert_labels(
        conn: &mut Self::Connection,
        labelled: Labelled,
        owner: &str,
        labels: &std::collections::BTreeMap<String, String>,
    ) -> Result<()> {
        let Some(q) = labelled.insert(owner, labels) else {
            return Ok(());
        };
        let _: Vec<(String,)> = bound(sqlx::query_as(&q.text), q.params)
            .fetch_all(&mut *conn)
            .await?;
        Ok(())
    }

    async fn task(conn: &mut Self::Connection, lookup: Lookup<'_>) -> Result<Option<TaskRecord>> {
        let (column, value) = match lookup {
            Lookup::Id(id) => ("id", id),
            Lookup::IdempotencyKey(key) => ("idempotency_key", key),
        };
        let row: Option<TaskRow> = sqlx::query_as(&format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE {column} = $1"
        ))
        .bind(value.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
        row.map(TaskRecord::try_from).transpose()
    }

    async fn list_tasks(
        conn: &mut Self::Connection,
        filter: &TaskFilter,
    ) -> Result<Vec<TaskRecord>> {
        let mut q = Sql::new(format!("SELECT {TASK_COLUMNS} FROM tasks WHERE 1 = 1"));
        filter.push_conditions(&mut q);
        let rows: Vec<TaskRow> = bound(sqlx::query_as(&q.text), q.params)
            .fetch_all(&mut *conn)
            .await?;
        rows.into_iter().map(TaskRecord::try_from).collect()
    }

    async fn queue_depth(conn: &mut Self::Connection) -> Result<QueueDepth> {
        // Each count is answered by its status's partial index.
        let (waiting, queued, running): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM tasks WHERE status = 'waiting'), \
             (SELECT COUNT(*) FROM tasks WHERE status = 'queued'), \
             (SELECT COUNT(*) FROM tasks WHERE status = 'running')",
        )
        .fetch_one(&mut *conn)
        .await?;
        Ok(QueueDepth {
            waiting: waiting as u64,
            queued: queued as u64,
            running: running as u64,
        })
    }

    async fn ended_since(
        conn: &mut Self::Connection,
        since: i64,
        interval_ms: i64,
    ) -> Result<Vec<(i64, String, i64)>> {
        // Answered by the index on `finished_at`.
        Ok(sqlx::query_as(
            "SELECT (finished_at - $1) / $2 AS interval, status, COUNT(*) FROM tasks \
             WHERE finished_at >= $1 GROUP BY interval, status",
        )
        .bind(since)
        .bind(interval_ms)
        .fetch_all(&mut *conn)
        .await?)
    }

    async fn batch_ids(
        conn: &mut Self::Connection,
        before_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>> {
        let mut q = Sql::new("SELECT DISTINCT batch_id FROM tasks WHERE batch_id IS NOT NULL");
        if let Some(id) = before_id {
            q.push(" AND batch_id < ").bind(id.to_owned());
        }
        q.push(" ORDER BY batch_id DESC LIMIT ")
            .bind(i64::from(limit));
        let rows: Vec<(String,)> = bound(sqlx::query_as(&q.text), q.params)
            .fetch_all(&mut *conn)
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    async fn batch_counts(
        conn: &mut Self::Connection,
        id: &str,
    ) -> Result<Vec<(String, i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT status, COUNT(*), MIN(created_at) FROM tasks WHERE batch_id = $1 GROUP BY status",
        )
        .bind(id.to_owned())
        .fetch_all(&mut *conn)
        .await?)
    }

    async fn newest_task_id(conn: &mut Self::Connection) -> Result<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT id FROM tasks ORDER BY created_at DESC, id DESC LIMIT 1")
                .fetch_optional(&mut *conn)
                .await?;
        Ok(row.map(|(id,)| id))
    }

    async fn claim_queued(
        conn: &mut Self::Connection,
        owner: &str,
        lease_until: i64,
        limit: usize,
        skip_locked: &str,
    ) -> Result<Vec<Claimed>> {
        // One statement picks and leases the batch. A session's run waits
        // for the session's earlier runs to end.
        let rows: Vec<(String, i64, String, Option<String>, i64)> = sqlx::query_as(&format!(
            "UPDATE tasks SET status = 'running', attempt = attempt + 1, lease_owner = $1, \
             lease_expires_at = $2, started_at = $3 \
             FROM (SELECT id AS picked_id FROM tasks q WHERE status = 'queued' AND run_after <= $3 \
                   AND (session_id IS NULL OR NOT EXISTS (SELECT 1 FROM tasks e \
                        WHERE e.session_id = q.session_id AND e.session_run < q.session_run \
                        AND e.status IN ('queued', 'running'))) \
                   ORDER BY priority DESC, created_at, id LIMIT $4{skip_locked}) AS picked \
             WHERE id = picked.picked_id RETURNING id, attempt, request, session_id, created_at"
        ))
        .bind(owner.to_owned())
        .bind(lease_until)
        .bind(now_ms())
        .bind(limit as i64)
        .fetch_all(&mut *conn)
        .await?;
        rows.into_iter()
            .map(|(id, attempt, request, session_id, created_at)| {
                Ok(Claimed {
                    id,
                    attempt: attempt as u32,
                    request: serde_json::from_str(&request)?,
                    session_id,
                    created_at,
                })
            })
            .collect()
    }

    async fn renew(
        conn: &mut Self::Connection,
        owner: &str,
        held: &[(String, u32)],
        lease_until: i64,
    ) -> Result<Vec<Renewed>> {
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = Sql::new("UPDATE tasks SET lease_expires_at = ");
        q.bind(lease_until)
            .push(" WHERE status = 'running' AND lease_owner = ")
            .bind(owner.to_owned())
            .push(" AND (");
        for (i, (id, attempt)) in held.iter().enumerate() {
            q.push(if i == 0 { "(id = " } else { " OR (id = " })
                .bind(id.clone())
                .push(" AND attempt = ")
                .bind(i64::from(*attempt))
                .push(")");
        }
        q.push(") RETURNING id, cancel_requested");
        let rows: Vec<(String, bool)> = bound(sqlx::query_as(&q.text), q.params)
            .fetch_all(&mut *conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, cancel_requested)| Renewed {
                id,
                cancel_requested,
            })
            .collect())
    }

    async fn finish_run(
        conn: &mut Self::Connection,
        id: &str,
        attempt: u32,
        owner: &str,
        end: &RunEnd<'_>,
    ) -> Result<bool> {
        let updated: Option<(String,)> = sqlx::query_as(
            "UPDATE tasks SET status = $1, result = $2, error = $3, finished_at = $4, lease_owner = NULL, \
             lease_expires_at = NULL WHERE id = $5 AND attempt = $6 AND lease_owner = $7 AND status = 'running' \
             RETURNING id",
        )
        .bind(end.status.name().to_owned())
        .bind(end.result.map(serde_json::to_string).transpose()?)
        .bind(end.error.map(str::to_owned))
        .bind(now_ms())
        .bind(id.to_owned())
        .bind(i64::from(attempt))
        .bind(owner.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
        Ok(updated.is_some())
    }

    async fn held(conn: &mut Self::Connection, id: &str, attempt: u32) -> Result<Option<Held>> {
        Ok(sqlx::query_as(
            "SELECT max_attempts, cancel_requested, lease_owner FROM tasks \
             WHERE id = $1 AND attempt = $2 AND status = 'running'",
        )
        .bind(id.to_owned())
        .bind(i64::from(attempt))
        .fetch_optional(&mut *conn)
        .await?)
    }

    async fn end_task(conn: &mut Self::Connection, id: &str, ending: Ending<'_>) -> Result<()> {
        sqlx::query(
            "UPDATE tasks SET status = $1, error = COALESCE($2, error), finished_at = $3, \
             lease_owner = NULL, lease_expires_at = NULL WHERE id = $4",
        )
        .bind(ending.status.name().to_owned())
        .bind(ending.error.map(str::to_owned))
        .bind(now_ms())
        .bind(id.to_owned())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn requeue(
        conn: &mut Self::Connection,
        id: &str,
        attempt: u32,
        run_after: i64,
        error: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE tasks SET status = 'queued', attempt = $1, run_after = $2, error = $3, \
             lease_owner = NULL, lease_expires_at = NULL WHERE id = $4",
        )
        .bind(i64::from(attempt))
        .bind(run_after)
        .bind(error.to_owned())
        .bind(id.to_owned())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn request_cancel(conn: &mut Self::Connection, id: &str) -> Result<()> {
        sqlx::query("UPDATE tasks SET cancel_requested = TRUE WHERE id = $1")
            .bind(id.to_owned())
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    async fn delete_ended(conn: &mut Self::Connection, id: &str) -> Result<bool> {
        let gone: Option<(String,)> = sqlx::query_as(&format!(
            "DELETE FROM tasks WHERE id = $1 AND status IN {ENDED} RETURNING id"
        ))
        .bind(id.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
        Ok(gone.is_some())
    }

    async fn status(conn: &mut Self::Connection, id: &str) -> Result<Option<TaskStatus>> {
        let row: Option<(String,)> = sqlx::query_as("SELECT status FROM tasks WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(&mut *conn)
            .await?;
        row.map(|(status,)| {
            TaskStatus::parse(&status)
                .ok_or_else(|| StorageError::Corrupt(format!("status `{status}`")))
        })
        .transpose()
    }

    async fn prune(
        conn: &mut Self::Connection,
        ended_before: i64,
        batch: u32,
        skip_locked: &str,
    ) -> Result<u64> {
        let gone: Vec<(String,)> = sqlx::query_as(&format!(
            "DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE finished_at < $1 \
             AND status IN {ENDED} LIMIT $2{skip_locked}) RETURNING id"
        ))
        .bind(ended_before)
        .bind(i64::from(batch))
        .fetch_all(&mut *conn)
        .await?;
        Ok(gone.len() as u64)
    }

    async fn events_after(
        conn: &mut Self::Connection,
        task_id: &str,
        after: i64,
        number_column: &str,
    ) -> Result<Vec<(i64, TaskEvent)>> {
        let n = number_column;
        let rows: Vec<(i64, String)> = sqlx::query_as(&format!(
            "SELECT {n}, data FROM task_events WHERE task_id = $1 AND {n} > $2 ORDER BY {n}"
        ))
        .bind(task_id.to_owned())
        .bind(after)
        .fetch_all(&mut *conn)
        .await?;
        rows.into_iter()
            .map(|(n, data)| Ok((n, serde_json::from_str(&data)?)))
            .collect()
    }

    async fn kv_get(
        conn: &mut Self::Connection,
        namespace: &str,
        key: &str,
    ) -> Result<Option<Value>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT value FROM kv WHERE namespace = $1 AND key = $2")
                .bind(namespace.to_owned())
                .bind(key.to_owned())
                .fetch_optional(&mut *conn)
                .await?;
        row.map(|(text,)| serde_json::from_str(&text).map_err(StorageError::from))
            .transpose()
    }

    async fn kv_put(
        conn: &mut Self::Connection,
        namespace: &str,
        key: &str,
        value: &Value,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO kv (namespace, key, value, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(namespace.to_owned())
        .bind(key.to_owned())
        .bind(value.to_string())
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn kv_delete(conn: &mut Self::Connection, namespace: &str, key: &str) -> Result<bool> {
        let gone: Option<(String,)> =
            sqlx::query_as("DELETE FROM kv WHERE namespace = $1 AND key = $2 RETURNING key")
                .bind(namespace.to_owned())
                .bind(key.to_owned())
                .fetch_optional(&mut *conn)
                .await?;
        Ok(gone.is_some())
    }

    async fn set_progress(
        conn: &mut Self::Connection,
        id: &str,
        attempt: u32,
        progress: f64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE tasks SET progress = $1 WHERE id = $2 AND attempt = $3 AND status = 'running'",
        )
        .bind(progress)
        .bind(id.to_owned())
        .bind(i64::from(attempt))
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn put_module(conn: &mut Self::Connection, hash: &str, bytes: &[u8]) -> Result<()> {
        sqlx::query(
            "INSERT INTO modules (hash, size, bytes, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(hash.to_owned())
        .bind(bytes.len() as i64)
        .bind(bytes.to_vec())
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn module(conn: &mut Self::Connection, hash: &str) -> Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as("SELECT bytes FROM modules WHERE hash = $1")
            .bind(hash.to_owned())
            .fetch_optional(&mut *conn)
            .await?;
        Ok(row.map(|(bytes,)| bytes))
    }

    async fn module_info(conn: &mut Self::Connection, hash: &str) -> Result<Option<ModuleInfo>> {
        let row: Option<ModuleRow> =
            sqlx::query_as("SELECT hash, size, created_at FROM modules WHERE hash = $1")
                .bind(hash.to_owned())
                .fetch_optional(&mut *conn)
                .await?;
        Ok(row.map(ModuleInfo::from))
    }

    async fn list_modules(conn: &mut Self::Connection) -> Result<Vec<ModuleInfo>> {
        let rows: Vec<ModuleRow> =
            sqlx::query_as("SELECT hash, size, created_at FROM modules ORDER BY created_at DESC")
                .fetch_all(&mut *conn)
                .await?;
        Ok(rows.into_iter().map(ModuleInfo::from).collect())
    }

    async fn name_module(
        conn: &mut Self::Connection,
        name: &str,
        version: &str,
        hash: &str,
    ) -> Result<NameOutcome> {
        sqlx::query(
            "INSERT INTO module_names (name, version, hash, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name, version) DO NOTHING",
        )
        .bind(name.to_owned())
        .bind(version.to_owned())
        .bind(hash.to_owned())
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
        let (holder,): (String,) =
            sqlx::query_as("SELECT hash FROM module_names WHERE name = $1 AND version = $2")
                .bind(name.to_owned())
                .bind(version.to_owned())
                .fetch_one(&mut *conn)
                .await?;
        Ok(if holder == hash {
            NameOutcome::Named
        } else {
            NameOutcome::Taken { hash: holder }
        })
    }

    async fn module_names(conn: &mut Self::Connection, hash: &str) -> Result<Vec<String>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, version FROM module_names WHERE hash = $1 ORDER BY name, version",
        )
        .bind(hash.to_owned())
        .fetch_all(&mut *conn)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(name, version)| format!("{name}@{version}"))
            .collect())
    }

    async fn module_versions(
        conn: &mut Self::Connection,
        name: &str,
    ) -> Result<Vec<(String, String)>> {
        Ok(
            sqlx::query_as("SELECT version, hash FROM module_names WHERE name = $1")
                .bind(name.to_owned())
                .fetch_all(&mut *conn)
                .await?,
        )
    }

    async fn heartbeat(conn: &mut Self::Connection, node: &NodeRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO nodes (id, address, slots, running, started_at, last_heartbeat) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET \
             running = excluded.running, last_heartbeat = excluded.last_heartbeat",
        )
        .bind(node.id.clone())
        .bind(node.address.clone())
        .bind(node.slots)
        .bind(node.running)
        .bind(node.started_at)
        .bind(node.last_heartbeat)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn nodes(conn: &mut Self::Connection) -> Result<Vec<NodeRecord>> {
        Ok(
            sqlx::query_as("SELECT * FROM nodes ORDER BY started_at, id")
                .fetch_all(&mut *conn)
                .await?,
        )
    }

    async fn forget_nodes(conn: &mut Self::Connection, silent_before: i64) -> Result<u64> {
        let gone: Vec<(String,)> =
            sqlx::query_as("DELETE FROM nodes WHERE last_heartbeat < $1 RETURNING id")
                .bind(silent_before)
                .fetch_all(&mut *conn)
                .await?;
        Ok(gone.len() as u64)
    }

    async fn insert_session(conn: &mut Self::Connection, new: &NewSession) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id, settings, labels, memory_bytes, max_state_bytes, idle_timeout_ms, \
             ttl_ms, created_at, ends_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(new.id.clone())
        .bind(serde_json::to_string(&new.settings)?)
        .bind(labels_json(&new.settings.labels))
        .bind(new.settings.memory_bytes.unwrap_or(0) as i64)
        .bind(new.settings.max_state_bytes.unwrap_or(0) as i64)
        .bind(new.idle_timeout_ms())
        .bind(new.ttl_ms())
        .bind(new.created_at)
        .bind(new.created_at + new.ttl_ms())
        .bind(new.expires_at())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn session(conn: &mut Self::Connection, id: &str) -> Result<Option<SessionRecord>> {
        let row: Option<SessionRow> = sqlx::query_as(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"
        ))
        .bind(id.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
        row.map(SessionRecord::try_from).transpose()
    }

    async fn list_sessions(
        conn: &mut Self::Connection,
        filter: &SessionFilter,
    ) -> Result<Vec<SessionRecord>> {
        let mut q = Sql::new(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE 1 = 1"
        ));
        filter.push_conditions(&mut q);
        let rows: Vec<SessionRow> = bound(sqlx::query_as(&q.text), q.params)
            .fetch_all(&mut *conn)
            .await?;
        rows.into_iter().map(SessionRecord::try_from).collect()
    }

    async fn open_sessions(conn: &mut Self::Connection) -> Result<u64> {
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL")
                .fetch_one(&mut *conn)
                .await?;
        Ok(count as u64)
    }

    async fn run_state(conn: &mut Self::Connection, id: &str) -> Result<Option<RunState>> {
        let row: Option<(Option<String>, i64, i64)> = sqlx::query_as(
            "SELECT st.token, s.generation, s.max_state_bytes FROM sessions s \
             LEFT JOIN session_states st ON st.session_id = s.id \
             WHERE s.id = $1 AND s.ended_at IS NULL",
        )
        .bind(id.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
        Ok(row.map(|(token, generation, max_state_bytes)| RunState {
            token,
            generation,
            max_state_bytes: max_state_bytes as u64,
        }))
    }

    async fn count_session_run(conn: &mut Self::Connection, id: &str) -> Result<()> {
        sqlx::query("UPDATE sessions SET runs = runs + 1 WHERE id = $1")
            .bind(id.to_owned())
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    async fn touch_session(conn: &mut Self::Connection, id: &str, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE sessions SET last_run_at = $1, expires_at = CASE WHEN $1 + idle_timeout_ms < ends_by \
             THEN $1 + idle_timeout_ms ELSE ends_by END WHERE id = $2 AND ended_at IS NULL",
        )
        .bind(now)
        .bind(id.to_owned())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn size_session_state(
        conn: &mut Self::Connection,
        id: &str,
        generation: i64,
        bytes: u64,
    ) -> Result<bool> {
        let sized: Option<(String,)> = sqlx::query_as(
            "UPDATE sessions SET state_bytes = $1 \
             WHERE id = $2 AND generation = $3 AND ended_at IS NULL RETURNING id",
        )
        .bind(bytes as i64)
        .bind(id.to_owned())
        .bind(generation)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(sized.is_some())
    }

    async fn session_state(
        conn: &mut Self::Connection,
        id: &str,
    ) -> Result<Option<(String, Vec<u8>)>> {
        Ok(
            sqlx::query_as("SELECT token, state FROM session_states WHERE session_id = $1")
                .bind(id.to_owned())
                .fetch_optional(&mut *conn)
                .await?,
        )
    }

    async fn put_session_state(
        conn: &mut Self::Connection,
        id: &str,
        token: &str,
        state: &[u8],
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO session_states (session_id, token, state) VALUES ($1, $2, $3) \
             ON CONFLICT (session_id) DO UPDATE SET token = excluded.token, state = excluded.state",
        )
        .bind(id.to_owned())
        .bind(token.to_owned())
        .bind(state.to_vec())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn delete_session_state(conn: &mut Self::Connection, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM session_states WHERE session_id = $1")
            .bind(id.to_owned())
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    async fn copy_session(
        conn: &mut Self::Connection,
        from: &str,
        new: &NewSession,
    ) -> Result<bool> {
        let copied: Option<(String,)> = sqlx::query_as(
            "INSERT INTO sessions (id, settings, labels, memory_bytes, max_state_bytes, idle_timeout_ms, \
             ttl_ms, created_at, ends_by, expires_at, state_bytes, forked_from) \
             SELECT $1, settings, labels, memory_bytes, max_state_bytes, idle_timeout_ms, ttl_ms, $2, \
             $2 + ttl_ms, CASE WHEN idle_timeout_ms < ttl_ms THEN $2 + idle_timeout_ms ELSE $2 + ttl_ms END, \
             state_bytes, id FROM sessions WHERE id = $3 AND ended_at IS NULL RETURNING id",
        )
        .bind(new.id.clone())
        .bind(new.created_at)
        .bind(from.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
        Ok(copied.is_some())
    }

    async fn copy_session_rows(
        conn: &mut Self::Connection,
        rows: SessionRows,
        from: &str,
        to: &str,
    ) -> Result<()> {
        sqlx::query(rows.copy())
            .bind(to.to_owned())
            .bind(from.to_owned())
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    async fn forget_session_state(conn: &mut Self::Connection, id: &str) -> Result<()> {
        sqlx::query(
            "UPDATE sessions SET state_bytes = 0, generation = generation + 1 \
             WHERE id = $1",
        )
        .bind(id.to_owned())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn end_session(
        conn: &mut Self::Connection,
        id: &str,
        reason: EndReason,
        now: i64,
    ) -> Result<bool> {
        let ended: Option<(String,)> = sqlx::query_as(
            "UPDATE sessions SET ended_at = $1, end_reason = $2, state_bytes = 0 \
             WHERE id = $3 AND ended_at IS NULL RETURNING id",
        )
        .bind(now)
        .bind(reason.name().to_owned())
        .bind(id.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
        Ok(ended.is_some())
    }

    async fn delete_session(conn: &mut Self::Connection, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.to_owned())
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    async fn pending_runs(conn: &mut Self::Connection, session_id: &str) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM tasks WHERE session_id = $1 AND status IN ('queued', 'running') \
             ORDER BY session_run",
        )
        .bind(session_id.to_owned())
        .fetch_all(&mut *conn)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    async fn expired_sessions(
        conn: &mut Self::Connection,
        now: i64,
        limit: u32,
    ) -> Result<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT id, ends_by FROM sessions WHERE ended_at IS NULL AND expires_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.session_id = sessions.id \
             AND t.status IN ('queued', 'running')) ORDER BY expires_at LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?)
    }

    async fn prune_sessions(
        conn: &mut Self::Connection,
        ended_before: i64,
        batch: u32,
        skip_locked: &str,
    ) -> Result<u64> {
        let gone: Vec<(String,)> = sqlx::query_as(&format!(
            "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE ended_at < $1 \
             LIMIT $2{skip_locked}) RETURNING id"
        ))
        .bind(ended_before)
        .bind(i64::from(batch))
        .fetch_all(&mut *conn)
        .await?;
        Ok(gone.len() as u64)
    }

    async fn insert_artifact(
        conn: &mut Self::Connection,
        task_id: &str,
        info: &ArtifactInfo,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO artifacts (task_id, path, size, sha256, media_type) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(task_id.to_owned())
        .bind(info.path.clone())
        .bind(i64::try_from(info.size).unwrap_or(i64::MAX))
        .bind(info.sha256.clone())
        .bind(info.media_type.clone())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn insert_artifact_chunk(
        conn: &mut Self::Connection,
        task_id: &str,
        path: &str,
        chunk: i64,
        bytes: &[u8],
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO artifact_chunks (task_id, path, chunk, bytes) VALUES ($1, $2, $3, $4)",
        )
        .bind(task_id.to_owned())
        .bind(path.to_owned())
        .bind(chunk)
        .bind(bytes.to_vec())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn artifacts(conn: &mut Self::Connection, task_id: &str) -> Result<Vec<ArtifactInfo>> {
        let rows: Vec<ArtifactRow> = sqlx::query_as(
            "SELECT path, size, sha256, media_type FROM artifacts \
             WHERE task_id = $1 ORDER BY path",
        )
        .bind(task_id.to_owned())
        .fetch_all(&mut *conn)
        .await?;
        Ok(rows.into_iter().map(ArtifactInfo::from).collect())
    }

    async fn artifact(
        conn: &mut Self::Connection,
        task_id: &str,
        path: &str,
    ) -> Result<Option<ArtifactInfo>> {
        let row: Option<ArtifactRow> = sqlx::query_as(
            "SELECT path, size, sha256, media_type FROM artifacts \
             WHERE task_id = $1 AND path = $2",
        )
        .bind(task_id.to_owned())
        .bind(path.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
        Ok(row.map(ArtifactInfo::from))
    }

    async fn artifact_chunk(
        conn: &mut Self::Connection,
        task_id: &str,
        path: &str,
        chunk: i64,
    ) -> Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as(
            "SELECT bytes FROM artifact_chunks WHERE task_id = $1 AND path = $2 AND chunk = $3",
        )
        .bind(task_id.to_owned())
        .bind(path.to_owned())
        .bind(chunk)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(row.map(|(bytes,)| bytes))
    }
}
