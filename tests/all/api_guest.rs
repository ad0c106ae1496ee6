//! Task modules through the real server: JSON input and output, logs and
//! progress as events, key-value data kept in the database, and modules
//! registered by name and version. Every example runs here too.

use std::time::Duration;

use sandrun_api::{ModuleInfo, Problem, Task, TaskEvent, TaskStatus};
use serde_json::{Value, json};

use crate::app::{TestApp, spawn_app};

fn example(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../examples/python/{name}/task.py",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn output(task: &Task) -> &Value {
    assert_eq!(task.status, TaskStatus::Succeeded, "{task:?}");
    task.result
        .as_ref()
        .unwrap()
        .output
        .as_ref()
        .expect("an output")
}

async fn upload_named(app: &TestApp, path: &str, name: &str, version: &str) -> reqwest::Response {
    let bytes = std::fs::read(path).unwrap();
    app.http
        .post(app.url(&format!("/v1/modules?name={name}&version={version}")))
        .body(bytes)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_goes_in_and_output_comes_back() {
    let app = spawn_app().await;
    let code =
        "import sandrun\nn = sandrun.input()['n']\nsandrun.output({'double': n * 2, 'note': 'ok'})";
    let task = app
        .run(json!({"runtime": "python", "code": code, "input": {"n": 21}}))
        .await;
    assert_eq!(output(&task), &json!({"double": 42, "note": "ok"}));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_and_progress_show_while_the_task_runs() {
    let app = spawn_app().await;
    let code = "import sandrun, time\nsandrun.log('warn', 'halfway')\nsandrun.progress(0.5)\ntime.sleep(1.5)\nsandrun.progress(1)";
    let task = app.submit(json!({"runtime": "python", "code": code})).await;
    let mut seen = None;
    for _ in 0..100 {
        let now = app.task(&task.id).await;
        if now.progress == Some(0.5) {
            seen = Some(now.status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        seen,
        Some(TaskStatus::Running),
        "progress was visible while running"
    );
    let ended = app.until_ended(&task.id).await;
    assert_eq!(ended.progress, Some(1.0));
    let result = ended.result.unwrap();
    assert_eq!(result.logs.len(), 1);
    assert_eq!(result.logs[0].message, "halfway");

    let events = crate::api_events::read_events(&app, &task.id).await;
    let kinds: Vec<&str> = events.iter().map(|(e, _)| e.name()).collect();
    assert_eq!(
        kinds,
        [
            "status", "status", "log", "progress", "progress", "status", "end"
        ]
    );
    match &events[2].0 {
        TaskEvent::Log { line } => assert_eq!(line.message, "halfway"),
        other => panic!("{other:?}"),
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_data_persists_in_the_database_per_namespace() {
    let app = spawn_app().await;
    let count = |ns: &str, by: i64| json!({"runtime": "python", "code": example("kv_counter"), "kv_namespace": ns, "input": {"name": "hits", "by": by}});
    assert_eq!(
        output(&app.run(count("team-a", 2)).await)["total"],
        json!(2)
    );
    assert_eq!(
        output(&app.run(count("team-a", 3)).await)["total"],
        json!(5)
    );
    assert_eq!(
        output(&app.run(count("team-b", 1)).await)["total"],
        json!(1),
        "namespaces are apart"
    );
    let db = app.stop().await;

    // A new server on the same database finds the data.
    let app = crate::app::spawn_on_dir(db).await;
    assert_eq!(
        output(&app.run(count("team-a", 1)).await)["total"],
        json!(6)
    );
    let without = app
        .run(json!({"runtime": "python", "code": "import sandrun\ntry:\n    sandrun.kv.get('x')\nexcept sandrun.HostCallError as e:\n    print(e.code)"}))
        .await;
    assert_eq!(
        without.result.unwrap().stdout.to_string_lossy(),
        "kv_unavailable\n"
    );
    let bad = app
        .post(
            "/v1/tasks",
            &json!({"runtime": "python", "code": "", "kv_namespace": "no spaces"}),
        )
        .await;
    assert_eq!(
        bad.json::<Problem>().await.unwrap().field.as_deref(),
        Some("kv_namespace")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modules_are_run_by_name_and_version() {
    let app = spawn_app().await;
    let first = upload_named(&app, sandrun_test_guests::WORDCOUNT, "wordcount", "1.2.0").await;
    assert_eq!(first.status(), 201);
    let wordcount: ModuleInfo = first.json().await.unwrap();
    assert_eq!(wordcount.names, ["wordcount@1.2.0"]);
    // A higher version (by semver, not by text) under the same name.
    let newer: ModuleInfo =
        upload_named(&app, sandrun_test_guests::MARKDOWN, "wordcount", "1.10.0")
            .await
            .json()
            .await
            .unwrap();
    let taken = upload_named(&app, sandrun_test_guests::CSV_FILTER, "wordcount", "1.2.0").await;
    assert_eq!(taken.status(), 409);

    let input = json!({"text": "a b a", "top": 1});
    let pinned = app
        .run(json!({"runtime": "wasm", "module": "wordcount@1.2.0", "input": input}))
        .await;
    assert_eq!(output(&pinned)["total_words"], json!(3));
    let latest = app
        .run(json!({"runtime": "wasm", "module": "wordcount", "input": {"markdown": "*x*"}}))
        .await;
    assert_eq!(output(&latest)["html"], json!("<p><em>x</em></p>\n"));
    let by_hash = app
        .run(json!({"runtime": "wasm", "module": newer.hash, "input": {"markdown": "y"}}))
        .await;
    assert_eq!(output(&by_hash)["html"], json!("<p>y</p>\n"));

    for (module, field) in [
        ("wordcount@9.9.9", "module"),
        ("nothing", "module"),
        ("wordcount@x", "module"),
    ] {
        let response = app
            .post("/v1/tasks", &json!({"runtime": "wasm", "module": module}))
            .await;
        assert_eq!(response.status(), 400, "{module}");
        assert_eq!(
            response.json::<Problem>().await.unwrap().field.as_deref(),
            Some(field)
        );
    }
    let unversioned = app
        .http
        .post(app.url("/v1/modules?name=x"))
        .body(std::fs::read(sandrun_test_guests::WORDCOUNT).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(unversioned.status(), 400);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_runs_through_the_server() {
    let app = spawn_app().await;
    for (path, name, input, key, expected) in [
        (
            sandrun_test_guests::WORDCOUNT,
            "wordcount",
            json!({"text": "to be or not to be", "top": 1}),
            "top",
            json!([["be", 2]]),
        ),
        (
            sandrun_test_guests::CSV_FILTER,
            "csv-filter",
            json!({"csv": "k\n1\n2\n", "column": "k", "equals": "2"}),
            "rows",
            json!([{"k": "2"}]),
        ),
        (
            sandrun_test_guests::MARKDOWN,
            "markdown",
            json!({"markdown": "# T"}),
            "html",
            json!("<h1>T</h1>\n"),
        ),
    ] {
        assert!(
            upload_named(&app, path, name, "1.2.0")
                .await
                .status()
                .is_success()
        );
        let task = app
            .run(json!({"runtime": "wasm", "module": format!("{name}@1.2.0"), "input": input}))
            .await;
        assert_eq!(output(&task)[key], expected, "{name}");
    }
    let csv = std::fs::read_to_string(format!(
        "{}/../examples/python/pandas_summary/sales.csv",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let summary = app
        .run(json!({"runtime": "python", "code": example("pandas_summary"), "files": {"sales.csv": csv},
                    "input": {"file": "sales.csv", "group": "region", "value": "units"}}))
        .await;
    assert_eq!(output(&summary)["rows"], json!(5));
    let numeric = app
        .run(json!({"runtime": "python", "code": example("numeric"), "input": {"x": [0, 1, 2, 3], "y": [2.0, 3.2974425414, 5.4365636569, 8.9633781407]}}))
        .await;
    assert!((output(&numeric)["b"].as_f64().unwrap() - 0.5).abs() < 1e-6);
    let counter = app.run(json!({"runtime": "python", "code": example("kv_counter"), "kv_namespace": "ex", "input": {"name": "n"}})).await;
    assert_eq!(output(&counter)["total"], json!(1));
    app.stop().await;
}
