//! `depends_on` through the real server: a task waits for another to
//! succeed, is cancelled naming a dependency that failed, and a dependency
//! that does not exist is a 400 naming it.

use sandrun_api::{Problem, TaskStatus};
use serde_json::json;

use crate::app::{python, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_runs_after_what_it_depends_on_and_not_after_a_failure() {
    let app = spawn_app().await;
    let first = app
        .submit(python("import time\ntime.sleep(1)\nprint('first')"))
        .await;
    let mut then = python("print('then')");
    then["depends_on"] = json!([first.id]);
    let waiting = app.submit(then).await;
    assert_eq!(waiting.status, TaskStatus::Waiting, "{waiting:?}");
    let first = app.until_ended(&first.id).await;
    let then = app.until_ended(&waiting.id).await;
    assert_eq!(then.status, TaskStatus::Succeeded, "{then:?}");
    assert!(then.started_at.unwrap() >= first.finished_at.unwrap());

    let failed = app.run(python("raise SystemExit(1)")).await;
    let mut doomed = python("print('never')");
    doomed["depends_on"] = json!([failed.id]);
    let response = app.post("/v1/tasks", &doomed).await;
    assert_eq!(response.status(), 200, "ended at once");
    let doomed: sandrun_api::Task = response.json().await.unwrap();
    assert_eq!(doomed.status, TaskStatus::Cancelled);
    assert_eq!(
        doomed.error.unwrap(),
        format!("dependency {} failed", failed.id)
    );

    let mut anyway = python("print('anyway')");
    anyway["depends_on"] = json!([failed.id]);
    anyway["run_on_failure"] = json!(true);
    let anyway = app.run(anyway).await;
    assert_eq!(anyway.status, TaskStatus::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dependency_must_exist_and_be_one_of_at_most_a_hundred() {
    let app = spawn_app().await;
    let known = app.run(python("pass")).await;
    let mut unknown = python("pass");
    unknown["depends_on"] = json!([known.id, "no-such-task"]);
    let response = app.post("/v1/tasks", &unknown).await;
    assert_eq!(response.status(), 400);
    let problem: Problem = response.json().await.unwrap();
    assert_eq!(
        problem.field.as_deref(),
        Some("depends_on[1]"),
        "{problem:?}"
    );

    let mut many = python("pass");
    many["depends_on"] = json!(vec![known.id.clone(); 101]);
    let response = app.post("/v1/tasks", &many).await;
    assert_eq!(response.status(), 400);
    let problem: Problem = response.json().await.unwrap();
    assert_eq!(problem.field.as_deref(), Some("depends_on"), "{problem:?}");
}
