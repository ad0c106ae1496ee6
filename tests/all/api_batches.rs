use sandrun_api::{Batch, BatchPage, BatchResponse, Problem, TaskPage, TaskStatus};
use serde_json::json;

use crate::app::{python, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_queues_every_task() {
    let app = spawn_app().await;
    let tasks: Vec<_> = (0..3).map(|i| python(&format!("print({i})"))).collect();
    let response = app.post("/v1/batches", &json!({ "tasks": tasks })).await;
    assert_eq!(response.status(), 202);
    let batch: BatchResponse = response.json().await.unwrap();
    assert_eq!(batch.tasks.len(), 3);
    for (i, task) in batch.tasks.iter().enumerate() {
        let ended = app.until_ended(&task.id).await;
        assert_eq!(ended.status, TaskStatus::Succeeded);
        assert_eq!(
            ended.result.unwrap().stdout.to_string_lossy(),
            format!("{i}\n")
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_with_one_bad_task_queues_none() {
    let app = spawn_app().await;
    let body = json!({ "tasks": [python("print(1)"), {"runtime": "python"}, python("print(3)")] });
    let response = app.post("/v1/batches", &body).await;
    assert_eq!(response.status(), 400);
    let problem: Problem = response.json().await.unwrap();
    assert_eq!(problem.field.as_deref(), Some("tasks[1].code"));
    let page: TaskPage = app.get("/v1/tasks").await.json().await.unwrap();
    assert!(page.tasks.is_empty());

    // A conflict found inside the transaction also rolls back the whole batch.
    app.submit(json!({"runtime": "python", "code": "print(0)", "idempotency_key": "k"}))
        .await;
    let body = json!({ "tasks": [python("print(1)"), {"runtime": "python", "code": "print(2)", "idempotency_key": "k"}] });
    assert_eq!(app.post("/v1/batches", &body).await.status(), 409);
    let page: TaskPage = app.get("/v1/tasks").await.json().await.unwrap();
    assert_eq!(page.tasks.len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_one_to_a_thousand_tasks() {
    let app = spawn_app().await;
    let empty = app.post("/v1/batches", &json!({ "tasks": [] })).await;
    assert_eq!(empty.status(), 400);
    let tasks: Vec<_> = (0..1001).map(|_| python("pass")).collect();
    let too_many = app.post("/v1/batches", &json!({ "tasks": tasks })).await;
    assert_eq!(too_many.status(), 400);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_listed_and_counted_and_its_tasks_carry_its_id() {
    let app = spawn_app().await;
    let submit = async |n: usize| -> BatchResponse {
        let tasks: Vec<_> = (0..n).map(|i| python(&format!("print({i})"))).collect();
        let response = app.post("/v1/batches", &json!({ "tasks": tasks })).await;
        assert_eq!(response.status(), 202);
        response.json().await.unwrap()
    };
    let older = submit(2).await;
    let newer = submit(3).await;
    assert_ne!(older.id, newer.id);
    for task in &newer.tasks {
        assert_eq!(task.batch_id.as_deref(), Some(newer.id.as_str()));
        app.until_ended(&task.id).await;
    }
    let lone = app.run(python("pass")).await;
    assert_eq!(lone.batch_id, None);

    let page: BatchPage = app.get("/v1/batches").await.json().await.unwrap();
    let ids: Vec<_> = page.batches.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, [newer.id.as_str(), older.id.as_str()]);
    assert_eq!(page.batches[0].tasks, 3);
    assert_eq!(page.batches[0].counts.succeeded, 3);
    assert_eq!(page.next_cursor, None);

    let first: BatchPage = app.get("/v1/batches?limit=1").await.json().await.unwrap();
    let cursor = first.next_cursor.expect("a next page");
    let second: BatchPage = app
        .get(&format!("/v1/batches?limit=1&cursor={cursor}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second.batches[0].id, older.id);

    let one: Batch = app
        .get(&format!("/v1/batches/{}", older.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((one.id.as_str(), one.tasks), (older.id.as_str(), 2));
    let tasks: TaskPage = app
        .get(&format!("/v1/tasks?batch={}", newer.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tasks.tasks.len(), 3);
    assert_eq!(app.get("/v1/batches/no-such-batch").await.status(), 404);
    assert_eq!(app.get("/v1/batches?limit=0").await.status(), 400);
}
