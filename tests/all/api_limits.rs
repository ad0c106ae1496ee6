//! Caps on long requests: event streams per task and in all, and requests
//! waiting for their tasks. Past each, a clear 429, and the server keeps
//! serving everyone else.

use sandrun_api::{Problem, TaskPage, TaskStatus};
use serde_json::json;

use crate::app::{TestApp, python, spawn_app_with};

async fn too_many(response: reqwest::Response) -> Problem {
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "5");
    let problem: Problem = response.json().await.unwrap();
    assert_eq!(problem.kind, "urn:sandrun:problem:too-many");
    problem
}

async fn events(app: &TestApp, id: &str) -> reqwest::Response {
    app.get(&format!("/v1/tasks/{id}/events")).await
}

async fn cancel(app: &TestApp, id: &str) {
    app.post(&format!("/v1/tasks/{id}/cancel"), &json!({}))
        .await;
    app.until_ended(id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_are_capped_per_task_and_in_all() {
    let app = spawn_app_with(|args| {
        args.slots = Some(1);
        args.max_event_streams_per_task = Some(2);
        args.max_event_streams = Some(3);
    })
    .await;
    let first = app.submit(python("import time\ntime.sleep(30)")).await;
    let second = app.submit(python("import time\ntime.sleep(30)")).await;

    let open = [events(&app, &first.id).await, events(&app, &first.id).await];
    assert!(open.iter().all(|r| r.status() == 200));
    let problem = too_many(events(&app, &first.id).await).await;
    assert_eq!(
        problem.detail,
        format!(
            "task {} has 2 event streams open, the configured maximum; retry later",
            first.id
        )
    );
    let third = events(&app, &second.id).await;
    assert_eq!(third.status(), 200, "another task has room");
    let problem = too_many(events(&app, &second.id).await).await;
    assert_eq!(
        problem.detail,
        "3 event streams are open, the configured maximum; retry later"
    );
    assert_eq!(app.get("/healthz").await.status(), 200);

    // A stream that ends gives its place back.
    cancel(&app, &first.id).await;
    for stream in open {
        stream.bytes().await.unwrap();
    }
    let after = events(&app, &second.id).await;
    assert_eq!(after.status(), 200, "the ended streams' places are free");
    cancel(&app, &second.id).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_requests_are_capped_and_one_past_the_cap_makes_no_task() {
    let app = spawn_app_with(|args| {
        args.slots = Some(1);
        args.max_waits = Some(1);
    })
    .await;
    let waiting = {
        let (http, url) = (app.http.clone(), app.url("/v1/tasks?wait=30"));
        tokio::spawn(async move {
            let body = python("import time\ntime.sleep(30)");
            http.post(url).json(&body).send().await.unwrap()
        })
    };
    let page = || async {
        let page: TaskPage = app.get("/v1/tasks").await.json().await.unwrap();
        page.tasks
    };
    let blocker = loop {
        if let Some(task) = page().await.pop() {
            break task;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    app.until_status(&blocker.id, TaskStatus::Running).await;

    let refused = app.post("/v1/tasks?wait=10", &python("pass")).await;
    let problem = too_many(refused).await;
    assert_eq!(
        problem.detail,
        "1 requests already wait for their tasks, the configured maximum; retry later"
    );
    assert_eq!(page().await.len(), 1, "the refused request made no task");
    let unwaited = app.post("/v1/tasks", &python("pass")).await;
    assert_eq!(
        unwaited.status(),
        202,
        "a request that does not wait is taken"
    );

    cancel(&app, &blocker.id).await;
    assert_eq!(waiting.await.unwrap().status(), 200);
    let task = app.run(python("print('waited')")).await;
    assert_eq!(
        task.status,
        TaskStatus::Succeeded,
        "the wait's place is free"
    );
    app.stop().await;
}
