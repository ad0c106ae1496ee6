//! Bad requests get clear problems, and the server keeps serving after each.

use sandrun_api::{Problem, TaskStatus};
use serde_json::json;

use crate::app::{TestApp, python, spawn_app, spawn_app_with};

pub async fn problem(response: reqwest::Response, status: u16) -> Problem {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    response.json().await.unwrap()
}

pub async fn still_serving(app: &TestApp) {
    assert_eq!(app.get("/healthz").await.status(), 200);
    let task = app.run(python("print('alive')")).await;
    assert_eq!(task.status, TaskStatus::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_name_the_field() {
    let app = spawn_app().await;
    for (body, field) in [
        (json!({"runtime": "python"}), "code"),
        (json!({"runtime": "wasm", "code": "x"}), "code"),
        (json!({"runtime": "wasm"}), "module"),
        (json!({"runtime": "wasm", "module": "abc"}), "module"),
        (
            json!({"runtime": "wasm", "module": "0".repeat(64)}),
            "module",
        ),
        (
            json!({"runtime": "python", "code": "", "limits": {"memory_bytes": 1u64 << 40}}),
            "limits.memory_bytes",
        ),
        (
            json!({"runtime": "python", "code": "", "limits": {"fuel": 0}}),
            "limits.fuel",
        ),
        (
            json!({"runtime": "python", "code": "", "files": {"../x": "y"}}),
            "files.../x",
        ),
        (
            json!({"runtime": "python", "code": "", "files": {"x": {"base64": "%%%"}}}),
            "files.x",
        ),
        (
            json!({"runtime": "python", "code": "", "env": {"A=B": "c"}}),
            "env.A=B",
        ),
        (
            json!({"runtime": "python", "code": "", "max_attempts": 0}),
            "max_attempts",
        ),
        (
            json!({"runtime": "python", "code": "", "idempotency_key": ""}),
            "idempotency_key",
        ),
    ] {
        let p = problem(app.post("/v1/tasks", &body).await, 400).await;
        assert_eq!(p.kind, "urn:sandrun:problem:validation", "{body}");
        assert_eq!(p.field.as_deref(), Some(field), "{body}: {}", p.detail);
    }
    let p = problem(app.post("/v1/tasks?wait=-1", &python("pass")).await, 400).await;
    assert_eq!(p.field.as_deref(), Some("wait"));
    still_serving(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_unknown_fields_are_400() {
    let app = spawn_app().await;
    let bad_json = app
        .http
        .post(app.url("/v1/tasks"))
        .header("content-type", "application/json")
        .body("{\"runtime\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(bad_json, 400).await.kind,
        "urn:sandrun:problem:malformed"
    );
    let unknown = app
        .post(
            "/v1/tasks",
            &json!({"runtime": "python", "code": "", "colour": "red"}),
        )
        .await;
    assert!(problem(unknown, 400).await.detail.contains("colour"));
    let runtime = app
        .post("/v1/tasks", &json!({"runtime": "ruby", "code": ""}))
        .await;
    assert!(problem(runtime, 400).await.detail.contains("ruby"));
    let not_json = app
        .http
        .post(app.url("/v1/tasks"))
        .body("runtime=python")
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(not_json, 415).await.kind,
        "urn:sandrun:problem:unsupported-media-type"
    );
    assert_eq!(
        problem(app.get("/v2/nothing").await, 404).await.kind,
        "urn:sandrun:problem:not-found"
    );
    still_serving(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_413() {
    let mut config = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut config, b"max_body_bytes = 65536\n").unwrap();
    let path = config.path().to_owned();
    let app = spawn_app_with(|args| args.config = Some(path)).await;
    let huge = "x".repeat(100_000);
    let response = app
        .post("/v1/tasks", &json!({"runtime": "python", "code": huge}))
        .await;
    assert_eq!(
        problem(response, 413).await.kind,
        "urn:sandrun:problem:too-large"
    );
    still_serving(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_is_429_with_retry_after() {
    let app = spawn_app_with(|args| {
        args.slots = Some(1);
        args.max_queue_depth = Some(2);
    })
    .await;
    let blocker = app.submit(python("import time\ntime.sleep(30)")).await;
    app.until_status(&blocker.id, TaskStatus::Running).await;
    let mut keyed = python("pass");
    keyed["idempotency_key"] = json!("waited-on");
    let queued = app.submit(keyed.clone()).await;
    app.submit(python("pass")).await;
    let response = app.post("/v1/tasks", &python("pass")).await;
    assert_eq!(response.headers()["retry-after"], "5");
    assert_eq!(
        problem(response, 429).await.kind,
        "urn:sandrun:problem:queue-full"
    );
    // A repeat makes no new task, so a full queue does not refuse it: a
    // client waiting again for its task is answered.
    let repeat = app.post("/v1/tasks?wait=0.1", &keyed).await;
    assert_eq!(repeat.status(), 202);
    let repeated: sandrun_api::Task = repeat.json().await.unwrap();
    assert_eq!(repeated.id, queued.id);
    keyed["priority"] = json!(3);
    let changed = app.post("/v1/tasks", &keyed).await;
    assert_eq!(
        problem(changed, 409).await.kind,
        "urn:sandrun:problem:conflict"
    );
    app.post(&format!("/v1/tasks/{}/cancel", blocker.id), &json!({}))
        .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_guard_the_api_but_not_health() {
    let app = spawn_app_with(|args| args.api_keys = vec!["s3cret".into()]).await;
    let anonymous = app.get("/v1/tasks").await;
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        problem(anonymous, 401).await.kind,
        "urn:sandrun:problem:unauthorized"
    );
    let wrong = app
        .http
        .get(app.url("/v1/tasks"))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = app
        .http
        .get(app.url("/v1/tasks"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.stop().await;
}
