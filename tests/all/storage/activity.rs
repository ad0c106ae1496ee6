//! The storage contract for what the overview and the batches page read,
//! on both backends: tasks queued and running, ended tasks by interval, the
//! newest task, and batches counted from their tasks.

use std::sync::Arc;
use std::time::Duration;

use sandrun::storage::{NewTask, Storage, now_ms};
use sandrun_api::{StatusCounts, TaskStatus};

use super::{ended, new_task};

on_both_backends!(
    tasks_are_counted_by_status_and_by_the_interval_they_ended_in,
    batches_are_counted_from_their_tasks_newest_first,
);

async fn tasks_are_counted_by_status_and_by_the_interval_they_ended_in(storage: Arc<dyn Storage>) {
    let since = now_ms() - 1000;
    let empty = storage
        .activity(since, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(empty.counts, StatusCounts::default());
    assert!(empty.ended.is_empty());
    assert_eq!(empty.newest_task_id, None);

    let ids = ["a", "b", "c", "d", "e"];
    for id in ids {
        // One by one, so their times order them.
        storage.insert_tasks(vec![new_task(id)]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let claimed = storage
        .claim("node", 3, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    let (first, second) = (&claimed[0].id, &claimed[1].id);
    assert!(
        storage
            .finish(first, 1, "node", ended(TaskStatus::Succeeded))
            .await
            .unwrap()
    );
    assert!(
        storage
            .finish(second, 1, "node", ended(TaskStatus::Failed))
            .await
            .unwrap()
    );

    let activity = storage
        .activity(since, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(
        activity.counts,
        StatusCounts {
            queued: 2,
            running: 1,
            succeeded: 1,
            failed: 1,
            ..StatusCounts::default()
        }
    );
    // Both ended in the first (hour-long) interval from `since`.
    let ended: Vec<_> = activity
        .ended
        .iter()
        .map(|e| (e.interval, e.status, e.tasks))
        .collect();
    assert_eq!(
        ended,
        [(0, TaskStatus::Failed, 1), (0, TaskStatus::Succeeded, 1)]
    );
    assert_eq!(activity.newest_task_id.as_deref(), Some("e"));

    // Counted from a later moment, nothing has ended yet.
    let later = storage
        .activity(now_ms() + 60_000, Duration::from_secs(1))
        .await
        .unwrap();
    assert!(later.ended.is_empty());
    assert_eq!(
        later.counts,
        StatusCounts {
            queued: 2,
            running: 1,
            ..StatusCounts::default()
        }
    );
}

async fn batches_are_counted_from_their_tasks_newest_first(storage: Arc<dyn Storage>) {
    let in_batch = |id: &str, batch: &str| NewTask {
        batch_id: Some(batch.into()),
        ..new_task(id)
    };
    storage
        .insert_tasks(vec![in_batch("a1", "batch-a"), in_batch("a2", "batch-a")])
        .await
        .unwrap();
    storage
        .insert_tasks(vec![
            in_batch("b1", "batch-b"),
            in_batch("b2", "batch-b"),
            in_batch("b3", "batch-b"),
        ])
        .await
        .unwrap();
    storage.insert_tasks(vec![new_task("alone")]).await.unwrap();
    assert_eq!(storage.cancel("b2").await.map(|_| ()).ok(), Some(()));

    let batches = storage.batches(None, 10).await.unwrap();
    let ids: Vec<_> = batches.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(
        ids,
        ["batch-b", "batch-a"],
        "newest (highest id) first; no batch for a lone task"
    );
    assert_eq!(batches[0].tasks, 3);
    assert_eq!(
        batches[0].counts,
        StatusCounts {
            queued: 2,
            cancelled: 1,
            ..StatusCounts::default()
        }
    );
    assert!(batches[0].created_at >= batches[1].created_at);

    // A page, and the page after it.
    let first = storage.batches(None, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    let next = storage.batches(Some(&first[0].id), 1).await.unwrap();
    assert_eq!(next[0].id, "batch-a");
    assert!(
        storage
            .batches(Some("batch-a"), 1)
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(storage.batch("batch-a").await.unwrap().unwrap().tasks, 2);
    assert!(storage.batch("no-such-batch").await.unwrap().is_none());
    let record = storage.task("a1").await.unwrap().unwrap();
    assert_eq!(record.batch_id.as_deref(), Some("batch-a"));
    assert_eq!(record.to_api().batch_id.as_deref(), Some("batch-a"));
}
