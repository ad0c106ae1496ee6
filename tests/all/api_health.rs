use sandrun_api::{Readiness, RuntimeList};

use crate::app::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_runtimes_and_the_openapi_document() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.text().await.unwrap(), "ok\n");
    let ready: Readiness = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(
        ready,
        Readiness {
            database: true,
            runtimes: true
        }
    );
    let runtimes: RuntimeList = app.get("/v1/runtimes").await.json().await.unwrap();
    let names: Vec<&str> = runtimes.runtimes.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["python", "wasm"]);
    assert!(runtimes.runtimes.iter().all(|r| r.ready));

    let doc: serde_json::Value = app.get("/v1/openapi.json").await.json().await.unwrap();
    for path in [
        "/v1/tasks",
        "/v1/tasks/{id}",
        "/v1/tasks/{id}/cancel",
        "/v1/tasks/{id}/events",
        "/v1/batches",
        "/v1/modules",
        "/v1/runtimes",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    for schema in [
        "TaskRequest",
        "Task",
        "TaskResult",
        "Problem",
        "Limits",
        "TaskEvent",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} missing"
        );
    }
    app.stop().await;
}
