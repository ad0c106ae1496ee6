use sandrun_api::{Outcome, Problem, Task, TaskEvent, TaskPage, TaskStatus};
use serde_json::json;

use crate::api_events::read_events;
use crate::app::{cancel_a_running_loop, python, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_task_runs_in_one_round_trip() {
    let app = spawn_app().await;
    let task = app.run(python("print('hello', 6 * 7)")).await;
    assert_eq!(task.status, TaskStatus::Succeeded);
    let result = task.result.unwrap();
    assert_eq!(result.stdout.to_string_lossy(), "hello 42\n");
    assert_eq!(task.attempt, 1);
    assert!(task.started_at.is_some() && task.finished_at.is_some());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_wait_the_task_is_accepted_and_runs() {
    let app = spawn_app().await;
    let response = app
        .post("/v1/tasks", &python("import sys; sys.exit(3)"))
        .await;
    assert_eq!(response.status(), 202);
    let task: Task = response.json().await.unwrap();
    // Admitted at once by the idle node, or queued for it.
    assert!(
        matches!(
            (task.status, task.attempt),
            (TaskStatus::Running, 1) | (TaskStatus::Queued, 0)
        ),
        "{task:?}"
    );
    let ended = app.until_ended(&task.id).await;
    assert_eq!(ended.status, TaskStatus::Failed);
    let result = ended.result.unwrap();
    assert_eq!(
        (result.outcome, result.exit_code),
        (Outcome::Exited, Some(3))
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_files_env_args_and_limits_travel_with_the_task() {
    let app = spawn_app().await;
    let task = app
        .run(json!({
            "runtime": "python",
            "code": "import os, sys\nprint(sys.stdin.read(), open('/input/a.bin', 'rb').read(), os.environ['K'], sys.argv[1:])",
            "stdin": "in",
            "files": { "a.bin": { "base64": "AAEC" } },
            "env": { "K": "v" },
            "args": ["x"],
            "limits": { "timeout_ms": 20000 }
        }))
        .await;
    let result = task.result.unwrap();
    assert_eq!(
        result.stdout.to_string_lossy(),
        "in b'\\x00\\x01\\x02' v ['x']\n"
    );
    assert_eq!(result.limits.timeout_ms, 20000);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tasks_are_404_problems() {
    let app = spawn_app().await;
    for response in [
        app.get("/v1/tasks/nope").await,
        app.post("/v1/tasks/nope/cancel", &json!({})).await,
        app.http
            .delete(app.url("/v1/tasks/nope"))
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(response.status(), 404);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Problem = response.json().await.unwrap();
        assert_eq!(problem.kind, "urn:sandrun:problem:not-found");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_filters_and_paginates_newest_first() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let team = if i % 2 == 0 { "red" } else { "blue" };
        let task = app.run(json!({"runtime": "python", "code": format!("print({i})"), "labels": {"team": team}})).await;
        ids.push(task.id);
    }
    let failed = app.run(python("raise SystemExit(1)")).await;

    let page: TaskPage = app.get("/v1/tasks?limit=2").await.json().await.unwrap();
    assert_eq!(
        page.tasks.iter().map(|t| &t.id).collect::<Vec<_>>(),
        [&failed.id, &ids[4]]
    );
    let cursor = page.next_cursor.unwrap();
    let page: TaskPage = app
        .get(&format!("/v1/tasks?limit=2&cursor={cursor}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        page.tasks.iter().map(|t| &t.id).collect::<Vec<_>>(),
        [&ids[3], &ids[2]]
    );

    let red: TaskPage = app
        .get("/v1/tasks?label=team=red")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(red.tasks.len(), 3);
    assert!(red.next_cursor.is_none());
    let failures: TaskPage = app
        .get("/v1/tasks?status=failed")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        failures.tasks.iter().map(|t| &t.id).collect::<Vec<_>>(),
        [&failed.id]
    );
    let wasm: TaskPage = app
        .get("/v1/tasks?runtime=wasm")
        .await
        .json()
        .await
        .unwrap();
    assert!(wasm.tasks.is_empty());
    let future: TaskPage = app
        .get("/v1/tasks?created_after=2100-01-01T00:00:00Z")
        .await
        .json()
        .await
        .unwrap();
    assert!(future.tasks.is_empty());
    let past: TaskPage = app
        .get("/v1/tasks?created_before=2100-01-01T00:00:00Z")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(past.tasks.len(), 6);

    let bad = app.get("/v1/tasks?created_after=yesterday").await;
    assert_eq!(bad.status(), 400);
    let problem: Problem = bad.json().await.unwrap();
    assert_eq!(problem.field.as_deref(), Some("created_after"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_running_infinite_loop() {
    let app = spawn_app().await;
    let task = cancel_a_running_loop(&app).await;
    assert_eq!(task.result.unwrap().outcome, Outcome::Cancelled);
    // An ended task cannot be cancelled again.
    let again = app
        .post(&format!("/v1/tasks/{}/cancel", task.id), &json!({}))
        .await;
    assert_eq!(again.status(), 409);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_ended_tasks_only() {
    let app = spawn_app().await;
    let running = app.submit(python("import time\ntime.sleep(30)")).await;
    app.until_status(&running.id, TaskStatus::Running).await;
    let refused = app
        .http
        .delete(app.url(&format!("/v1/tasks/{}", running.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);

    let done = app.run(python("print(1)")).await;
    let deleted = app
        .http
        .delete(app.url(&format!("/v1/tasks/{}", done.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        app.get(&format!("/v1/tasks/{}", done.id)).await.status(),
        404
    );
    app.post(&format!("/v1/tasks/{}/cancel", running.id), &json!({}))
        .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_idempotency_key_and_body_give_the_same_task() {
    let app = spawn_app().await;
    let body = json!({"runtime": "python", "code": "print('once')", "idempotency_key": "job-7"});
    let first = app.submit(body.clone()).await;
    let second = app.submit(body).await;
    assert_eq!(first.id, second.id);
    let conflict = app
        .post(
            "/v1/tasks",
            &json!({"runtime": "python", "code": "print('twice')", "idempotency_key": "job-7"}),
        )
        .await;
    assert_eq!(conflict.status(), 409);
    let page: TaskPage = app.get("/v1/tasks").await.json().await.unwrap();
    assert_eq!(page.tasks.len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_task_is_cancelled_at_once() {
    let app = crate::app::spawn_app_with(|args| args.slots = Some(1)).await;
    let blocker = app.submit(python("import time\ntime.sleep(30)")).await;
    app.until_status(&blocker.id, TaskStatus::Running).await;
    let queued = app.submit(python("print('never')")).await;
    let response = app
        .post(&format!("/v1/tasks/{}/cancel", queued.id), &json!({}))
        .await;
    assert_eq!(response.status(), 200);
    let task: Task = response.json().await.unwrap();
    assert_eq!(task.status, TaskStatus::Cancelled);
    assert!(task.result.is_none());
    app.post(&format!("/v1/tasks/{}/cancel", blocker.id), &json!({}))
        .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_skips_the_queue_only_when_nothing_waits_and_a_slot_is_free() {
    let app = crate::app::spawn_app_with(|args| args.slots = Some(1)).await;
    // The scheduler holds the slot for the moment it looks at the queue, so
    // an idle node admits nearly every task, not quite all.
    let admitted = {
        let mut admitted = None;
        for _ in 0..20 {
            let quick = app.submit(python("pass")).await;
            app.until_ended(&quick.id).await;
            if quick.status == TaskStatus::Running {
                admitted = Some(quick);
                break;
            }
        }
        admitted.expect("an idle node with a free slot admits a task")
    };
    assert_eq!(admitted.attempt, 1);
    let first = app
        .submit(python("import time\ntime.sleep(1)\nprint('first')"))
        .await;
    app.until_status(&first.id, TaskStatus::Running).await;
    let second = app.submit(python("print('second')")).await;
    let third = app.submit(python("print('third')")).await;
    assert_eq!(second.status, TaskStatus::Queued, "the one slot is busy");
    assert_eq!(third.status, TaskStatus::Queued, "the queue is not empty");
    let ended: Vec<Task> = [&first, &second, &third]
        .into_iter()
        .map(|t| app.until_ended(&t.id))
        .collect::<futures::future::JoinAll<_>>()
        .await;
    for (task, expected) in ended.iter().zip(["first\n", "second\n", "third\n"]) {
        assert_eq!(task.status, TaskStatus::Succeeded, "{task:?}");
        assert_eq!(task.attempt, 1);
        let stdout = task.result.as_ref().unwrap().stdout.to_string_lossy();
        assert_eq!(stdout, expected);
    }
    // Queued tasks ran in order, after the one holding the slot.
    let started: Vec<_> = ended
        .iter()
        .map(|t| t.started_at.clone().unwrap())
        .collect();
    assert!(
        started[0] < started[1] && started[1] < started[2],
        "{started:?}"
    );
    // An admitted task's events are those of a claimed one.
    let statuses: Vec<(TaskStatus, u32)> = read_events(&app, &admitted.id)
        .await
        .into_iter()
        .filter_map(|(event, _)| match event {
            TaskEvent::Status {
                status, attempt, ..
            } => Some((status, attempt)),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (TaskStatus::Queued, 0),
            (TaskStatus::Running, 1),
            (TaskStatus::Succeeded, 1)
        ]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_shorter_than_the_task_answers_when_it_runs_out() {
    let app = spawn_app().await;
    let sleeper = python("import time\ntime.sleep(5)");
    for (wait, at_least) in [("0", 0.0), ("0.3", 0.3)] {
        let asked = std::time::Instant::now();
        let response = app.post(&format!("/v1/tasks?wait={wait}"), &sleeper).await;
        let took = asked.elapsed().as_secs_f64();
        assert_eq!(response.status(), 202, "wait={wait}");
        let task: Task = response.json().await.unwrap();
        assert!(!task.status.is_terminal(), "{task:?}");
        assert!(took >= at_least && took < 4.0, "wait={wait} took {took}s");
        app.post(&format!("/v1/tasks/{}/cancel", task.id), &json!({}))
            .await;
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_recursion_on_a_task_thread_is_a_trap() {
    let app = spawn_app().await;
    crate::app::deep_recursion_traps(&app).await;
    app.stop().await;
}
