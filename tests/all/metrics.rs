//! `/metrics` and structured logs, against real servers: the exposition
//! parses (and passes `promtool check metrics`), its counters move by what
//! the tasks and requests did, every series names its node, routes are
//! templates; API keys guard it, or `--metrics-bind` serves it apart; and
//! `--log-format json` writes lines that carry a task's id and attempt.

mod exposition;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use sandrun_api::{NodeList, Outcome, TaskStatus};
use serde_json::{Value, json};

use crate::api_errors::problem;
use crate::app::{python, spawn_app, spawn_app_with};
use crate::support::{home, post_task, sandbox};
pub use exposition::{scrape, scrape_at};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_move_by_what_the_tasks_and_requests_did() {
    let app = spawn_app().await;
    let before = scrape(&app).await;
    let succeeded = app.run(python("print(1)")).await;
    let failed = app.run(python("import sys\nsys.exit(3)")).await;
    let called = app
        .run(python(
            "import sandrun\nsandrun.output({'a': 1})\nsandrun.progress(0.5)\nsandrun.log('info', 'hi')",
        ))
        .await;
    assert_eq!(succeeded.status, TaskStatus::Succeeded, "{succeeded:?}");
    assert_eq!(failed.status, TaskStatus::Failed, "{failed:?}");
    assert_eq!(called.status, TaskStatus::Succeeded, "{called:?}");
    assert_eq!(
        app.get(&format!("/v1/tasks/{}", failed.id)).await.status(),
        200
    );
    assert_eq!(app.get("/no/such/path").await.status(), 404);
    let after = scrape(&app).await;
    let moved =
        |name: &str, with: &[(&str, &str)]| after.value(name, with) - before.value(name, with);

    let python_ = [("runtime", "python")];
    assert_eq!(moved("sandrun_tasks_submitted_total", &python_), 3.0);
    let ended = |status, outcome| {
        moved(
            "sandrun_tasks_ended_total",
            &[
                ("runtime", "python"),
                ("status", status),
                ("outcome", outcome),
            ],
        )
    };
    assert_eq!(ended("succeeded", "succeeded"), 2.0);
    assert_eq!(ended("failed", "exited"), 1.0);
    assert_eq!(moved("sandrun_tasks_ended_total", &[]), 3.0);
    for histogram in [
        "sandrun_task_queue_wait_seconds",
        "sandrun_task_run_seconds",
        "sandrun_task_latency_seconds",
        "sandrun_task_peak_memory_bytes",
    ] {
        assert_eq!(after.types[histogram], "histogram");
        assert_eq!(
            moved(&format!("{histogram}_count"), &python_),
            3.0,
            "{histogram}"
        );
        let all = [("runtime", "python"), ("le", "+Inf")];
        assert_eq!(
            moved(&format!("{histogram}_bucket"), &all),
            3.0,
            "{histogram}"
        );
    }
    assert!(moved("sandrun_task_run_seconds_sum", &python_) > 0.0);
    let results = [&succeeded, &failed, &called].map(|t| t.result.clone().unwrap());
    let fuel: u64 = results.iter().map(|r| r.fuel_used).sum();
    assert_eq!(moved("sandrun_fuel_consumed_total", &python_), fuel as f64);
    let peak: u64 = results.iter().map(|r| r.peak_memory_bytes).sum();
    assert_eq!(
        moved("sandrun_task_peak_memory_bytes_sum", &python_),
        peak as f64
    );
    for kind in ["output", "progress", "log"] {
        assert_eq!(
            moved("sandrun_host_calls_total", &[("kind", kind)]),
            1.0,
            "{kind}"
        );
    }

    let http = |method, route, status| {
        let with = [("method", method), ("route", route), ("status", status)];
        moved("sandrun_http_requests_total", &with)
    };
    assert_eq!(http("POST", "/v1/tasks", "200"), 3.0);
    assert_eq!(http("GET", "/v1/tasks/{id}", "200"), 1.0);
    assert_eq!(http("GET", "unmatched", "404"), 1.0);
    // A scrape is counted once answered: the second sees the first.
    assert_eq!(http("GET", "/metrics", "200"), 1.0);
    let timed = [
        ("method", "POST"),
        ("route", "/v1/tasks"),
        ("status", "200"),
    ];
    assert_eq!(
        moved("sandrun_http_request_duration_seconds_count", &timed),
        3.0
    );
    for sample in &after.samples {
        if let Some(route) = sample.labels.get("route") {
            assert!(route == "unmatched" || route.starts_with('/'), "{sample:?}");
            assert!(
                !route.contains(&failed.id),
                "a path, not a template: {sample:?}"
            );
        }
    }

    assert_eq!(
        after.value("sandrun_queue_depth", &[("status", "queued")]),
        0.0
    );
    assert_eq!(
        after.value("sandrun_queue_depth", &[("status", "running")]),
        0.0
    );
    assert_eq!(after.value("sandrun_tasks_running", &[]), 0.0);
    let connections: Vec<_> = after.matching("sandrun_db_connections", &[]).collect();
    assert_eq!(connections.len(), 2, "in use and idle: {connections:?}");
    assert!(after.value("sandrun_db_connections", &[]) >= 1.0);

    let nodes: NodeList = app.get("/v1/nodes").await.json().await.unwrap();
    let node = &nodes.nodes[0].id;
    for sample in &after.samples {
        assert_eq!(sample.labels.get("node"), Some(node), "{sample:?}");
    }
    promtool_accepts(&after.text);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn levels_are_read_at_the_scrape() {
    let app = spawn_app_with(|args| args.slots = Some(1)).await;
    let busy = app.submit(python("while True:\n    pass")).await;
    app.until_status(&busy.id, TaskStatus::Running).await;
    let waiting = app.submit(python("print('never')")).await;
    let during = scrape(&app).await;
    assert_eq!(
        during.value("sandrun_queue_depth", &[("status", "running")]),
        1.0
    );
    assert_eq!(
        during.value("sandrun_queue_depth", &[("status", "queued")]),
        1.0
    );
    assert_eq!(during.value("sandrun_tasks_running", &[]), 1.0);

    for task in [&waiting, &busy] {
        let cancel = app
            .post(&format!("/v1/tasks/{}/cancel", task.id), &json!({}))
            .await;
        assert!(cancel.status().is_success(), "{}", cancel.status());
        app.until_ended(&task.id).await;
    }
    let after = scrape(&app).await;
    let ended = |outcome| {
        let with = [("status", "cancelled"), ("outcome", outcome)];
        after.value("sandrun_tasks_ended_total", &with)
            - during.value("sandrun_tasks_ended_total", &with)
    };
    assert_eq!(
        ended("none"),
        1.0,
        "the queued one, cancelled before it ran"
    );
    assert_eq!(ended("cancelled"), 1.0, "the running one, stopped");
    assert_eq!(after.value("sandrun_queue_depth", &[]), 0.0);
    assert_eq!(after.value("sandrun_tasks_running", &[]), 0.0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_a_key_when_the_api_does() {
    let app = spawn_app_with(|args| args.api_keys = vec!["secret".into()]).await;
    let p = problem(app.get("/metrics").await, 401).await;
    assert_eq!(p.kind, "urn:sandrun:problem:unauthorized");
    let wrong = app.http.get(app.url("/metrics")).bearer_auth("guess");
    assert_eq!(wrong.send().await.unwrap().status(), 401);
    let scraped = scrape_at(&app.http, &app.address, Some("secret")).await;
    assert_eq!(
        scraped.value(
            "sandrun_http_requests_total",
            &[("route", "/metrics"), ("status", "401")]
        ),
        2.0
    );
    let doc: Value = app.get("/v1/openapi.json").await.json().await.unwrap();
    let metrics = &doc["paths"]["/metrics"]["get"];
    assert_eq!(metrics["security"], json!([{ "bearer": [] }]), "{metrics}");
    assert!(metrics["responses"]["401"].is_object(), "{metrics}");
    assert!(
        metrics["responses"]["200"]["content"]["text/plain"].is_object(),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_bind_serves_them_apart_without_a_key() {
    let app = spawn_app_with(|args| {
        args.api_keys = vec!["secret".into()];
        args.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let apart = app.metrics_address.clone().expect("a metrics listener");
    let on_api = app.http.get(app.url("/metrics")).bearer_auth("secret");
    let p = problem(on_api.send().await.unwrap(), 404).await;
    assert_eq!(p.kind, "urn:sandrun:problem:not-found");
    let scraped = scrape_at(&app.http, &apart, None).await;
    // One recorder for both listeners: the API's 404 is counted here.
    let unmatched = [("route", "unmatched"), ("status", "404")];
    assert_eq!(
        scraped.value("sandrun_http_requests_total", &unmatched),
        1.0
    );
    let other = app
        .http
        .get(format!("{apart}/v1/tasks"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        404,
        "the metrics listener serves nothing else"
    );
    let doc: Value = app
        .http
        .get(app.url("/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        doc["paths"].get("/metrics").is_none(),
        "not served on the API's port"
    );
    app.stop().await;
}

/// `sandrun serve --log-format json`: every line is a JSON object, and a
/// task's lines carry its id and attempt from the task's span.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_task_id_and_attempt() {
    tokio::task::spawn_blocking(|| sandbox().clone())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sandrun.db").display());
    let mut server = Command::new(env!("CARGO_BIN_EXE_sandrun"))
        .args(["serve", "--bind", "127.0.0.1:0", "--database-url", &url])
        .args(["--workers", "0", "--log-format", "json"])
        .env("SANDRUN_HOME", home().root())
        .env("RUST_LOG", "sandrun=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sandrun serve starts");
    let mut stdout = BufReader::new(server.stdout.take().unwrap()).lines();
    let line = stdout.next().expect("the listening line").unwrap();
    let address = line
        .strip_prefix("sandrun listening on ")
        .unwrap()
        .to_owned();
    let stderr = server.stderr.take().unwrap();
    let lines = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    });

    let http = reqwest::Client::new();
    let task: sandrun_api::Task = post_task(
        &http,
        format!("{address}/v1/tasks?wait=60"),
        &python("print('logged')"),
    )
    .await;
    assert_eq!(
        task.result.as_ref().unwrap().outcome,
        Outcome::Succeeded,
        "{task:?}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopped = Command::new("kill")
        .arg(server.id().to_string())
        .status()
        .unwrap();
    assert!(stopped.success());
    server.wait().unwrap();
    let lines = lines.join().unwrap();

    let logged: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let ran = logged
        .iter()
        .find(|line| line["message"] == "ran")
        .unwrap_or_else(|| panic!("no `ran` line in {lines:#?}"));
    assert_eq!(ran["span"]["name"], "task", "{ran}");
    assert_eq!(ran["span"]["task_id"], task.id.as_str(), "{ran}");
    assert_eq!(ran["span"]["attempt"], 1, "{ran}");
    assert_eq!(ran["outcome"], "succeeded", "{ran}");
}

/// `promtool check metrics` passes on `text`. Without promtool the check
/// is skipped with a note, except in CI, where it must be there.
fn promtool_accepts(text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && std::env::var_os("CI").is_none() => {
            eprintln!(
                "note: promtool is not installed (Debian's `prometheus`); its check is skipped"
            );
            return;
        }
        Err(e) => panic!("promtool: {e} (CI installs it from Debian's `prometheus`)"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
