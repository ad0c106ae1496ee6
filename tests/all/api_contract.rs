//! The API keeps its contract at the edges: extreme values get problems and
//! the server keeps serving, a panicking handler still answers, and the
//! OpenAPI document lists every operation's problem responses.

use axum::Router;
use axum::routing::get;
use sandrun::sandbox::LimitPolicy;
use sandrun_api::TaskStatus;
use serde_json::{Value, json};

use crate::api_errors::{problem, still_serving};
use crate::app::{python, spawn_app, spawn_app_with};

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

/// A Python task's body with `extra`'s fields added.
fn with_fields(extra: Value) -> Value {
    let mut body = python("pass");
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_bodies_get_problems() {
    let app = spawn_app().await;
    let code = with_fields;
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
        axum::serve(
            listener,
            sandrun::server::observed(router, &sandrun::metrics::Metrics::new("test")),
        )
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
/// method is added later; with API keys, the bearer scheme and 401 too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_lists_every_operations_problems() {
    let open = spawn_app().await;
    let doc: Value = open.get("/v1/openapi.json").await.json().await.unwrap();
    check_problems(&doc, false);
    assert!(doc["components"].get("securitySchemes").is_none());
    open.stop().await;

    let keyed = spawn_app_with(|args| args.api_keys = vec!["k".into()]).await;
    let doc: Value = keyed.get("/v1/openapi.json").await.json().await.unwrap();
    check_problems(&doc, true);
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"],
        json!({"type": "http", "scheme": "bearer"})
    );
    assert_eq!(
        doc["paths"]["/v1/tasks"]["post"]["security"],
        json!([{"bearer": []}])
    );
    assert!(doc["paths"]["/healthz"]["get"].get("security").is_none());
    keyed.stop().await;
}

fn check_problems(doc: &Value, keyed: bool) {
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
            if operation.get("requestBody").is_some() {
                assert!(has("408") && has("413"), "{at}");
            }
            if operation["requestBody"]["content"]["application/json"].is_object() {
                assert!(has("415"), "{at}");
            }
            // `/metrics` is outside `/v1` but guarded and read as the API is.
            let api =
                (path.starts_with("/v1/") && path != "/v1/openapi.json") || path == "/metrics";
            assert_eq!(has("401"), api && keyed, "{at}");
            if api {
                assert_eq!(has("503"), path != "/v1/runtimes", "{at}");
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

/// Where the schema and serde could disagree, the server takes exactly
/// what the schema allows: objects only where it says object, lengths in
/// characters, times as its pattern writes them, an input that fits in a
/// host call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_takes_what_the_schema_allows_and_no_more() {
    let app = spawn_app().await;
    let with = with_fields;
    let refused = [
        (
            "/v1/batches",
            json!({"tasks": [["python", "pass"]]}),
            "malformed",
            None,
        ),
        (
            "/v1/tasks",
            with(json!({"stdin": ["abc"]})),
            "malformed",
            None,
        ),
        (
            "/v1/tasks",
            with(json!({"files": {"a": {"base64": "YQ==", "x": 1}}})),
            "malformed",
            None,
        ),
        (
            "/v1/tasks",
            with(json!({"files": {"a": {}}})),
            "malformed",
            None,
        ),
        (
            "/v1/tasks",
            with(json!({"labels": {"é".repeat(65): "v"}})),
            "validation",
            Some(format!("labels.{}", "é".repeat(65))),
        ),
        (
            "/v1/tasks",
            with(json!({"labels": {"k": "é".repeat(257)}})),
            "validation",
            Some("labels.k".to_owned()),
        ),
        (
            "/v1/tasks",
            with(json!({"idempotency_key": "é".repeat(257)})),
            "validation",
            Some("idempotency_key".to_owned()),
        ),
        (
            "/v1/tasks",
            with(json!({"files": {"é".repeat(64): "x"}})),
            "validation",
            Some(format!("files.{}", "é".repeat(64))),
        ),
        (
            "/v1/tasks",
            with(json!({"files": {"a".repeat(256): "x"}})),
            "validation",
            Some(format!("files.{}", "a".repeat(256))),
        ),
        (
            "/v1/tasks",
            with(json!({"input": "x".repeat(2000), "limits": {"host_call_bytes": 1000}})),
            "validation",
            Some("input".to_owned()),
        ),
    ];
    for (path, body, kind, field) in refused {
        let p = problem(app.post(path, &body).await, 400).await;
        assert_eq!(
            p.kind,
            format!("urn:sandrun:problem:{kind}"),
            "{}",
            p.detail
        );
        assert_eq!(p.field, field, "{}", p.detail);
    }
    let taken = with(json!({
        "stdin": {"base64": "YQ=="},
        "labels": {"é".repeat(64): "é".repeat(256)},
        "idempotency_key": "é".repeat(256),
        "files": {"é".repeat(63): "x", "a".repeat(255): "y"},
    }));
    let response = app.post("/v1/tasks", &taken).await;
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
    for (time, status) in [
        ("2026-01-31T12:00:00Z", 200),
        ("2026-01-31 12:00:00", 200),
        ("2026-01-31T12:00:00.%2B00:00", 200),
        ("2024-02-29T00:00:00.123456789Z", 200),
        ("1970-01-01T00:00:00Z", 200),
        ("2026-02-29T00:00:00Z", 400),
        ("2026-01-31T12:00:00%2B01:00", 400),
        ("2026-01-31t12:00:00z", 400),
        ("2026-1-31T12:00:00Z", 400),
        ("2026-01-31T24:00:00Z", 400),
    ] {
        let response = app.get(&format!("/v1/tasks?created_after={time}")).await;
        assert_eq!(response.status(), status, "{time}");
    }
    still_serving(&app).await;
    app.stop().await;
}
