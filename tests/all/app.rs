//! A real server for API tests: the whole application on port 0, with a
//! fresh SQLite file, sharing the test binary's loaded sandbox. Tasks run on
//! its threads unless a test asks for worker processes.

use std::time::Duration;

use sandrun::configuration::{ServeArgs, Settings};
use sandrun::startup::Application;
use sandrun_api::{Outcome, Task, TaskStatus};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::support::{home, sandbox};

pub struct TestApp {
    pub address: String,
    /// `--metrics-bind`'s listener, when the test gave one.
    pub metrics_address: Option<String>,
    pub http: reqwest::Client,
    /// Kept until the test ends, so the database outlives the server.
    db_dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut ServeArgs)) -> TestApp {
    let db_dir = tempfile::tempdir().unwrap();
    let mut args = local_args(&db_dir);
    configure(&mut args);
    spawn_on(args, db_dir).await
}

/// Start a server on the database a stopped one left in `db_dir`.
pub async fn spawn_on_dir(db_dir: tempfile::TempDir) -> TestApp {
    spawn_on(local_args(&db_dir), db_dir).await
}

/// Port 0 on loopback, the SQLite file in `db_dir`, tasks in process.
pub fn local_args(db_dir: &tempfile::TempDir) -> ServeArgs {
    ServeArgs {
        workers: Some(0),
        bind: Some("127.0.0.1:0".parse().unwrap()),
        database_url: Some(format!(
            "sqlite://{}",
            db_dir.path().join("sandrun.db").display()
        )),
        ..ServeArgs::default()
    }
}

/// Start the application with `args`, keeping `db_dir` alive with it.
pub async fn spawn_on(args: ServeArgs, db_dir: tempfile::TempDir) -> TestApp {
    let settings = Settings::load(&args, &home()).expect("valid settings");
    spawn_settings(&settings, db_dir).await
}

/// Start the application with `settings`, keeping `db_dir` alive with it.
pub async fn spawn_settings(settings: &Settings, db_dir: tempfile::TempDir) -> TestApp {
    let sandbox = tokio::task::spawn_blocking(|| sandbox().clone())
        .await
        .unwrap();
    let app = Application::build(settings, sandbox)
        .await
        .expect("the app builds");
    let address = format!("http://{}", app.local_addr());
    let metrics_address = app.metrics_addr().map(|a| format!("http://{a}"));
    let (stop, stopped) = oneshot::channel();
    let handle = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        metrics_address,
        http: reqwest::Client::new(),
        db_dir,
        stop: Some(stop),
        handle: Some(handle),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// Submit and return the task as answered.
    pub async fn submit(&self, body: Value) -> Task {
        let response = self.post("/v1/tasks", &body).await;
        assert!(
            response.status().is_success(),
            "{}: {}",
            response.status(),
            response.text().await.unwrap()
        );
        response.json().await.unwrap()
    }

    /// Submit, holding the request until the task ends.
    pub async fn run(&self, body: Value) -> Task {
        let response = self.post("/v1/tasks?wait=60", &body).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    pub async fn task(&self, id: &str) -> Task {
        self.get(&format!("/v1/tasks/{id}"))
            .await
            .json()
            .await
            .unwrap()
    }

    /// Poll until the task reaches a terminal status.
    pub async fn until_ended(&self, id: &str) -> Task {
        for _ in 0..600 {
            let task = self.task(id).await;
            if task.status.is_terminal() {
                return task;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("task {id} did not end");
    }

    /// Poll until the task has the status.
    pub async fn until_status(&self, id: &str, status: TaskStatus) -> Task {
        for _ in 0..600 {
            let task = self.task(id).await;
            if task.status == status {
                return task;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("task {id} never became {status:?}");
    }

    pub async fn upload(&self, wasm: Vec<u8>) -> reqwest::Response {
        self.http
            .post(self.url("/v1/modules"))
            .body(wasm)
            .send()
            .await
            .unwrap()
    }

    /// Stop the server gracefully and wait for it; answers the directory
    /// holding its database, for tests that look at what it left.
    pub async fn stop(mut self) -> tempfile::TempDir {
        let _ = self.stop.take().unwrap().send(());
        self.handle.take().unwrap().await.unwrap();
        self.db_dir
    }
}

/// Start an endless loop, cancel it once it runs, and answer it ended,
/// checking the cancel stopped it within two seconds.
pub async fn cancel_a_running_loop(app: &TestApp) -> Task {
    let task = app.submit(python("while True:\n    pass")).await;
    app.until_status(&task.id, TaskStatus::Running).await;
    let asked = std::time::Instant::now();
    let response = app
        .post(&format!("/v1/tasks/{}/cancel", task.id), &json!({}))
        .await;
    assert_eq!(response.status(), 202);
    let ended = app.until_ended(&task.id).await;
    let took = asked.elapsed();
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(ended.status, TaskStatus::Cancelled, "{ended:?}");
    ended
}

/// Recurse until the wasm stack runs out, twice: a trap each time, on a
/// thread whose native stack holds the whole wasm stack, and the server
/// keeps serving.
pub async fn deep_recursion_traps(app: &TestApp) {
    let code = "import sys\nsys.setrecursionlimit(100_000)\n\
                def down(n):\n    return down(n + 1)\n\
                try:\n    down(0)\nexcept RecursionError:\n    print('stopped')";
    for _ in 0..2 {
        let task = app.run(python(code)).await;
        assert_eq!(task.attempt, 1, "{task:?}");
        let result = task.result.unwrap();
        assert_eq!(result.outcome, Outcome::Trapped, "{result:?}");
        let message = result.message.unwrap();
        assert!(message.contains("call stack exhausted"), "{message}");
    }
    let after = app.run(python("print('fine')")).await;
    assert_eq!(after.status, TaskStatus::Succeeded, "{after:?}");
}

pub fn python(code: &str) -> Value {
    json!({ "runtime": "python", "code": code })
}
