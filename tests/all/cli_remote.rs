//! The CLI's remote commands against a real server.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use sandrun_api::{Task, TaskStatus};

use crate::app::{TestApp, python, spawn_app};

/// The `sandrun` binary, talking to `app`.
pub fn sandrun_for(app: &TestApp) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sandrun"));
    command.env("SANDRUN_SERVER", &app.address);
    command
}

/// `sandrun ARGS` against `app`, run to its end.
pub async fn sandrun(app: &TestApp, args: &[&str]) -> Output {
    sandrun_fed(app, args, "").await
}

/// `sandrun ARGS` against `app` with `input` on its stdin, run to its end.
pub async fn sandrun_fed(app: &TestApp, args: &[&str], input: &str) -> Output {
    let mut command = sandrun_for(app);
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let input = input.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // A child that ended before reading it all is judged by its output.
        if let Err(e) = stdin.write_all(input.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
        drop(stdin);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_wait_prints_output_and_exits_with_the_code() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("job.py");
    std::fs::write(
        &script,
        "import sys\nprint('remote', sys.argv[1:])\nsys.exit(6)",
    )
    .unwrap();
    let out = sandrun(
        &app,
        &[
            "submit",
            script.to_str().unwrap(),
            "--wait",
            "--label",
            "k=v",
            "--",
            "z",
        ],
    )
    .await;
    assert_eq!(text(&out.stdout), "remote ['z']\n", "{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(6));

    let out = sandrun(
        &app,
        &[
            "submit",
            sandrun_test_guests::ECHO,
            "--wait",
            "--stdin",
            script.to_str().unwrap(),
        ],
    )
    .await;
    assert!(
        text(&out.stdout).contains("stdin: import sys"),
        "{}",
        text(&out.stderr)
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_status_logs_list_and_cancel() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("job.py");
    std::fs::write(&script, "print('logged')").unwrap();
    let out = sandrun(&app, &["submit", script.to_str().unwrap()]).await;
    let id = text(&out.stdout).trim().to_owned();
    app.until_ended(&id).await;

    let status: Task =
        serde_json::from_slice(&sandrun(&app, &["status", &id]).await.stdout).unwrap();
    assert_eq!(status.status, TaskStatus::Succeeded);
    assert_eq!(
        text(&sandrun(&app, &["logs", &id]).await.stdout),
        "logged\n"
    );
    let listing = text(&sandrun(&app, &["list"]).await.stdout);
    assert!(
        listing.contains(&id) && listing.contains("succeeded"),
        "{listing}"
    );

    let looping = app
        .submit(python(
            "import time\nprint('started', flush=True)\ntime.sleep(60)",
        ))
        .await;
    app.until_status(&looping.id, TaskStatus::Running).await;
    let follow = {
        let mut command = sandrun_for(&app);
        command.args(["logs", "--follow", &looping.id]);
        tokio::task::spawn_blocking(move || command.output().unwrap())
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let cancelled: Task =
        serde_json::from_slice(&sandrun(&app, &["cancel", &looping.id]).await.stdout).unwrap();
    assert_eq!(cancelled.id, looping.id);
    let followed = follow.await.unwrap();
    assert_eq!(text(&followed.stdout), "started\n");
    assert_eq!(
        followed.status.code(),
        Some(130),
        "{}",
        text(&followed.stderr)
    );

    let missing = sandrun(&app, &["status", "nope"]).await;
    assert_eq!(missing.status.code(), Some(125));
    assert!(
        text(&missing.stderr).contains("Not found (404): no task nope"),
        "{}",
        text(&missing.stderr)
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_wait_saves_artifacts_and_images_and_artifacts_lists_and_downloads() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("chart.py");
    let code = format!(
        "{}\n{}\nimport os\nos.makedirs('/output/sub')\n_ = open('/output/sub/a.txt', 'w').write('A')",
        crate::artifacts::CHART,
        crate::cli::CHART_AND_FIGURE
    );
    std::fs::write(&script, code).unwrap();
    let saved = dir.path().join("saved");
    let out = sandrun(
        &app,
        &[
            "submit",
            script.to_str().unwrap(),
            "--wait",
            "--output-dir",
            saved.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("done\n'shown'\n<Figure"), "{stdout}");
    let chart = std::fs::read(saved.join("chart.png")).expect("downloaded");
    assert_eq!(crate::artifacts::png_size(&chart), (400, 300));
    assert_eq!(std::fs::read(saved.join("sub/a.txt")).unwrap(), b"A");
    assert!(saved.join("result-2.png").is_file());
    assert!(
        text(&out.stderr).contains("result 2 (image/png) saved to"),
        "{}",
        text(&out.stderr)
    );

    let id = app
        .get("/v1/tasks?limit=1")
        .await
        .json::<sandrun_api::TaskPage>()
        .await
        .unwrap()
        .tasks[0]
        .id
        .clone();
    let listing = text(&sandrun(&app, &["artifacts", &id]).await.stdout);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 2, "{listing}");
    assert!(
        lines[0].contains("image/png") && lines[0].ends_with("chart.png"),
        "{listing}"
    );
    assert!(
        lines[1].contains("text/plain") && lines[1].ends_with("sub/a.txt"),
        "{listing}"
    );
    let again = dir.path().join("again");
    let out = sandrun(&app, &["artifacts", &id, "--out", again.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(again.join("chart.png")).unwrap(), chart);
    assert_eq!(std::fs::read(again.join("sub/a.txt")).unwrap(), b"A");
    app.stop().await;
}

#[test]
fn migrate_creates_the_schema_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fresh.db");
    let out = Command::new(env!("CARGO_BIN_EXE_sandrun"))
        .args([
            "migrate",
            "--database-url",
            &format!("sqlite://{}", db.display()),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "database is up to date\n");
    assert!(db.is_file());
}
