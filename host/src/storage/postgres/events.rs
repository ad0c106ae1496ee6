//! A task's events, numbered per task under the task's row lock.
//!
//! A global sequence would not do: two transactions can take ids 7 and 8
//! and commit 8 first, and a reader on another node that saw 8 would skip 7
//! for ever. Numbering a task's events by bumping `tasks.event_seq` makes
//! the next writer wait for the row lock until the previous one commits, so
//! numbers commit in order and `seq > cursor` never skips a row.

use sandrun_api::TaskEvent;
use sqlx::PgConnection;

use crate::storage::{StorageError, now_ms};

/// Append `events` to task `task_id`, after its last one. A task deleted
/// meanwhile gets none.
pub(super) async fn append_in(
    conn: &mut PgConnection,
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
    .fetch_optional(&mut *conn)
    .await?;
    let Some(last) = last else { return Ok(()) };
    let data = events
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<_>, _>>()?;
    sqlx::query(
        "INSERT INTO task_events (task_id, seq, data, created_at) \
         SELECT $1, seq, data, $4 FROM UNNEST($2::bigint[], $3::text[]) AS e(seq, data)",
    )
    .bind(task_id)
    .bind((last - count + 1..=last).collect::<Vec<i64>>())
    .bind(data)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
