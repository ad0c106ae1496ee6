use std::time::Duration;

use futures::StreamExt;
use sandrun_api::{TaskEvent, TaskStatus};

use crate::app::{TestApp, python, spawn_app};

/// Read the task's SSE stream to its end, noting the task's status each
/// time an output event arrives.
pub async fn read_events(app: &TestApp, id: &str) -> Vec<(TaskEvent, TaskStatus)> {
    let response = app.get(&format!("/v1/tasks/{id}/events")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.bytes_stream();
    let mut buffer = String::new();
    let mut events = Vec::new();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(30), body.next())
        .await
        .unwrap()
    {
        buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data: ")) else {
                continue;
            };
            let event: TaskEvent = serde_json::from_str(data).unwrap();
            let name = frame
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap();
            assert_eq!(name, event.name());
            let status = app.task(id).await.status;
            let ended = matches!(event, TaskEvent::End { .. });
            events.push((event, status));
            if ended {
                return events;
            }
        }
    }
    panic!("the stream ended without an end event: {events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stream_live_output_then_the_end() {
    let app = spawn_app().await;
    let code =
        "import time\nfor i in range(3):\n    print('tick', i, flush=True)\n    time.sleep(0.4)";
    let task = app.submit(python(code)).await;
    let events = read_events(&app, &task.id).await;

    let output: String = events
        .iter()
        .filter_map(|(e, _)| match e {
            TaskEvent::Stdout { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(output, "tick 0\ntick 1\ntick 2\n");
    let live = events
        .iter()
        .filter(|(e, s)| matches!(e, TaskEvent::Stdout { .. }) && *s == TaskStatus::Running)
        .count();
    assert!(live >= 2, "output arrived while the task ran: {events:?}");
    let statuses: Vec<TaskStatus> = events
        .iter()
        .filter_map(|(e, _)| match e {
            TaskEvent::Status { status, .. } => Some(*status),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        [
            TaskStatus::Queued,
            TaskStatus::Running,
            TaskStatus::Succeeded
        ]
    );
    match &events.last().unwrap().0 {
        TaskEvent::End { task } => assert_eq!(task.status, TaskStatus::Succeeded),
        other => panic!("last event {other:?}"),
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_subscriber_gets_everything_that_happened() {
    let app = spawn_app().await;
    let task = app
        .run(python(
            "print('early bird', flush=True)\nimport sys\nprint('oops', file=sys.stderr)",
        ))
        .await;
    let events = read_events(&app, &task.id).await;
    let kinds: Vec<&str> = events.iter().map(|(e, _)| e.name()).collect();
    assert_eq!(
        kinds,
        ["status", "status", "stdout", "stderr", "status", "end"]
    );
    assert_eq!(app.get("/v1/tasks/missing/events").await.status(), 404);
    app.stop().await;
}
