//! `sandrun session` and `sandrun repl` against a real server: state kept
//! from run to run, values printed as Python's REPL prints them, the exit
//! codes of `sandrun run`, forks, ending, and Ctrl-C cancelling a run.

use std::io::Write;
use std::process::{Output, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use sandrun_api::{Session, SessionStatus, Task, TaskPage, TaskStatus};
use serde_json::json;

use crate::app::{TestApp, spawn_app};
use crate::cli_remote::{sandrun, sandrun_fed, sandrun_for, text};

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

    let restarted: Session = serde_json::from_str(&stdout_of(
        &sandrun(&app, &["session", "restart", &fork]).await,
    ))
    .unwrap();
    assert_eq!(restarted.state_bytes, 0);
    assert_eq!(run_code(&app, &fork, "'x' in globals()").await, "False\n");
    run_code(&app, &fork, "x = 100").await;

    let ended: Session =
        serde_json::from_str(&stdout_of(&sandrun(&app, &["session", "rm", &id]).await)).unwrap();
    assert_eq!(ended.status, SessionStatus::Ended);
    let gone = sandrun(&app, &["session", "run", &id, "-c", "x"]).await;
    assert_eq!(gone.status.code(), Some(125));
    assert!(
        text(&gone.stderr).contains(&format!("Not found (404): no session {id}")),
        "{}",
        text(&gone.stderr)
    );
    let again = sandrun(&app, &["session", "rm", &id]).await;
    assert_eq!(again.status.code(), Some(125));
    let listed = stdout_of(&sandrun(&app, &["session", "list"]).await);
    assert!(!listed.contains(&id) && listed.contains(&fork), "{listed}");
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

/// The session id the repl announced on stderr.
fn announced(stderr: &str) -> String {
    let line = stderr.lines().next().unwrap_or_default();
    let rest = line.strip_prefix("sandrun: session ").expect(stderr);
    rest.split(|c: char| c == ',' || c.is_whitespace())
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repl_reads_piped_entries_as_pythons_does() {
    let app = spawn_app().await;
    let input = "def f(x):\n    return x * 2\n\nf(21)\n\n\nnums = [\n    1,\n    2]\nnums\n\
                 doc = '''a\nb'''\ndoc\nif nums:  # a comment\n    y = 5\n\n\
                 raise ValueError('boom')\ny + 1\nprint('printed')\n";
    let out = sandrun_fed(&app, &["repl"], input).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        text(&out.stdout),
        "42\n[1, 2]\n'a\\nb'\n6\nprinted\n",
        "{stderr}"
    );
    assert!(stderr.contains("ValueError: boom"), "{stderr}");
    let id = announced(&stderr);
    assert_eq!(
        app.get(&format!("/v1/sessions/{id}")).await.status(),
        404,
        "deleted on exit"
    );
    let page: TaskPage = app.get("/v1/tasks?limit=100").await.json().await.unwrap();
    let runs = page
        .tasks
        .iter()
        .filter(|t| t.session_id.as_deref() == Some(&id));
    assert_eq!(runs.count(), 10, "its runs stay, as tasks");

    let kept = sandrun_fed(&app, &["repl", "--keep"], "k = 3\n").await;
    let id = announced(&text(&kept.stderr));
    let back = sandrun_fed(&app, &["repl", "--session", &id], "k\n").await;
    assert_eq!(stdout_of(&back), "3\n");
    assert_eq!(
        app.session(&id).await.status,
        SessionStatus::Idle,
        "a given session stays open"
    );

    // A new session takes `session new`'s settings; a given one keeps its own.
    let set = sandrun_fed(
        &app,
        &[
            "repl",
            "--keep",
            "--label",
            "team=x",
            "--idle-timeout",
            "2m",
        ],
        "1\n",
    )
    .await;
    let made = app.session(&announced(&text(&set.stderr))).await;
    assert_eq!(
        (made.labels["team"].as_str(), made.idle_timeout),
        ("x", 120)
    );
    let refused = sandrun_fed(&app, &["repl", "--session", &id, "--label", "a=b"], "1\n").await;
    assert_eq!(refused.status.code(), Some(125));
    assert!(text(&refused.stderr).contains("the session flags are for a new one"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_in_the_repl_cancels_the_run_and_the_repl_goes_on() {
    let app = spawn_app().await;
    let id = app.open_session(json!({})).await.id;
    let mut command = sandrun_for(&app);
    command
        .args(["repl", "--session", &id])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut repl = command.spawn().unwrap();
    let mut stdin = repl.stdin.take().unwrap();
    stdin.write_all(b"x = 7\nwhile True: pass\n").unwrap();

    let looping = until_run_is_running(&app, &id, 2).await;
    kill(Pid::from_raw(repl.id() as i32), Signal::SIGINT).unwrap();
    let ended = app.until_ended(&looping.id).await;
    assert_eq!(ended.status, TaskStatus::Cancelled, "{ended:?}");
    assert!(ended.result.unwrap().rolled_back);

    stdin.write_all(b"x\n").unwrap();
    drop(stdin);
    let out = tokio::task::spawn_blocking(move || repl.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(text(&out.stdout), "7\n", "{stderr}");
    assert!(
        stderr.contains("sandrun: cancelled:")
            && stderr.contains("the session is as it was before this run"),
        "{stderr}"
    );
    app.stop().await;
}

/// Poll until the session's run number `n` is running.
async fn until_run_is_running(app: &TestApp, id: &str, n: u64) -> Task {
    for _ in 0..500 {
        let page: TaskPage = app
            .get(&format!("/v1/sessions/{id}/runs"))
            .await
            .json()
            .await
            .unwrap();
        let run = page.tasks.into_iter().find(|t| t.session_run == Some(n));
        if let Some(run) = run.filter(|r| r.status == TaskStatus::Running) {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("run {n} of session {id} never ran");
}
