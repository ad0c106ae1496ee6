//! What the queue is doing, in numbers: the tasks queued and running now
//! and the tasks that ended lately, per interval. Read for the dashboard's
//! overview; every node reads the same rows, so every node answers alike.
//! Each count is answered by an index (the partial ones on `queued` and
//! `running`, and `finished_at`'s), so reading it does not scan the tasks
//! kept, however many they are.

use sandrun_api::{StatusCounts, TaskStatus};

use super::{QueueDepth, StorageError};

/// The queue's activity since a moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    /// Queued and running now; succeeded, failed and cancelled since the
    /// moment.
    pub counts: StatusCounts,
    /// For each interval since the moment, counted from 0, the tasks that
    /// ended in it by their status; intervals where none ended are absent.
    pub ended: Vec<EndedCount>,
    /// The most recently submitted task.
    pub newest_task_id: Option<String>,
}

/// Tasks that ended in one interval with one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndedCount {
    pub interval: u32,
    pub status: TaskStatus,
    pub tasks: u64,
}

/// The tasks queued and running now, and those that `ended`.
pub(super) fn counts(depth: QueueDepth, ended: &[EndedCount]) -> StatusCounts {
    let mut counts = StatusCounts {
        waiting: depth.waiting,
        queued: depth.queued,
        running: depth.running,
        ..StatusCounts::default()
    };
    for e in ended {
        *counts.get_mut(e.status) += e.tasks;
    }
    counts
}

/// `(interval, status, tasks)` rows, in order of interval.
pub(super) fn ended(rows: Vec<(i64, String, i64)>) -> Result<Vec<EndedCount>, StorageError> {
    let mut ended = rows
        .into_iter()
        .map(|(interval, status, tasks)| {
            Ok(EndedCount {
                interval: interval.max(0) as u32,
                status: status_named(&status)?,
                tasks: tasks.max(0) as u64,
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    ended.sort_by_key(|e| (e.interval, e.status.name()));
    Ok(ended)
}

pub(super) fn status_named(name: &str) -> Result<TaskStatus, StorageError> {
    TaskStatus::parse(name).ok_or_else(|| StorageError::Corrupt(format!("status `{name}`")))
}
