use sandrun_api::{ModuleInfo, ModuleList, Problem, TaskStatus};
use serde_json::json;

use crate::app::{spawn_app, spawn_app_with};

fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap()
}

const SEVEN: &str =
    r#"(module (memory (export "memory") 1) (func (export "run") (result i32) i32.const 7))"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploaded_modules_are_content_addressed_and_run_by_hash() {
    let app = spawn_app().await;
    let first = app.upload(wat(SEVEN)).await;
    assert_eq!(first.status(), 201);
    let info: ModuleInfo = first.json().await.unwrap();
    assert_eq!(info.hash.len(), 64);
    let again = app.upload(wat(SEVEN)).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<ModuleInfo>().await.unwrap(), info);
    let fetched: ModuleInfo = app
        .get(&format!("/v1/modules/{}", info.hash))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, info);
    let list: ModuleList = app.get("/v1/modules").await.json().await.unwrap();
    assert_eq!(list.modules, std::slice::from_ref(&info));

    let task = app
        .run(json!({"runtime": "wasm", "module": info.hash}))
        .await;
    assert_eq!(task.status, TaskStatus::Failed);
    assert_eq!(task.result.unwrap().exit_code, Some(7));

    let echo = app
        .upload(std::fs::read(sandrun_test_guests::ECHO).unwrap())
        .await;
    let echo: ModuleInfo = echo.json().await.unwrap();
    let task = app
        .run(json!({"runtime": "wasm", "module": echo.hash, "stdin": "piped", "args": ["a"]}))
        .await;
    let out = task.result.unwrap().stdout.to_string_lossy();
    assert!(
        out.contains("args: main.wasm a\n") && out.contains("stdin: piped\n"),
        "{out}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_modules_are_refused_at_upload() {
    let app = spawn_app().await;
    let garbage = app.upload(b"\0asm\x01\0\0\0junk".to_vec()).await;
    assert_eq!(garbage.status(), 400);
    let unknown = app
        .upload(wat(
            r#"(module (import "env" "launch_missiles" (func)) (func (export "_start")))"#,
        ))
        .await;
    assert_eq!(unknown.status(), 400);
    let problem: Problem = unknown.json().await.unwrap();
    assert!(
        problem.detail.contains("launch_missiles"),
        "{}",
        problem.detail
    );
    assert_eq!(
        app.get(&format!("/v1/modules/{}", "0".repeat(64)))
            .await
            .status(),
        404
    );
    let list: ModuleList = app.get("/v1/modules").await.json().await.unwrap();
    assert!(list.modules.is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_module_is_413() {
    let mut config = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut config, b"max_module_bytes = 65536\n").unwrap();
    let path = config.path().to_owned();
    let app = spawn_app_with(|args| args.config = Some(path)).await;
    let response = app.upload(vec![0u8; 100_000]).await;
    assert_eq!(response.status(), 413);
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.stop().await;
}
