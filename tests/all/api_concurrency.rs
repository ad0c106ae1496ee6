use std::collections::HashSet;
use std::time::Duration;

use sandrun_api::{ModuleInfo, Task, TaskPage, TaskStatus};
use serde_json::json;

use crate::app::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_submissions_each_end_exactly_once() {
    let app = spawn_app().await;
    let module = wat::parse_str(
        r#"(module (memory (export "memory") 1) (func (export "run") (result i32) i32.const 0))"#,
    )
    .unwrap();
    let info: ModuleInfo = app.upload(module).await.json().await.unwrap();
    let submissions = (0..1000).map(|i| {
        let app = &app;
        let body = json!({"runtime": "wasm", "module": info.hash, "labels": {"n": i.to_string()}});
        async move { app.submit(body).await }
    });
    let tasks: Vec<Task> = futures::future::join_all(submissions).await;
    let ids: HashSet<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids.len(), 1000);

    let mut ended = Vec::new();
    for _ in 0..600 {
        ended = all_tasks(&app).await;
        if ended.iter().all(|t| t.status.is_terminal()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ended.len(), 1000);
    for task in &ended {
        assert_eq!(task.status, TaskStatus::Succeeded, "{task:?}");
        assert_eq!(task.attempt, 1, "ran once: {task:?}");
    }
    app.stop().await;
}

async fn all_tasks(app: &crate::app::TestApp) -> Vec<Task> {
    let mut tasks = Vec::new();
    let mut cursor = String::new();
    loop {
        let page: TaskPage = app
            .get(&format!("/v1/tasks?limit=500{cursor}"))
            .await
            .json()
            .await
            .unwrap();
        tasks.extend(page.tasks);
        match page.next_cursor {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return tasks,
        }
    }
}
