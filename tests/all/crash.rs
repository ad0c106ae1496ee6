//! A server killed with SIGKILL mid-run loses nothing: after a restart every
//! task reaches a terminal state, and the interrupted ones run again.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use sandrun_api::{Task, TaskStatus};
use serde_json::json;

use crate::api_sessions::{open_session_at, run_at, value_at};
use crate::metrics::scrape_at;
use crate::support::{home, post_task, sandbox};

/// `sandrun serve` as a child process; answers it and its address.
pub fn start_server(database_url: &str, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sandrun"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            database_url,
        ])
        .args(extra)
        .env("SANDRUN_HOME", home().root())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("sandrun serve starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines
        .next()
        .expect("the server says where it listens")
        .unwrap();
    let address = line
        .strip_prefix("sandrun listening on ")
        .expect("the listening line")
        .to_owned();
    (child, address)
}

async fn task(http: &reqwest::Client, address: &str, id: &str) -> Task {
    http.get(format!("{address}/v1/tasks/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_run_then_restart_loses_nothing() {
    tokio::task::spawn_blocking(|| sandbox().clone())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sandrun.db").display());
    let (mut server, address) = start_server(&url, &["--slots", "2"]);
    let http = reqwest::Client::new();

    let mut ids = Vec::new();
    for i in 0..6 {
        let body = json!({"runtime": "python", "code": format!("import time\ntime.sleep(1.5)\nprint('done {i}')")});
        let task: Task = post_task(&http, format!("{address}/v1/tasks"), &body).await;
        ids.push(task.id);
    }
    let mut running = Vec::new();
    for _ in 0..200 {
        running.clear();
        for id in &ids {
            if task(&http, &address, id).await.status == TaskStatus::Running {
                running.push(id.clone());
            }
        }
        if running.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        running.len(),
        2,
        "two tasks were running when the server was killed"
    );
    server.kill().unwrap();
    server.wait().unwrap();

    let (mut server, address) = start_server(&url, &["--slots", "2"]);
    for id in &ids {
        let mut ended = task(&http, &address, id).await;
        for _ in 0..300 {
            if ended.status.is_terminal() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            ended = task(&http, &address, id).await;
        }
        assert_eq!(ended.status, TaskStatus::Succeeded, "{ended:?}");
        let expected_attempt = if running.contains(id) { 2 } else { 1 };
        assert_eq!(ended.attempt, expected_attempt, "{ended:?}");
        assert!(
            ended
                .result
                .unwrap()
                .stdout
                .to_string_lossy()
                .starts_with("done")
        );
    }
    // The restarted node gave back the two the killed one held.
    let metrics = scrape_at(&http, &address, None).await;
    assert_eq!(metrics.value("sandrun_lease_reclaims_total", &[]), 2.0);
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn a_second_server_on_the_same_sqlite_file_is_refused() {
    sandbox();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sandrun.db").display());
    let (mut first, _) = start_server(&url, &[]);
    let second = Command::new(env!("CARGO_BIN_EXE_sandrun"))
        .args(["serve", "--bind", "127.0.0.1:0", "--database-url", &url])
        .env("SANDRUN_HOME", home().root())
        .output()
        .unwrap();
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(second.status.code(), Some(125));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("in use by another sandrun server"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_between_session_runs_keeps_every_variable() {
    tokio::task::spawn_blocking(|| sandbox().clone())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sandrun.db").display());
    let (mut server, address) = start_server(&url, &[]);
    let http = reqwest::Client::new();
    let id = open_session_at(&http, &address, &json!({})).await.id;
    run_at(
        &http,
        &address,
        &id,
        "x = 41\nopen('/tmp/kept', 'w').write('yes')",
    )
    .await;
    server.kill().unwrap();
    server.wait().unwrap();

    let (mut server, address) = start_server(&url, &[]);
    assert_eq!(
        value_at(&http, &address, &id, "x + 1, open('/tmp/kept').read()").await,
        "(42, 'yes')"
    );
    server.kill().unwrap();
    server.wait().unwrap();
}
