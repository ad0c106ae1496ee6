//! The embedded default: one SQLite file in WAL mode.
//!
//! SQLite serves one server process: the file is locked while a server
//! runs, so a second one refuses to start instead of silently sharing the
//! queue. Several nodes share a queue through Postgres.

use std::fs::File;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sandrun_api::{TaskEvent, TaskStatus};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{FromRow, QueryBuilder, Row, Sqlite, SqlitePool, Transaction};

use super::record::{TASK_COLUMNS, TaskFilter, TaskRecord, TaskRow, labels_json};
use super::release::{NODE_STOPPED, Release};
use super::shared::{GuestStore, Registry, Shared};
use super::{
    Cancelled, Claimed, Deleted, Inserted, NewTask, Renewed, RunEnd, Storage, StorageError, now_ms,
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

#[derive(Debug, Clone)]
pub struct SqliteStorage {
    pool: SqlitePool,
    shared: Shared<sqlx::Sqlite>,
    /// Held for the life of the storage: the file's one server.
    _lock: std::sync::Arc<File>,
}

impl SqliteStorage {
    /// Open (creating if needed) the database at `path` and bring its
    /// schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StorageError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StorageError::Database(sqlx::Error::Io(e)))?;
        }
        let lock_path = path.with_extension("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StorageError::Database(sqlx::Error::Io(e)))?;
        if lock.try_lock().is_err() {
            return Err(StorageError::Locked(path.to_owned()));
        }
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStorage {
            shared: Shared(pool.clone()),
            pool,
            _lock: std::sync::Arc::new(lock),
        })
    }
}

fn decode(row: &SqliteRow) -> Result<TaskRecord, StorageError> {
    TaskRow::from_row(row)?.try_into()
}

