//! Postgres: the queue several nodes share.
//!
//! Postgres is the whole distributed engine: claims lock rows with
//! `FOR UPDATE SKIP LOCKED`, so nodes never wait on each other's claims;
//! leases and fencing make a dead or late node harmless; `NOTIFY` carries
//! hints between nodes, and polling covers whatever a hint misses. Nothing
//! here assumes it is the only node: in particular, start-up never takes
//! back running tasks, because other nodes may be running them; expired
//! leases are reclaimed instead.

mod events;
mod listener;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sandrun_api::{TaskEvent, TaskStatus};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, QueryBuilder, Row, Transaction};

use self::events::{append_in, status_events_in};
use super::record::{TASK_COLUMNS, TaskFilter, TaskRecord, TaskRow, labels_json};
use super::release::{NODE_STOPPED, Release};
use super::shared::{GuestStore, Registry, Shared};
use super::{
    Cancelled, Claimed, Deleted, Hint, Inserted, NewTask, Renewed, RunEnd, Storage, StorageError,
    now_ms,
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// How to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    pub url: String,
    /// Connections in the pool.
    pub max_connections: u32,
    /// Do not LISTEN (a transaction-mode pooler cannot carry it): poll only.
    pub poll_only: bool,
}

#[derive(Debug, Clone)]
pub struct PostgresStorage {
    pool: PgPool,
    shared: Shared<sqlx::Postgres>,
    /// The one NOTIFY channel of this schema, so that queues in different
    /// schemas of one database do not wake each other.
    channel: String,
    poll_only: bool,
}

impl PostgresStorage {
    /// Connect and bring the schema up to date. Several nodes may migrate
    /// at once: sqlx serialises migrations with an advisory lock.
    pub async fn open(options: &PostgresOptions) -> Result<Self, StorageError> {
        let connect = PgConnectOptions::from_str(&options.url)?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect)
            .await?;
        MIGRATOR.run(&pool).await?;
        let schema: String = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(&pool)
            .await?;
        Ok(PostgresStorage {
            shared: Shared(pool.clone()),
            pool,
            channel: format!("sandrun.{schema}"),
            poll_only: options.poll_only,
        })
    }

    /// Tell listening nodes, once per transaction, whatever `tx` did.
    async fn hint_in(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        hint: &Hint,
    ) -> Result<(), StorageError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(&self.channel)
            .bind(listener::payload(hint))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

