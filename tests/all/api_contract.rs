//! The API keeps its contract at the edges: extreme values get problems and
//! the server keeps serving, a panicking handler still answers, and the
//! OpenAPI document lists every operation's problem responses.

use axum::Router;
use axum::routing::get;
use sandrun::sandbox::LimitPolicy;
use sandrun_api::TaskStatus;
use serde_json::{Value, json};

use crate::api_errors::{problem, still_serving};
use crate::app::{python, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_query_values_get_problems() {
    let app = spawn_app().await;
    // Past what a `Duration` holds: cut to the server's longest wait.
    let capped = app.post("/v1/tasks?wait=4.2e229", &python("pass")).await;
    assert_eq!(capped.status(), 200);
    let task: sandrun_api::Task = capped.json().await.unwrap();
    assert_eq!(task.status, TaskStatus::Succeeded);
    for wait in ["1e309", "inf", "-inf", "nan", "-1", "-0.5"] {
        let response = app
            .post(&format!("/v1/tasks?wait={wait}"), &python("pass"))
            .await;
        let p = problem(response, 400).await;
        assert_eq!(p.field.as_deref(), Some("wait"), "{wait}: {}", p.detail);
    }
    for (query, kind) in [
        ("limit=0", "validation"),
        ("limit=501", "validation"),
        ("limit=99999999999999999999", "malformed"),
        ("limit=-1", "malformed"),
        ("created_after=1969-12-31T23:59:59Z", "validation"),
        ("label=no-equals-sign", "validation"),
    ] {
        let response = app.get(&format!("/v1/tasks?{query}")).await;
        let p = problem(response, 400).await;
        assert_eq!(p.kind, format!("urn:sandrun:problem:{kind}"), "{query}");
    }
    let huge_cursor = app
        .get(&format!("/v1/tasks?cursor={}", "9".repeat(10_000)))
        .await;
    assert_eq!(huge_cursor.status(), 200);
    still_serving(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_bodies_get_problems() {
    let app = spawn_app().await;
    let code = |extra: Value| {
        let mut body = python("pass");
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let big = serde_json::from_str::<Value>("9999999999999999999").unwrap();
    for (path, body, kind, field) in [
        (
            "/v1/tasks",
            code(json!({"priority": big})),
            "malformed",
            None,
        ),
        (
            "/v1/tasks",
            code(json!({"priority": 2147483648u64})),
            "malformed",
            None,
        ),
        (
            "/v1/tasks",
            code(json!({"max_attempts": 0})),
            "validation",
            Some("max_attempts"),
        ),
        (
            "/v1/tasks",
            code(json!({"max_attempts": 11})),
            "validation",
            Some("max_attempts"),
        ),
        ("/v1/tasks", json!([1, 2]), "malformed", None),
        (
            "/v1/tasks",
            code(json!({"limits": [null, null]})),
            "malformed",
            None,
        ),
        (
            "/v1/tasks",
            code(json!({"priority": 1.5})),
            "malformed",
            None,
        ),
        ("/v1/tasks", json!("python"), "malformed", None),
        (
            "/v1/batches",
            json!({"tasks": []}),
            "validation",
            Some("tasks"),
        ),
        (
            "/v1/batches",
            json!({"tasks": vec![python("pass"); 1001]}),
            "validation",
            Some("tasks"),
        ),
        ("/v1/batches", json!({"tasks": 5}), "malformed", None),
    ] {
        let p = problem(app.post(path, &body).await, 400).await;
        assert_eq!(
            p.kind,
            format!("urn:sandrun:problem:{kind}"),
            "{path}: {}",
            p.detail
        );
        assert_eq!(p.field.as_deref(), field, "{path}: {}", p.detail);
    }
    // JSON does not tell `3.0` from `3`, and neither does the schema.
    let whole = code(json!({"priority": 3.0, "max_attempts": 2.0, "limits": {"fuel": 1e9}}));
    let task = app.submit(whole).await;
    assert_eq!((task.priority, task.max_attempts), (3, 2));
    let not_json = app
        .http
        .post(app.url("/v1/tasks"))
        .header("content-type", "application/json")
        .body("\u{0}\u{1}not json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(not_json, 400).await.kind,
        "urn:sandrun:problem:malformed"
    );
    still_serving(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let made = app.get("/v1/tasks/none").await;
    assert_eq!(made.status(), 404);
    assert!(!made.headers()["x-request-id"].is_empty());
    let given = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "trace-me-42");
    app.stop().await;
}

/// The server's own layers around a handler that panics, on a real socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_answers_a_500_problem() {
    let router = Router::new().route(
        "/boom",
        get(|| async {
            panic!("a handler's bug");
            #[allow(unreachable_code)]
            ""
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, sandrun::server::observed(router))
            .await
            .unwrap()
    });
    let http = reqwest::Client::new();
    for _ in 0..2 {
        let response = http
            .get(format!("http://{address}/boom"))
            .send()
            .await
            .expect("an answer, not a dropped connection");
        assert!(!response.headers()["x-request-id"].is_empty());
        let p = problem(response, 500).await;
        assert_eq!(p.kind, "urn:sandrun:problem:internal");
        assert!(p.detail.contains("x-request-id"), "{}", p.detail);
        assert!(!p.detail.contains("a handler's bug"), "{}", p.detail);
    }
    server.abort();
}

/// Every operation lists the problems it can answer, whatever path or
/// method is added later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_lists_every_operations_problems() {
    let app = spawn_app().await;
    let doc: Value = app.get("/v1/openapi.json").await.json().await.unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let at = format!("{method} {path}");
            let responses = operation["responses"].as_object().unwrap();
            let has = |status: &str| responses.contains_key(status);
            assert!(has("500"), "{at}");
            let takes_input = operation.get("requestBody").is_some()
                || operation["parameters"]
                    .as_array()
                    .is_some_and(|p| !p.is_empty());
            if takes_input {
                assert!(has("400"), "{at}");
            }
            if operation["requestBody"]["content"]["application/json"].is_object() {
                assert!(has("413") && has("415"), "{at}");
            }
            if path.starts_with("/v1/") && path != "/v1/openapi.json" {
                assert!(has("401") && has("503"), "{at}");
            }
            for (status, response) in responses {
                if status.as_str() < "400" || at == "get /readyz" {
                    continue;
                }
                let schema = &response["content"]["application/problem+json"]["schema"];
                assert_eq!(
                    schema["$ref"], "#/components/schemas/Problem",
                    "{at} {status}"
                );
                assert!(
                    response["description"]
                        .as_str()
                        .unwrap()
                        .contains("urn:sandrun:problem:"),
                    "{at} {status}"
                );
            }
        }
    }
    assert!(operations >= 14, "{operations}");
    app.stop().await;
}

