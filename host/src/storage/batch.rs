//! Batches as storage sees them: a batch is the tasks that carry its id,
//! so what it holds is counted from them, and it goes when they are pruned.

use sandrun_api::StatusCounts;

use super::StorageError;
use super::activity::status_named;

/// A batch, counted from its tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRecord {
    pub id: String,
    /// When its first task was submitted, in ms since the epoch.
    pub created_at: i64,
    pub tasks: u64,
    pub counts: StatusCounts,
}

/// A batch from its `(status, tasks, earliest created_at)` rows; `None`
/// when it has no task left.
pub(super) fn from_rows(
    id: &str,
    rows: Vec<(String, i64, i64)>,
) -> Result<Option<BatchRecord>, StorageError> {
    let Some(created_at) = rows.iter().map(|r| r.2).min() else {
        return Ok(None);
    };
    let mut record = BatchRecord {
        id: id.to_owned(),
        created_at,
        tasks: 0,
        counts: StatusCounts::default(),
    };
    for (status, n, _) in rows {
        let n = n.max(0) as u64;
        record.tasks += n;
        *record.counts.get_mut(status_named(&status)?) += n;
    }
    Ok(Some(record))
}