async fn task_in(
    tx: &mut Transaction<'_, Postgres>,
    id: &str,
) -> Result<Option<TaskRecord>, StorageError> {
    let row: Option<TaskRow> =
        sqlx::query_as(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    row.map(TaskRecord::try_from).transpose()
}

/// Release one held task inside `tx`, fenced on attempt (and owner, when
/// given); see [`Storage::release`].
async fn release_in(
    tx: &mut Transaction<'_, Postgres>,
    id: &str,
    attempt: u32,
    owner: Option<&str>,
    retry_after: Duration,
    error: &str,
    counts: bool,
) -> Result<Option<Release>, StorageError> {
    let max_attempts: Option<i64> = sqlx::query_scalar(
        "SELECT max_attempts FROM tasks WHERE id = $1 AND attempt = $2 AND status = 'running' \
         AND ($3::text IS NULL OR lease_owner = $3) FOR UPDATE",
    )
    .bind(id)
    .bind(attempt as i64)
    .bind(owner)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(max_attempts) = max_attempts else {
        return Ok(None);
    };
    let plan = Release::plan(attempt, max_attempts as u32, retry_after, error, counts);
    match &plan {
        Release::Fail { error } => {
            sqlx::query(
                "UPDATE tasks SET status = 'failed', error = $1, finished_at = $2, lease_owner = NULL, \
                 lease_expires_at = NULL WHERE id = $3",
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
                "UPDATE tasks SET status = 'queued', attempt = $1, run_after = $2, error = $3, \
                 lease_owner = NULL, lease_expires_at = NULL, cancel_requested = FALSE WHERE id = $4",
            )
            .bind(*attempt as i64)
            .bind(run_after)
            .bind(error)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        }
    }
    append_in(tx, id, &[plan.event(attempt)]).await?;
    Ok(Some(plan))
}

#[async_trait]
impl Storage for PostgresStorage {
    async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn insert_tasks(&self, tasks: Vec<NewTask>) -> Result<Vec<Inserted>, StorageError> {
        let mut tx = self.pool.begin().await?;
        let mut inserted = Vec::with_capacity(tasks.len());
        for task in tasks {
            // A concurrent insert of the same key waits for the other
            // transaction, then finds its row.
            let (status, attempt, lease_owner, lease_expires_at, started_at) = task.initial_state();
            let created: Option<String> = sqlx::query_scalar(
                "INSERT INTO tasks (id, runtime, request, request_hash, idempotency_key, priority, \
                 labels, max_attempts, run_after, created_at, status, attempt, lease_owner, lease_expires_at, \
                 started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13, $14) \
                 ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            )
            .bind(&task.id)
            .bind(task.request.runtime.name())
            .bind(serde_json::to_string(&task.request)?)
            .bind(&task.request_hash)
            .bind(&task.request.idempotency_key)
            .bind(i64::from(task.request.priority))
            .bind(labels_json(&task.request.labels))
            .bind(task.max_attempts as i64)
            .bind(task.created_at)
            .bind(status.name())
            .bind(attempt)
            .bind(lease_owner)
            .bind(lease_expires_at)
            .bind(started_at)
            .fetch_optional(&mut *tx)
            .await?;
            if created.is_none() {
                let key = task.request.idempotency_key.clone().unwrap_or_default();
                let existing: Option<String> =
                    sqlx::query_scalar("SELECT id FROM tasks WHERE idempotency_key = $1")
                        .bind(&key)
                        .fetch_optional(&mut *tx)
                        .await?;
                let record = match existing {
                    Some(id) => task_in(&mut tx, &id).await?,
                    None => None,
                }
                .ok_or_else(|| StorageError::Corrupt("idempotent task vanished".into()))?;
                if record.request_hash != task.request_hash {
                    return Err(StorageError::IdempotencyConflict(key));
                }
                inserted.push(Inserted::Existing(record));
                continue;
            }
            let (keys, values): (Vec<&String>, Vec<&String>) = task.request.labels.iter().unzip();
            sqlx::query(
                "INSERT INTO task_labels (task_id, key, value) SELECT $1, k, v FROM UNNEST($2::text[], $3::text[]) AS l(k, v)",
            )
            .bind(&task.id)
            .bind(keys)
            .bind(values)
            .execute(&mut *tx)
            .await?;
            append_in(&mut tx, &task.id, &task.initial_events()).await?;
            let record = task_in(&mut tx, &task.id).await?.expect("just inserted");
            inserted.push(Inserted::Created(record));
        }
        let queued_any = inserted
            .iter()
            .any(|i| matches!(i, Inserted::Created(r) if r.status == TaskStatus::Queued));
        if queued_any {
            self.hint_in(&mut tx, &Hint::Queued).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    async fn task(&self, id: &str) -> Result<Option<TaskRecord>, StorageError> {
        let row: Option<TaskRow> =
            sqlx::query_as(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(TaskRecord::try_from).transpose()
    }

    async fn list_tasks(&self, filter: &TaskFilter) -> Result<Vec<TaskRecord>, StorageError> {
        let mut q =
            QueryBuilder::<Postgres>::new(format!("SELECT {TASK_COLUMNS} FROM tasks WHERE TRUE"));
        filter.push_conditions(&mut q);
        let rows: Vec<TaskRow> = q.build_query_as().fetch_all(&self.pool).await?;
        rows.into_iter().map(TaskRecord::try_from).collect()
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
        // One statement picks and leases the batch; rows other nodes are
        // claiming right now are skipped, not waited for.
        let rows = sqlx::query(
            "UPDATE tasks SET status = 'running', attempt = tasks.attempt + 1, lease_owner = $1, \
             lease_expires_at = $2, started_at = $3, cancel_requested = FALSE, event_seq = tasks.event_seq + 1 \
             FROM (SELECT id FROM tasks WHERE status = 'queued' AND run_after <= $3 \
                   ORDER BY priority DESC, created_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) AS picked \
             WHERE tasks.id = picked.id RETURNING tasks.id, tasks.attempt, tasks.request, tasks.event_seq",
        )
        .bind(owner)
        .bind(now + lease.as_millis() as i64)
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        let mut seqs = Vec::with_capacity(rows.len());
        for row in rows {
            let request: String = row.try_get("request")?;
            claimed.push(Claimed {
                id: row.try_get("id")?,
                attempt: row.try_get::<i64, _>("attempt")? as u32,
                request: serde_json::from_str(&request)?,
            });
            seqs.push(row.try_get::<i64, _>("event_seq")?);
        }
        let statuses: Vec<(&str, u32, i64)> = claimed
            .iter()
            .zip(seqs)
            .map(|(c, seq)| (c.id.as_str(), c.attempt, seq))
            .collect();
        status_events_in(&mut tx, TaskStatus::Running, &statuses).await?;
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
        let (ids, attempts): (Vec<&str>, Vec<i64>) = held
            .iter()
            .map(|(id, attempt)| (id.as_str(), i64::from(*attempt)))
            .unzip();
        let rows = sqlx::query(
            "UPDATE tasks SET lease_expires_at = $1 FROM UNNEST($3::text[], $4::bigint[]) AS held(id, attempt) \
             WHERE tasks.id = held.id AND tasks.attempt = held.attempt AND tasks.status = 'running' \
             AND tasks.lease_owner = $2 RETURNING tasks.id, tasks.cancel_requested",
        )
        .bind(now_ms() + lease.as_millis() as i64)
        .bind(owner)
        .bind(ids)
        .bind(attempts)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Renewed {
                    id: row.try_get("id")?,
                    cancel_requested: row.try_get("cancel_requested")?,
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
            "UPDATE tasks SET status = $1, result = $2, error = $3, finished_at = $4, lease_owner = NULL, \
             lease_expires_at = NULL WHERE id = $5 AND attempt = $6 AND lease_owner = $7 AND status = 'running'",
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
            append_in(&mut tx, id, &[events, &status].concat()).await?;
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
        let released = release_in(
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
            self.hint_in(&mut tx, &Hint::Queued).await?;
        }
        tx.commit().await?;
        Ok(released.is_some())
    }

    async fn reclaim_expired(&self) -> Result<u64, StorageError> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "SELECT id, attempt FROM tasks WHERE status = 'running' AND lease_expires_at < $1 \
             FOR UPDATE SKIP LOCKED",
        )
        .bind(now_ms())
        .fetch_all(&mut *tx)
        .await?;
        let mut count = 0;
        for row in &rows {
            let id: String = row.try_get("id")?;
            let attempt = row.try_get::<i64, _>("attempt")? as u32;
            if release_in(
                &mut tx,
                &id,
                attempt,
                None,
                Duration::ZERO,
                NODE_STOPPED,
                true,
            )
            .await?
            .is_some()
            {
                count += 1;
            }
        }
        if count > 0 {
            self.hint_in(&mut tx, &Hint::Queued).await?;
        }
        tx.commit().await?;
        Ok(count)
    }

    async fn reclaim_all_running(&self) -> Result<u64, StorageError> {
        // Other nodes may be running them: only expired leases come back.
        self.reclaim_expired().await
    }

    async fn cancel(&self, id: &str) -> Result<Cancelled, StorageError> {
        let mut tx = self.pool.begin().await?;
        let locked: Option<String> =
            sqlx::query_scalar("SELECT id FROM tasks WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if locked.is_none() {
            return Ok(Cancelled::NotFound);
        }
        let record = task_in(&mut tx, id).await?.expect("locked");
        let outcome = match record.status {
            TaskStatus::Queued => {
                sqlx::query(
                    "UPDATE tasks SET status = 'cancelled', finished_at = $1 WHERE id = $2",
                )
                .bind(now_ms())
                .bind(id)
                .execute(&mut *tx)
                .await?;
                append_in(
                    &mut tx,
                    id,
                    &[TaskEvent::Status {
                        status: TaskStatus::Cancelled,
                        attempt: record.attempt,
                    }],
                )
                .await?;
                Cancelled::Now(task_in(&mut tx, id).await?.expect("still there"))
            }
            TaskStatus::Running => {
                sqlx::query("UPDATE tasks SET cancel_requested = TRUE WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                self.hint_in(&mut tx, &Hint::Cancel(id.to_owned())).await?;
                Cancelled::Requested(record)
            }
            _ => Cancelled::AlreadyEnded(record),
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn delete(&self, id: &str) -> Result<Deleted, StorageError> {
        let row = sqlx::query(
            "WITH target AS (SELECT id, status FROM tasks WHERE id = $1), \
             gone AS (DELETE FROM tasks WHERE id IN (SELECT id FROM target) \
                      AND status IN ('succeeded', 'failed', 'cancelled') RETURNING id) \
             SELECT (SELECT status FROM target) AS status, (SELECT COUNT(*) FROM gone) AS gone",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        let status: Option<String> = row.try_get("status")?;
        let gone: i64 = row.try_get("gone")?;
        Ok(match (status, gone) {
            (None, _) => Deleted::NotFound,
            (Some(_), 1) => Deleted::Yes,
            (Some(_), _) => Deleted::NotEnded,
        })
    }

    async fn prune(&self, ended_before: i64, batch: u32) -> Result<u64, StorageError> {
        let gone = sqlx::query(
            "DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE finished_at < $1 \
             AND status IN ('succeeded', 'failed', 'cancelled') LIMIT $2 FOR UPDATE SKIP LOCKED)",
        )
        .bind(ended_before)
        .bind(i64::from(batch))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(gone)
    }

    async fn append_events(&self, task_id: &str, events: &[TaskEvent]) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        append_in(&mut tx, task_id, events).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn events_after(
        &self,
        task_id: &str,
        after: i64,
    ) -> Result<Vec<(i64, TaskEvent)>, StorageError> {
        events::after(&self.pool, task_id, after).await
    }

    fn guest(&self) -> &dyn GuestStore {
        &self.shared
    }

    fn registry(&self) -> &dyn Registry {
        &self.shared
    }

    fn listen(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Hint>> {
        (!self.poll_only).then(|| listener::spawn(self.pool.clone(), self.channel.clone()))
    }
}
