//! `sandrun session` against a real server: state kept from run to run,
//! values printed as Python's REPL prints them, the exit codes of `sandrun
//! run`, forks and ending.

use std::process::Output;

use sandrun_api::{Session, SessionStatus};

use crate::app::{TestApp, spawn_app};
use crate::cli_remote::{sandrun, sandrun_fed, text};

/// The command's stdout, checking it succeeded.
fn stdout_of(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// `sandrun session run ID -c CODE`'s stdout, checking it succeeded.
async fn run_code(app: &TestApp, id: &str, code: &str) -> String {
    stdout_of(&sandrun(app, &["session", "run", id, "-c", code]).await)
}

/// `sandrun session new FLAGS`, answering the new session's id.
async fn new_session(app: &TestApp, flags: &[&str]) -> String {
    let out = sandrun(app, &[&["session", "new"], flags].concat()).await;
    stdout_of(&out).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_new_run_show_list_fork_and_rm() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.txt");
    std::fs::write(&data, "DATA").unwrap();
    let input = format!("data.txt={}", data.display());
    let id = new_session(
        &app,
        &[
            "--label",
            "agent=cli",
            "--idle-timeout",
            "5m",
            "--ttl",
            "1h",
            "--memory",
            "256MiB",
            "--env",
            "MODE=cli",
            "--input",
            &input,
        ],
    )
    .await;

    assert_eq!(run_code(&app, &id, "x = 41\nprint('set')").await, "set\n");
    let given = "import os\n(os.environ['MODE'], open('/input/data.txt').read())";
    assert_eq!(run_code(&app, &id, given).await, "('cli', 'DATA')\n");
    let from_stdin = sandrun_fed(&app, &["session", "run", &id], "x += 1\nx").await;
    assert_eq!(
        stdout_of(&from_stdin),
        "42\n",
        "the trailing value, printed"
    );
    let file = dir.path().join("more.py");
    std::fs::write(&file, "print('file')\n(x, 'kept')").unwrap();
    let from_file = sandrun(&app, &["session", "run", &id, file.to_str().unwrap()]).await;
    assert_eq!(stdout_of(&from_file), "file\n(42, 'kept')\n");
    assert_eq!(run_code(&app, &id, "None").await, "", "None is not printed");

    let shown: Session =
        serde_json::from_str(&stdout_of(&sandrun(&app, &["session", "show", &id]).await)).unwrap();
    assert_eq!(shown.id, id);
    assert_eq!(shown.runs, 5);
    assert_eq!(shown.labels["agent"], "cli");
    assert_eq!((shown.idle_timeout, shown.ttl), (300, 3600));
    assert_eq!(shown.memory_bytes, 256 << 20);
    assert!(shown.state_bytes > 0, "{shown:?}");

    let listing = stdout_of(&sandrun(&app, &["session", "list", "--label", "agent=cli"]).await);
    let line = listing
        .lines()
        .find(|l| l.starts_with(&id))
        .expect(&listing);
    assert!(
        line.contains("idle") && line.contains("5 runs") && line.contains("agent=cli"),
        "{line}"
    );

    let fork = stdout_of(&sandrun(&app, &["session", "fork", &id]).await)
        .trim()
        .to_owned();
    assert_ne!(fork, id);
    run_code(&app, &fork, "x = 100").await;
    run_code(&app, &id, "x -= 1").await;
    assert_eq!(run_code(&app, &fork, "x").await, "100\n");
    assert_eq!(run_code(&app, &id, "x").await, "41\n");

    let ended: Session =
        serde_json::from_str(&stdout_of(&sandrun(&app, &["session", "rm", &id]).await)).unwrap();
    assert_eq!(ended.status, SessionStatus::Ended);
    let gone = sandrun(&app, &["session", "run", &id, "-c", "x"]).await;
    assert_eq!(gone.status.code(), Some(125));
    assert!(
        text(&gone.stderr).contains(&format!("Gone (410): session {id} has ended")),
        "{}",
        text(&gone.stderr)
    );
    let again = sandrun(&app, &["session", "rm", &id]).await;
    assert_eq!(again.status.code(), Some(125));
    let ended_list = stdout_of(&sandrun(&app, &["session", "list", "--status", "ended"]).await);
    assert!(
        ended_list.contains(&id) && !ended_list.contains(&fork),
        "{ended_list}"
    );
    assert_eq!(
        run_code(&app, &fork, "x").await,
        "100\n",
        "the fork lives on"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_run_exits_as_sandrun_run_does() {
    let app = spawn_app().await;
    let id = new_session(&app, &[]).await;

    let raised = sandrun(
        &app,
        &[
            "session",
            "run",
            &id,
            "-c",
            "x = 1\nraise ValueError('boom')",
        ],
    )
    .await;
    assert_eq!(raised.status.code(), Some(1));
    assert!(
        text(&raised.stderr).contains("ValueError: boom"),
        "{}",
        text(&raised.stderr)
    );

    let timed_out = sandrun(
        &app,
        &[
            "session",
            "run",
            &id,
            "--timeout",
            "1s",
            "-c",
            "x = 2\nwhile True: pass",
        ],
    )
    .await;
    assert_eq!(timed_out.status.code(), Some(124));
    let said = text(&timed_out.stderr);
    assert!(
        said.contains("sandrun: timed_out:")
            && said.contains("the session is as it was before this run"),
        "{said}"
    );
    assert_eq!(
        run_code(&app, &id, "x").await,
        "1\n",
        "the exception kept x, the timeout rolled back"
    );

    let queued =
        stdout_of(&sandrun(&app, &["session", "run", &id, "--no-wait", "-c", "x * 3"]).await);
    let run = app.until_ended(queued.trim()).await;
    assert_eq!(run.session_id.as_deref(), Some(id.as_str()));
    assert_eq!(run.result.unwrap().value.as_deref(), Some("3"));
    app.stop().await;
}
