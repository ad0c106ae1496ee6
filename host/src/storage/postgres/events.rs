//! A task's events, numbered per task under the task's row lock.
//!
//! A global sequence would not do: two transactions can take ids 7 and 8
//! and commit 8 first, and a reader on another node that saw 8 would skip 7
//! for ever. Numbering a task's events by bumping `tasks.event_seq` makes
//! the next writer wait for the row lock until the previous one commits, so
//! numbers commit in order and `seq > cursor` never skips a row.

use sandrun_api::{TaskEvent, TaskStatus};
use sqlx::{PgPool, Postgres, Row, Transaction};

use crate::storage::{StorageError, now_ms};

/// Append `events` to task `task_id`, after its last one. A task deleted
/// meanwhile gets none.
pub(super) async fn append_in(
    tx: &mut Transaction<'_, Postgres>,
    task_id: &str,
    events: &[TaskEvent],
) -> Result<(), StorageError> {
    if events.is_empty() {
        return Ok(());
    }
    let count = events.len() as i64;
    let last: Option<i64> = sqlx::query_scalar(
        "UPDATE tasks SET event_seq = event_seq + $2 WHERE id = $1 RETURNING event_seq",
    )
    .bind(task_id)
    .bind(count)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(last) = last else { return Ok(()) };
    let numbered = events
        .iter()
        .zip(last - count + 1..)
        .map(|(event, seq)| (task_id, seq, event));
    insert_in(tx, numbered).await
}

/// Record that the claimed tasks (`id`, attempt) moved to `status`, in one
/// statement; their numbers were bumped by the claim itself (`seqs`).
pub(super) async fn status_events_in(
    tx: &mut Transaction<'_, Postgres>,
    status: TaskStatus,
    claimed: &[(&str, u32, i64)],
) -> Result<(), StorageError> {
    let events: Vec<TaskEvent> = claimed
        .iter()
        .map(|&(_, attempt, _)| TaskEvent::Status { status, attempt })
        .collect();
    let numbered = claimed
        .iter()
        .zip(&events)
        .map(|(&(id, _, seq), event)| (id, seq, event));
    insert_in(tx, numbered).await
}

async fn insert_in<'a>(
    tx: &mut Transaction<'_, Postgres>,
    numbered: impl Iterator<Item = (&'a str, i64, &'a TaskEvent)>,
) -> Result<(), StorageError> {
    let mut ids = Vec::new();
    let mut seqs = Vec::new();
    let mut data = Vec::new();
    for (id, seq, event) in numbered {
        ids.push(id);
        seqs.push(seq);
        data.push(serde_json::to_string(event)?);
    }
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO task_events (task_id, seq, data, created_at) \
         SELECT id, seq, data, $4 FROM UNNEST($1::text[], $2::bigint[], $3::text[]) AS e(id, seq, data)",
    )
    .bind(ids)
    .bind(seqs)
    .bind(data)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Events of `task_id` numbered above `after`, in order.
pub(super) async fn after(
    pool: &PgPool,
    task_id: &str,
    after: i64,
) -> Result<Vec<(i64, TaskEvent)>, StorageError> {
    let rows = sqlx::query(
        "SELECT seq, data FROM task_events WHERE task_id = $1 AND seq > $2 ORDER BY seq",
    )
    .bind(task_id)
    .bind(after)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let data: String = row.try_get("data")?;
            Ok((row.try_get("seq")?, serde_json::from_str(&data)?))
        })
        .collect()
}
