//! `/v1/overview` and its event stream, `/v1/tasks/{id}/request`, the
//! times on status events, and the dashboard's assets, against a real
//! server.

use std::time::Duration;

use futures::StreamExt;
use sandrun_api::{Overview, TaskEvent, TaskRequest, TaskStatus};
use serde_json::{Value, json};

use crate::api_events::read_events;
use crate::app::{python, spawn_app, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_counts_the_queue_and_what_ended() {
    let app = spawn_app().await;
    let empty: Overview = app.get("/v1/overview").await.json().await.unwrap();
    assert_eq!(empty.counts.succeeded + empty.counts.failed, 0);
    assert_eq!(empty.ended.len(), 30);
    assert_eq!(empty.interval_seconds, 30);
    assert!(empty.recent_failures.is_empty());

    let ok = app.run(python("print(1)")).await;
    let failed = app.run(python("raise SystemExit(3)")).await;
    assert_eq!(failed.status, TaskStatus::Failed, "{failed:?}");
    let overview: Overview = app.get("/v1/overview").await.json().await.unwrap();
    assert_eq!((overview.counts.succeeded, overview.counts.failed), (1, 1));
    let ended: u64 = overview
        .ended
        .iter()
        .map(|i| i.succeeded + i.failed + i.cancelled)
        .sum();
    assert_eq!(ended, 2, "{:?}", overview.ended);
    // The last interval is the one filling now.
    let last = overview.ended.last().unwrap();
    assert_eq!(last.succeeded + last.failed, 2, "{:?}", overview.ended);
    assert_eq!(overview.nodes.len(), 1, "{:?}", overview.nodes);
    assert_eq!(overview.recent_failures.len(), 1);
    assert_eq!(overview.recent_failures[0].id, failed.id);
    assert_eq!(overview.newest_task_id.as_deref(), Some(failed.id.as_str()));
    assert_ne!(ok.id, failed.id);

    let short: Overview = app
        .get("/v1/overview?window=60")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(short.interval_seconds, 2);
    for bad in [
        "window=59",
        "window=86401",
        "window=-1",
        "window=x",
        "other=1",
    ] {
        let response = app.get(&format!("/v1/overview?{bad}")).await;
        assert_eq!(response.status(), 400, "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_stream_sends_it_now_and_again_when_it_changes() {
    let app = spawn_app().await;
    let response = app.get("/v1/overview/events").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.bytes_stream();
    let mut buffer = String::new();
    let mut next = async || -> Overview {
        loop {
            if let Some(end) = buffer.find("\n\n") {
                let frame: String = buffer.drain(..end + 2).collect();
                if let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data: ")) {
                    assert!(frame.contains("event: overview"), "{frame}");
                    return serde_json::from_str(data).unwrap();
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), body.next())
                .await
                .expect("an event within 10 s")
                .unwrap()
                .unwrap();
            buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    let first = next().await;
    assert_eq!(first.counts.succeeded, 0);
    app.run(python("print(1)")).await;
    loop {
        let overview = next().await;
        if overview.counts.succeeded == 1 {
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tasks_request_is_kept_as_submitted() {
    let app = spawn_app().await;
    let request = json!({
        "runtime": "python", "code": "print(input())", "stdin": "hi\n",
        "env": {"A": "1"}, "labels": {"team": "red"}, "input": {"n": 2},
        "limits": {"timeout_ms": 5000}, "priority": 3, "idempotency_key": "kept-1"
    });
    let task = app.submit(request.clone()).await;
    let kept: TaskRequest = app
        .get(&format!("/v1/tasks/{}/request", task.id))
        .await
        .json()
        .await
        .unwrap();
    let expected: TaskRequest = serde_json::from_value(request).unwrap();
    assert_eq!(kept, expected);
    let missing = app.get("/v1/tasks/no-such-task/request").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_events_say_when_they_happened() {
    let app = spawn_app().await;
    let task = app.run(python("print(1)")).await;
    let events = read_events(&app, &task.id).await;
    let times: Vec<humantime::Timestamp> = events
        .iter()
        .filter_map(|(e, _)| match e {
            TaskEvent::Status { at, .. } => Some(at.as_deref().expect("a time").parse().unwrap()),
            _ => None,
        })
        .collect();
    assert!(times.len() >= 3, "queued, running, succeeded: {events:?}");
    let times: Vec<std::time::SystemTime> = times.into_iter().map(Into::into).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_is_served_from_the_binary_without_a_key() {
    let app = spawn_app_with(|args| args.api_keys = vec!["dash".into()]).await;
    let page = app.get("/").await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let tag = page.headers()["etag"].clone();
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<script type="module" src="/assets/app.js">"#),
        "{html}"
    );
    let again = app
        .http
        .get(app.url("/"))
        .header("if-none-match", tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    // The data is not: it needs the key.
    assert_eq!(app.get("/v1/overview").await.status(), 401);

    // Every module the page imports is served, as JavaScript.
    let mut pending = vec!["app.js".to_owned()];
    let mut seen = Vec::new();
    let import = regex::Regex::new(r#"from "\./([A-Za-z0-9_./]+)""#).unwrap();
    while let Some(name) = pending.pop() {
        if seen.contains(&name) {
            continue;
        }
        let response = app.get(&format!("/assets/{name}")).await;
        assert_eq!(response.status(), 200, "{name}");
        assert_eq!(
            response.headers()["content-type"],
            "text/javascript; charset=utf-8",
            "{name}"
        );
        let source = response.text().await.unwrap();
        let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
        for found in import.captures_iter(&source) {
            let path = std::path::Path::new(dir).join(&found[1]);
            pending.push(normalise(&path.to_string_lossy()));
        }
        seen.push(name);
    }
    assert!(seen.len() >= 10, "{seen:?}");
    for css in ["style.css", "icon.svg"] {
        assert_eq!(app.get(&format!("/assets/{css}")).await.status(), 200);
    }
    for missing in [
        "/assets/nope.js",
        "/assets/index.html",
        "/assets/../Cargo.toml",
    ] {
        let response = app.get(missing).await;
        assert_eq!(response.status(), 404, "{missing}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["status"], 404);
    }
}

/// `pages/../api.js` as `api.js`.
fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            part => parts.push(part),
        }
    }
    parts.join("/")
}
