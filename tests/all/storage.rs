//! The storage contract, against a real SQLite file.

use std::time::Duration;

use sandrun::storage::{NewTask, SqliteStorage, Storage, now_ms};
use sandrun_api::{TaskRequest, TaskStatus};

fn new_task(id: &str) -> NewTask {
    let request: TaskRequest =
        serde_json::from_value(serde_json::json!({"runtime": "python", "code": "pass"})).unwrap();
    NewTask {
        id: id.into(),
        request,
        request_hash: "h".into(),
        max_attempts: 2,
        created_at: now_ms(),
    }
}

async fn open() -> (tempfile::TempDir, SqliteStorage) {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(&dir.path().join("db.sqlite"))
        .await
        .unwrap();
    (dir, storage)
}

#[tokio::test]
async fn a_stale_runner_cannot_overwrite_a_newer_result() {
    let (_dir, storage) = open().await;
    storage.insert_tasks(vec![new_task("t1")]).await.unwrap();
    let lease = Duration::from_millis(1);
    let first = storage.claim("node-a", 1, lease).await.unwrap();
    assert_eq!(first[0].attempt, 1);
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(storage.reclaim_expired().await.unwrap(), 1);
    let second = storage
        .claim("node-b", 1, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(second[0].attempt, 2);

    let late = storage
        .finish("t1", 1, "node-a", TaskStatus::Failed, None, Some("late"))
        .await
        .unwrap();
    assert!(!late, "the old attempt's result is refused");
    assert!(
        storage
            .renew("node-a", &[("t1".into(), 1)], lease)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        storage
            .finish("t1", 2, "node-b", TaskStatus::Succeeded, None, None)
            .await
            .unwrap()
    );
    let task = storage.task("t1").await.unwrap().unwrap();
    assert_eq!(
        (task.status, task.attempt, task.error),
        (TaskStatus::Succeeded, 2, None)
    );
}

#[tokio::test]
async fn infrastructure_failures_retry_until_attempts_run_out() {
    let (_dir, storage) = open().await;
    storage.insert_tasks(vec![new_task("t1")]).await.unwrap();
    let lease = Duration::from_secs(60);
    storage.claim("n", 1, lease).await.unwrap();
    assert!(
        storage
            .release("t1", 1, "n", Duration::ZERO, "disk on fire", true)
            .await
            .unwrap()
    );
    assert_eq!(
        storage.task("t1").await.unwrap().unwrap().status,
        TaskStatus::Queued
    );
    storage.claim("n", 1, lease).await.unwrap();
    assert!(
        storage
            .release("t1", 2, "n", Duration::ZERO, "disk on fire", true)
            .await
            .unwrap()
    );
    let task = storage.task("t1").await.unwrap().unwrap();
    assert_eq!(task.status, TaskStatus::Failed);
    assert!(task.error.unwrap().contains("no attempts left"));
}

#[tokio::test]
async fn backoff_delays_the_retry() {
    let (_dir, storage) = open().await;
    storage.insert_tasks(vec![new_task("t1")]).await.unwrap();
    storage
        .claim("n", 1, Duration::from_secs(60))
        .await
        .unwrap();
    storage
        .release("t1", 1, "n", Duration::from_secs(60), "flaky", true)
        .await
        .unwrap();
    assert!(
        storage
            .claim("n", 1, Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn retention_prunes_old_ended_tasks_in_batches() {
    let (_dir, storage) = open().await;
    let ids: Vec<String> = (0..5).map(|i| format!("t{i}")).collect();
    storage
        .insert_tasks(ids.iter().map(|id| new_task(id)).collect())
        .await
        .unwrap();
    let claimed = storage
        .claim("n", 4, Duration::from_secs(60))
        .await
        .unwrap();
    for task in &claimed {
        storage
            .finish(
                &task.id,
                task.attempt,
                "n",
                TaskStatus::Succeeded,
                None,
                None,
            )
            .await
            .unwrap();
    }
    let later = now_ms() + 1000;
    assert_eq!(storage.prune(later, 3).await.unwrap(), 3);
    assert_eq!(storage.prune(later, 3).await.unwrap(), 1);
    assert_eq!(storage.prune(later, 3).await.unwrap(), 0);
    // The one still queued is kept, whatever its age.
    assert_eq!(
        storage.task("t4").await.unwrap().unwrap().status,
        TaskStatus::Queued
    );
}
