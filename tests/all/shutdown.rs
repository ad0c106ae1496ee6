//! Graceful shutdown: running tasks finish within the grace period; past
//! it they are stopped and given back to the queue, their attempt unused.

use std::time::Duration;

use sandrun::storage::{SqliteStorage, Storage};
use sandrun_api::TaskStatus;

use crate::app::{python, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_tasks_finish_within_the_grace_period() {
    let app = spawn_app_with(|args| args.grace = Some(Duration::from_secs(20).into())).await;
    let task = app
        .submit(python("import time\ntime.sleep(1)\nprint('finished')"))
        .await;
    app.until_status(&task.id, TaskStatus::Running).await;
    let dir = app.stop().await;
    let storage = SqliteStorage::open(&dir.path().join("sandrun.db"))
        .await
        .unwrap();
    let record = storage.task(&task.id).await.unwrap().unwrap();
    assert_eq!(record.status, TaskStatus::Succeeded);
    assert_eq!(
        record.result.unwrap().stdout.to_string_lossy(),
        "finished\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_still_running_after_the_grace_period_are_requeued() {
    let app = spawn_app_with(|args| args.grace = Some(Duration::from_millis(200).into())).await;
    let task = app.submit(python("import time\ntime.sleep(30)")).await;
    app.until_status(&task.id, TaskStatus::Running).await;
    let started = std::time::Instant::now();
    let dir = app.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let storage = SqliteStorage::open(&dir.path().join("sandrun.db"))
        .await
        .unwrap();
    let record = storage.task(&task.id).await.unwrap().unwrap();
    assert_eq!((record.status, record.attempt), (TaskStatus::Queued, 0));
}
