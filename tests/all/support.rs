//! What every test shares: the data directory (runtime and compiled-module
//! cache survive between runs) and one loaded sandbox.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sandrun::home::Home;
use sandrun::progress::Silent;
use sandrun::runtime;
use sandrun::sandbox::{CancelHandle, LimitPolicy, LiveSessions, Sandbox, Task};
use sandrun_api::TaskResult;

/// `$SANDRUN_HOME`, else a directory under cargo's target dir, so that the
/// runtime is downloaded and compiled once, not once per run.
pub fn home() -> Home {
    match std::env::var_os("SANDRUN_HOME") {
        Some(dir) if !dir.is_empty() => Home::new(dir),
        _ => Home::new(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sandrun-home")),
    }
}

/// Tasks the shared sandbox runs at once: every test's in-process server
/// uses it, so it is sized for several of them running together.
const SHARED_SANDBOX_TASKS: usize = 32;

/// Sessions the shared sandbox keeps live: as a server does, with room for
/// every test's sessions at once, so that none is let go for another's.
const SHARED_LIVE_SESSIONS: LiveSessions = LiveSessions {
    capacity: 64,
    idle: Duration::from_secs(120),
};

/// The shared sandbox, with Python installed (through pip, as a user's
/// first run does) and loaded.
pub fn sandbox() -> &'static Arc<Sandbox> {
    static SANDBOX: OnceLock<Arc<Sandbox>> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let home = home();
        let sandbox = Sandbox::new(
            &home,
            LimitPolicy::default(),
            SHARED_SANDBOX_TASKS,
            SHARED_LIVE_SESSIONS,
        )
        .expect("sandbox");
        let installed = runtime::ensure(&home, "python", &Silent).expect("python runtime installs");
        sandbox
            .load_python(&installed, None, &Silent)
            .expect("python runtime loads");
        Arc::new(sandbox)
    })
}

pub fn run(task: &Task) -> TaskResult {
    sandbox()
        .run(task, &CancelHandle::new())
        .expect("the task is accepted")
}

pub fn python(code: &str) -> TaskResult {
    run(&Task::python(code))
}

pub fn stdout(result: &TaskResult) -> String {
    result.stdout.to_string_lossy()
}

pub fn stderr(result: &TaskResult) -> String {
    result.stderr.to_string_lossy()
}

/// A fresh, empty data directory for tests that install or cache on their own.
pub fn fresh_home() -> (tempfile::TempDir, Home) {
    let dir = tempfile::Builder::new()
        .prefix("home-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir");
    let home = Home::new(dir.path());
    (dir, home)
}

/// POST a task request to the server at `url` and read back the task.
pub async fn post_task(
    http: &reqwest::Client,
    url: impl reqwest::IntoUrl,
    body: &serde_json::Value,
) -> sandrun_api::Task {
    let response = http
        .post(url)
        .json(body)
        .send()
        .await
        .expect("request sent");
    response.json().await.expect("a task")
}