async fn task_in(
    tx: &mut Transaction<'_, Sqlite>,
    id: &str,
) -> Result<Option<TaskRecord>, StorageError> {
    let row = sqlx::query(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(decode).transpose()
}

async fn event_in(
    tx: &mut Transaction<'_, Sqlite>,
    task_id: &str,
    event: &TaskEvent,
) -> Result<(), StorageError> {
    events_in(tx, task_id, std::slice::from_ref(event)).await
}

/// Append `events` to the task's in one statement, in order.
async fn events_in(
    tx: &mut Transaction<'_, Sqlite>,
    task_id: &str,
    events: &[TaskEvent],
) -> Result<(), StorageError> {
    if events.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    let rows = events
        .iter()
        .map(|event| serde_json::to_string(event).map(|data| (data, now)))
        .collect::<Result<Vec<_>, _>>()?;
    QueryBuilder::<Sqlite>::new("INSERT INTO task_events (task_id, data, created_at) ")
        .push_values(rows, |mut row, (data, created_at)| {
            row.push_bind(task_id).push_bind(data).push_bind(created_at);
        })
        .build()
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Release one held task inside `tx`; see [`Storage::release`].
async fn release_in(
    tx: &mut Transaction<'_, Sqlite>,
    id: &str,
    attempt: u32,
    retry_after: Duration,
    error: &str,
    counts: bool,
) -> Result<bool, StorageError> {
    let row = sqlx::query(
        "SELECT max_attempts FROM tasks WHERE id = ? AND attempt = ? AND status = 'running'",
    )
    .bind(id)
    .bind(attempt as i64)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(false) };
    let max_attempts = row.try_get::<i64, _>("max_attempts")? as u32;
    let plan = Release::plan(attempt, max_attempts, retry_after, error, counts);
    match &plan {
        Release::Fail { error } => {
            sqlx::query(
                "UPDATE tasks SET status = 'failed', error = ?, finished_at = ?, lease_owner = NULL, \
                 lease_expires_at = NULL WHERE id = ?",
            )
            .bind(error)
            .bind(now_ms())
            .bind(id)
            .execute(&mut **tx)
            .await?;
        }
        Release::Requeue {
            attempt,
            run_after,
            error,
        } => {
            sqlx::query(
                "UPDATE tasks SET status = 'queued', attempt = ?, run_after = ?, error = ?, lease_owner = NULL, \
                 lease_expires_at = NULL WHERE id = ?",
            )
            .bind(*attempt as i64)
            .bind(run_after)
            .bind(error)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        }
    }
    event_in(tx, id, &plan.event(attempt)).await?;
    Ok(true)
}

#[async_trait]
impl Storage for SqliteStorage {
    async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn insert_tasks(&self, tasks: Vec<NewTask>) -> Result<Vec<Inserted>, StorageError> {
        let mut tx = self.pool.begin().await?;
        let mut inserted = Vec::with_capacity(tasks.len());
        for task in tasks {
            let (status, attempt, lease_owner, lease_expires_at, started_at) = task.initial_state();
            let row = sqlx::query(&format!(
                "INSERT INTO tasks (id, status, attempt, lease_owner, lease_expires_at, started_at, runtime, \
                 request, request_hash, idempotency_key, priority, labels, max_attempts, run_after, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (idempotency_key) DO NOTHING RETURNING {TASK_COLUMNS}",
            ))
            .bind(&task.id)
            .bind(status.name())
            .bind(attempt)
            .bind(lease_owner)
            .bind(lease_expires_at)
            .bind(started_at)
            .bind(task.request.runtime.name())
            .bind(serde_json::to_string(&task.request)?)
            .bind(&task.request_hash)
            .bind(&task.request.idempotency_key)
            .bind(task.request.priority)
            .bind(labels_json(&task.request.labels))
            .bind(task.max_attempts as i64)
            .bind(task.created_at)
            .bind(task.created_at)
            .fetch_optional(&mut *tx)
            .await?;
            // The insert comes first, so the transaction writes before it
            // reads (see `cancel`); a taken key inserts nothing.
            let Some(row) = row else {
                let key = task.request.idempotency_key.clone().unwrap_or_default();
                let id: Option<String> =
                    sqlx::query_scalar("SELECT id FROM tasks WHERE idempotency_key = ?")
                        .bind(&key)
                        .fetch_optional(&mut *tx)
                        .await?;
                let record = match id {
                    Some(id) => task_in(&mut tx, &id).await?,
                    None => None,
                }
                .ok_or_else(|| StorageError::Corrupt("idempotent task vanished".into()))?;
                if record.request_hash != task.request_hash {
                    return Err(StorageError::IdempotencyConflict(key));
                }
                inserted.push(Inserted::Existing(record));
                continue;
            };
            let record = decode(&row)?;
            for (key, value) in &task.request.labels {
                sqlx::query("INSERT INTO task_labels (task_id, key, value) VALUES (?, ?, ?)")
                    .bind(&task.id)
                    .bind(key)
                    .bind(value)
                    .execute(&mut *tx)
                    .await?;
            }
            events_in(&mut tx, &task.id, &task.initial_events()).await?;
            inserted.push(Inserted::Created(record));
        }
        tx.commit().await?;
        Ok(inserted)
    }

    async fn task(&self, id: &str) -> Result<Option<TaskRecord>, StorageError> {
        let row = sqlx::query(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(decode).transpose()
    }

    async fn list_tasks(&self, filter: &TaskFilter) -> Result<Vec<TaskRecord>, StorageError> {
        let mut q =
            QueryBuilder::<Sqlite>::new(format!("SELECT {TASK_COLUMNS} FROM tasks WHERE 1 = 1"));
        filter.push_conditions(&mut q);
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter().map(decode).collect()
    }

    async fn queued_count(&self) -> Result<u64, StorageError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE status = 'queued'")
            .fetch_one(&self.pool)
            .await?;
        Ok(count as u64)
    }

    async fn claim(
        &self,
        owner: &str,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<Claimed>, StorageError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "UPDATE tasks SET status = 'running', attempt = attempt + 1, lease_owner = ?, lease_expires_at = ?, \
             started_at = ? WHERE id IN (SELECT id FROM tasks WHERE status = 'queued' AND run_after <= ? \
             ORDER BY priority DESC, created_at, id LIMIT ?) RETURNING id, attempt, request",
        )
        .bind(owner)
        .bind(now + lease.as_millis() as i64)
        .bind(now)
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            let request: String = row.try_get("request")?;
            let task = Claimed {
                id: row.try_get("id")?,
                attempt: row.try_get::<i64, _>("attempt")? as u32,
                request: serde_json::from_str(&request)?,
            };
            event_in(
                &mut tx,
                &task.id,
                &TaskEvent::Status {
                    status: TaskStatus::Running,
                    attempt: task.attempt,
                },
            )
            .await?;
            claimed.push(task);
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
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = QueryBuilder::<Sqlite>::new("UPDATE tasks SET lease_expires_at = ");
        q.push_bind(now_ms() + lease.as_millis() as i64)
            .push(" WHERE status = 'running' AND lease_owner = ")
            .push_bind(owner.to_owned())
            .push(" AND (");
        for (i, (id, attempt)) in held.iter().enumerate() {
            if i > 0 {
                q.push(" OR ");
            }
            q.push("(id = ")
                .push_bind(id.clone())
                .push(" AND attempt = ")
                .push_bind(*attempt as i64)
                .push(")");
        }
        q.push(") RETURNING id, cancel_requested");
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(Renewed {
                    id: row.try_get("id")?,
                    cancel_requested: row.try_get::<i64, _>("cancel_requested")? != 0,
                })
            })
            .collect()
    }

    async fn finish(
        &self,
        id: &str,
        attempt: u32,
        owner: &str,
        end: RunEnd<'_>,
    ) -> Result<bool, StorageError> {
        let RunEnd {
            status,
            result,
            error,
            events,
        } = end;
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE tasks SET status = ?, result = ?, error = ?, finished_at = ?, lease_owner = NULL, \
             lease_expires_at = NULL WHERE id = ? AND attempt = ? AND lease_owner = ? AND status = 'running'",
        )
        .bind(status.name())
        .bind(result.map(serde_json::to_string).transpose()?)
        .bind(error)
        .bind(now_ms())
        .bind(id)
        .bind(attempt as i64)
        .bind(owner)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 1 {
            let status = [TaskEvent::Status { status, attempt }];
            events_in(&mut tx, id, &[events, &status].concat()).await?;
        }
        tx.commit().await?;
        Ok(updated == 1)
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
        let mut tx = self.pool.begin().await?;
        // A write first (that changes nothing): see `cancel`.
        let held = sqlx::query(
            "UPDATE tasks SET lease_owner = lease_owner WHERE id = ? AND lease_owner = ?",
        )
        .bind(id)
        .bind(owner)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let released = held && release_in(&mut tx, id, attempt, retry_after, error, counts).await?;
        tx.commit().await?;
        Ok(released)
    }

    async fn reclaim_expired(&self) -> Result<u64, StorageError> {
        self.reclaim_leases_before(now_ms()).await
    }

    async fn reclaim_all_running(&self) -> Result<u64, StorageError> {
        self.reclaim_leases_before(i64::MAX).await
    }

    async fn cancel(&self, id: &str) -> Result<Cancelled, StorageError> {
        let mut tx = self.pool.begin().await?;
        // Writes before reads: a transaction that has read cannot become a
        // writer once another connection has committed ("database is
        // locked", whatever the busy timeout).
        let cancelled_now = sqlx::query(
            "UPDATE tasks SET status = 'cancelled', finished_at = ? WHERE id = ? AND status = 'queued'",
        )
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let requested = !cancelled_now
            && sqlx::query(
                "UPDATE tasks SET cancel_requested = 1 WHERE id = ? AND status = 'running'",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
        let Some(record) = task_in(&mut tx, id).await? else {
            return Ok(Cancelled::NotFound);
        };
        let outcome = if cancelled_now {
            let event = TaskEvent::Status {
                status: TaskStatus::Cancelled,
                attempt: record.attempt,
            };
            event_in(&mut tx, id, &event).await?;
            Cancelled::Now(record)
        } else if requested {
            Cancelled::Requested(record)
        } else {
            Cancelled::AlreadyEnded(record)
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn delete(&self, id: &str) -> Result<Deleted, StorageError> {
        let status: Option<String> = sqlx::query_scalar("SELECT status FROM tasks WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match status.as_deref().and_then(TaskStatus::parse) {
            None => Ok(Deleted::NotFound),
            Some(s) if !s.is_terminal() => Ok(Deleted::NotEnded),
            Some(_) => {
                let gone = sqlx::query(
                    "DELETE FROM tasks WHERE id = ? AND status IN ('succeeded', 'failed', 'cancelled')",
                )
                .bind(id)
                .execute(&self.pool)
                .await?
                .rows_affected();
                Ok(if gone == 1 {
                    Deleted::Yes
                } else {
                    Deleted::NotEnded
                })
            }
        }
    }

    async fn prune(&self, ended_before: i64, batch: u32) -> Result<u64, StorageError> {
        let gone = sqlx::query(
            "DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE finished_at < ? \
             AND status IN ('succeeded', 'failed', 'cancelled') LIMIT ?)",
        )
        .bind(ended_before)
        .bind(batch as i64)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(gone)
    }

    async fn append_events(&self, task_id: &str, events: &[TaskEvent]) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        events_in(&mut tx, task_id, events).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn events_after(
        &self,
        task_id: &str,
        after: i64,
    ) -> Result<Vec<(i64, TaskEvent)>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, data FROM task_events WHERE task_id = ? AND id > ? ORDER BY id",
        )
        .bind(task_id)
        .bind(after)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let data: String = row.try_get("data")?;
                Ok((row.try_get("id")?, serde_json::from_str(&data)?))
            })
            .collect()
    }

    fn guest(&self) -> &dyn GuestStore {
        &self.shared
    }

    fn registry(&self) -> &dyn Registry {
        &self.shared
    }
}

impl SqliteStorage {
    /// Release every running task whose lease expires before `moment`, as
    /// after an infrastructure failure.
    async fn reclaim_leases_before(&self, moment: i64) -> Result<u64, StorageError> {
        let mut tx = self.pool.begin().await?;
        // An update that changes nothing, so the transaction writes first
        // (see `cancel`).
        let rows = sqlx::query(
            "UPDATE tasks SET lease_expires_at = lease_expires_at \
             WHERE status = 'running' AND lease_expires_at < ? RETURNING id, attempt",
        )
        .bind(moment)
        .fetch_all(&mut *tx)
        .await?;
        let mut count = 0;
        for row in &rows {
            let id: String = row.try_get("id")?;
            let attempt = row.try_get::<i64, _>("attempt")? as u32;
            if release_in(&mut tx, &id, attempt, Duration::ZERO, NODE_STOPPED, true).await? {
                count += 1;
            }
        }
        tx.commit().await?;
        Ok(count)
    }
}