/// The constraints the server enforces are in the schemas.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_states_the_servers_limits() {
    let app = spawn_app().await;
    let doc: Value = app.get("/v1/openapi.json").await.json().await.unwrap();
    let schemas = &doc["components"]["schemas"];
    let maximum = LimitPolicy::default().maximum;
    let limits = &schemas["Limits"]["properties"];
    assert_eq!(limits["fuel"]["maximum"], maximum.fuel);
    assert_eq!(limits["memory_bytes"]["maximum"], maximum.memory_bytes);
    assert_eq!(limits["open_files"]["maximum"], maximum.open_files);
    assert_eq!(limits["timeout_ms"]["minimum"], 1);
    let batch = &schemas["BatchRequest"]["properties"]["tasks"];
    assert_eq!(
        (&batch["minItems"], &batch["maxItems"]),
        (&json!(1), &json!(1000))
    );
    let variants = schemas["TaskRequest"]["oneOf"].as_array().unwrap();
    let required: Vec<&Value> = variants.iter().map(|v| &v["required"]).collect();
    assert_eq!(
        required,
        [&json!(["runtime", "code"]), &json!(["runtime", "module"])]
    );
    let list = &doc["paths"]["/v1/tasks"]["get"]["parameters"];
    let limit = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(
        (&limit["schema"]["minimum"], &limit["schema"]["maximum"]),
        (&json!(1), &json!(500))
    );
    app.stop().await;
}
