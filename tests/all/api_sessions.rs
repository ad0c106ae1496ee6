//! Sessions over HTTP, against the real server: state kept from run to run
//! in the queue's database (both backends), rolled back by a limit or a
//! cancel, forked, restarted, ended, expired and capped, and runs of one
//! session taken one at a time in order.

use std::time::Duration;

use sandrun_api::{
    Outcome, Problem, Session, SessionPage, SessionStart, SessionStatus, Task, TaskPage,
    TaskResult, TaskStatus,
};
use serde_json::{Value, json};

use crate::app::{TestApp, spawn_app, spawn_app_with};
use crate::postgres::Schema;

/// Open a session on the server at `base`, answering it as created.
pub async fn open_session_at(http: &reqwest::Client, base: &str, body: &Value) -> Session {
    let response = http
        .post(format!("{base}/v1/sessions"))
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

/// Run `code` in session `id` on the server at `base`, holding the request
/// until the run ends, and check it succeeded.
pub async fn run_at(http: &reqwest::Client, base: &str, id: &str, code: &str) -> TaskResult {
    let response = http
        .post(format!("{base}/v1/sessions/{id}/runs?wait=60"))
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let run: Task = response.json().await.unwrap();
    let result = run.result.expect("a result");
    assert_eq!(result.outcome, Outcome::Succeeded, "{result:?}");
    result
}

/// The `repr` of `expression` in session `id` on the server at `base`.
pub async fn value_at(http: &reqwest::Client, base: &str, id: &str, expression: &str) -> String {
    let result = run_at(http, base, id, expression).await;
    let value = result.value.clone();
    value.unwrap_or_else(|| panic!("no value: {result:?}"))
}

/// Where `run` found its session's state.
pub fn start_of(run: &Task) -> SessionStart {
    let result = run.result.as_ref().expect("a result");
    result
        .session_start
        .expect("a session run says where it started")
}

impl TestApp {
    pub async fn open_session(&self, body: Value) -> Session {
        open_session_at(&self.http, &self.address, &body).await
    }

    pub async fn session(&self, id: &str) -> Session {
        let response = self.get(&format!("/v1/sessions/{id}")).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Run `body` in session `id`, holding the request until it ends.
    pub async fn session_run_with(&self, id: &str, body: Value) -> Task {
        let response = self
            .post(&format!("/v1/sessions/{id}/runs?wait=60"), &body)
            .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        let run: Task = response.json().await.unwrap();
        assert!(run.status.is_terminal(), "{run:?}");
        run
    }

    /// Run `code` in session `id`, holding the request until it ends.
    pub async fn session_run(&self, id: &str, code: &str) -> Task {
        self.session_run_with(id, json!({ "code": code })).await
    }

    /// The `repr` of `expression` in session `id`.
    pub async fn session_value(&self, id: &str, expression: &str) -> String {
        value_at(&self.http, &self.address, id, expression).await
    }
}

/// The problem a request answers, checking its status.
async fn problem(response: reqwest::Response, status: u16) -> Problem {
    assert_eq!(response.status(), status);
    response.json().await.unwrap()
}

/// Variables, imports, arrays and `/tmp` files outlive each run, and the
/// session counts its runs and the state it keeps.
async fn state_is_kept_from_run_to_run(app: &TestApp) {
    let session = app
        .open_session(json!({ "labels": { "agent": "a" } }))
        .await;
    assert_eq!(session.status, SessionStatus::Idle);
    assert_eq!((session.runs, session.state_bytes), (0, 0));

    let first = app
        .session_run(
            &session.id,
            "import numpy as np\nx = 41\na = np.arange(5)\nopen('/tmp/note', 'w').write('kept')\nprint('set')",
        )
        .await;
    assert_eq!(first.status, TaskStatus::Succeeded, "{first:?}");
    assert_eq!(first.session_id.as_deref(), Some(session.id.as_str()));
    assert_eq!(first.session_run, Some(1));
    let result = first.result.unwrap();
    assert_eq!(result.stdout.to_string_lossy(), "set\n");
    assert!(!result.rolled_back);

    let second = app
        .session_run(
            &session.id,
            "x += 1\n(x, int(np.sum(a * 2)), open('/tmp/note').read())",
        )
        .await;
    assert_eq!(second.session_run, Some(2));
    let result = second.result.unwrap();
    assert_eq!(result.value.as_deref(), Some("(42, 20, 'kept')"));
    assert_eq!(
        result.stdout.to_string_lossy(),
        "",
        "a value is not printed"
    );

    let after = app.session(&session.id).await;
    assert_eq!(after.status, SessionStatus::Idle);
    assert_eq!(after.runs, 2);
    assert!(after.state_bytes > 0, "{after:?}");
    assert!(after.last_run_at.is_some());
    assert_eq!(after.labels["agent"], "a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_is_kept_from_run_to_run_on_sqlite() {
    let app = spawn_app().await;
    state_is_kept_from_run_to_run(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_is_kept_from_run_to_run_on_postgres() {
    let Some(schema) = Schema::fresh("state_is_kept_from_run_to_run_on_postgres").await else {
        return;
    };
    let app = spawn_app_with(|args| args.database_url = Some(schema.url.clone())).await;
    state_is_kept_from_run_to_run(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exception_keeps_the_state_and_a_limit_or_cancel_rolls_back() {
    let app = spawn_app().await;
    let id = app.open_session(json!({})).await.id;

    let raised = app
        .session_run(&id, "x = 1\nraise ValueError('boom')")
        .await;
    assert_eq!(raised.status, TaskStatus::Failed);
    let result = raised.result.unwrap();
    assert_eq!(result.outcome, Outcome::Exited);
    assert!(result.stderr.to_string_lossy().contains("ValueError: boom"));
    assert!(
        !result.rolled_back,
        "an exception keeps what the run reached"
    );
    assert_eq!(app.session_value(&id, "x").await, "1");

    let timed_out = app
        .session_run_with(
            &id,
            json!({ "code": "x = 2\nwhile True: pass", "limits": { "timeout_ms": 1000 } }),
        )
        .await;
    let result = timed_out.result.unwrap();
    assert_eq!(result.outcome, Outcome::TimedOut);
    assert!(result.rolled_back, "{result:?}");
    assert_eq!(app.session_value(&id, "x").await, "1");

    let out_of_fuel = app
        .session_run_with(
            &id,
            json!({ "code": "x = 3\nwhile True: pass", "limits": { "fuel": 50_000_000 } }),
        )
        .await;
    let result = out_of_fuel.result.unwrap();
    assert_eq!(result.outcome, Outcome::OutOfFuel);
    assert!(result.rolled_back);
    assert_eq!(app.session_value(&id, "x").await, "1");

    let response = app
        .post(
            &format!("/v1/sessions/{id}/runs"),
            &json!({ "code": "x = 4\nwhile True: pass" }),
        )
        .await;
    assert_eq!(response.status(), 202);
    let run: Task = response.json().await.unwrap();
    app.until_status(&run.id, TaskStatus::Running).await;
    let cancel = app
        .post(&format!("/v1/tasks/{}/cancel", run.id), &json!({}))
        .await;
    assert_eq!(cancel.status(), 202);
    let cancelled = app.until_ended(&run.id).await;
    assert_eq!(cancelled.status, TaskStatus::Cancelled, "{cancelled:?}");
    assert_eq!(app.session_value(&id, "x").await, "1");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_sent_together_run_one_at_a_time_in_order() {
    let app = spawn_app_with(|args| args.slots = Some(2)).await;
    let id = app.open_session(json!({})).await.id;
    app.session_run(&id, "seen = []").await;
    let mut runs = Vec::new();
    for n in 0..5 {
        let code = format!("import time\nseen.append({n})\ntime.sleep(0.1)");
        let response = app
            .post(&format!("/v1/sessions/{id}/runs"), &json!({ "code": code }))
            .await;
        assert_eq!(response.status(), 202);
        runs.push(response.json::<Task>().await.unwrap().id);
    }
    let mut ended = Vec::new();
    for run in &runs {
        ended.push(app.until_ended(run).await);
    }
    for pair in ended.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        assert_eq!(after.session_run, before.session_run.map(|n| n + 1));
        assert!(
            after.started_at >= before.finished_at,
            "runs overlapped: {before:?} then {after:?}"
        );
    }
    assert_eq!(app.session_value(&id, "seen").await, "[0, 1, 2, 3, 4]");

    let page: TaskPage = app
        .get(&format!("/v1/sessions/{id}/runs?limit=3"))
        .await
        .json()
        .await
        .unwrap();
    let numbers: Vec<_> = page.tasks.iter().map(|t| t.session_run).collect();
    assert_eq!(numbers, [Some(7), Some(6), Some(5)], "newest first");
    assert!(page.next_cursor.is_some());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_is_independent_both_ways_and_restart_forgets() {
    let app = spawn_app().await;
    let parent = app
        .open_session(json!({ "labels": { "k": "v" }, "idle_timeout": 120 }))
        .await;
    let first = app
        .session_run(&parent.id, "x = [1]\nopen('/tmp/f', 'w').write('p')")
        .await;
    assert_eq!(start_of(&first), SessionStart::New);
    let response = app
        .post(&format!("/v1/sessions/{}/fork", parent.id), &json!({}))
        .await;
    assert_eq!(response.status(), 201);
    let child: Session = response.json().await.unwrap();
    assert_ne!(child.id, parent.id);
    assert_eq!(child.forked_from.as_deref(), Some(parent.id.as_str()));
    assert_eq!(child.idle_timeout, 120);
    assert_eq!(child.labels["k"], "v");
    assert_eq!(child.state_bytes, app.session(&parent.id).await.state_bytes);

    let forked = app
        .session_run(
            &child.id,
            "x.append('child')\nopen('/tmp/f', 'w').write('c')",
        )
        .await;
    assert_eq!(
        start_of(&forked),
        SessionStart::Stored,
        "a fork shares no instance"
    );
    let parent_run = app.session_run(&parent.id, "x.append('parent')").await;
    assert_eq!(start_of(&parent_run), SessionStart::Live);
    assert_eq!(
        app.session_value(&child.id, "x, open('/tmp/f').read()")
            .await,
        "([1, 'child'], 'c')"
    );
    assert_eq!(
        app.session_value(&parent.id, "x, open('/tmp/f').read()")
            .await,
        "([1, 'parent'], 'p')"
    );

    let response = app
        .post(&format!("/v1/sessions/{}/restart", parent.id), &json!({}))
        .await;
    assert_eq!(response.status(), 200);
    let restarted: Session = response.json().await.unwrap();
    assert_eq!(restarted.state_bytes, 0);
    let fresh = app
        .session_run(
            &parent.id,
            "'x' in globals(), __import__('os').path.exists('/tmp/f')",
        )
        .await;
    assert_eq!(start_of(&fresh), SessionStart::New);
    assert_eq!(
        fresh.result.unwrap().value.as_deref(),
        Some("(False, False)")
    );
    assert_eq!(app.session_value(&child.id, "x").await, "[1, 'child']");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_session_sees_nothing_of_another() {
    let app = spawn_app().await;
    let mine = app.open_session(json!({})).await.id;
    let theirs = app.open_session(json!({})).await.id;
    app.session_run(&mine, "secret = 1\nopen('/tmp/secret', 'w').write('mine')")
        .await;
    assert_eq!(
        app.session_value(
            &theirs,
            "'secret' in globals(), __import__('os').listdir('/tmp')"
        )
        .await,
        "(False, [])"
    );
    // A plain task is no session's either.
    let task = app
        .run(crate::app::python(
            "import os\nprint(os.listdir('/tmp'), 'secret' in globals())",
        ))
        .await;
    assert_eq!(task.result.unwrap().stdout.to_string_lossy(), "[] False\n");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_session_stops_its_run_and_forgets_it() {
    let app = spawn_app().await;
    let id = app.open_session(json!({})).await.id;
    app.session_run(&id, "x = 1").await;
    let response = app
        .post(
            &format!("/v1/sessions/{id}/runs"),
            &json!({ "code": "while True: pass" }),
        )
        .await;
    let running: Task = response.json().await.unwrap();
    app.until_status(&running.id, TaskStatus::Running).await;
    let response = app
        .http
        .delete(app.url(&format!("/v1/sessions/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let ended: Session = response.json().await.unwrap();
    assert_eq!(ended.status, SessionStatus::Ended);
    assert_eq!(ended.end_reason.as_deref(), Some("deleted"));
    assert_eq!(ended.state_bytes, 0);
    let stopped = app.until_ended(&running.id).await;
    assert_eq!(stopped.status, TaskStatus::Cancelled, "{stopped:?}");

    let run = app.task(&running.id).await;
    assert_eq!(
        run.session_id.as_deref(),
        Some(id.as_str()),
        "its runs stay"
    );

    for id in [id.as_str(), "nope"] {
        for response in [
            app.get(&format!("/v1/sessions/{id}")).await,
            app.get(&format!("/v1/sessions/{id}/runs")).await,
            app.post(&format!("/v1/sessions/{id}/runs"), &json!({ "code": "1" }))
                .await,
            app.post(&format!("/v1/sessions/{id}/fork"), &json!({}))
                .await,
            app.post(&format!("/v1/sessions/{id}/restart"), &json!({}))
                .await,
            app.http
                .delete(app.url(&format!("/v1/sessions/{id}")))
                .send()
                .await
                .unwrap(),
        ] {
            problem(response, 404).await;
        }
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_expired_sessions_end_and_lose_their_state() {
    let app = spawn_app().await;
    let idle = app.open_session(json!({ "idle_timeout": 1 })).await.id;
    let short = app
        .open_session(json!({ "ttl": 3, "idle_timeout": 60 }))
        .await
        .id;
    app.session_run(&idle, "x = 1").await;
    app.session_run(&short, "x = 1").await;
    let ended = until_session_ends(&app, &idle).await;
    assert_eq!(ended.end_reason.as_deref(), Some("idle"));
    assert_eq!(ended.state_bytes, 0);
    let refused = app
        .post(
            &format!("/v1/sessions/{idle}/runs"),
            &json!({ "code": "x" }),
        )
        .await;
    let gone = problem(refused, 410).await;
    assert!(gone.kind.ends_with("gone"), "{gone:?}");
    assert!(gone.detail.contains("(idle)"), "{gone:?}");
    for response in [
        app.post(&format!("/v1/sessions/{idle}/fork"), &json!({}))
            .await,
        app.post(&format!("/v1/sessions/{idle}/restart"), &json!({}))
            .await,
    ] {
        problem(response, 410).await;
    }
    // Kept alive by its runs until its lifetime is over.
    let mut runs = 0;
    while app.session(&short).await.status != SessionStatus::Ended {
        let response = app
            .post(
                &format!("/v1/sessions/{short}/runs?wait=10"),
                &json!({ "code": "x += 1" }),
            )
            .await;
        if response.status() == 410 {
            break;
        }
        runs += 1;
        assert!(runs < 100, "the session outlived its lifetime");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let ended = until_session_ends(&app, &short).await;
    assert_eq!(ended.end_reason.as_deref(), Some("expired"));
    assert_eq!(ended.state_bytes, 0);

    let page: SessionPage = app
        .get("/v1/sessions?status=ended")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page.sessions.len(), 2);
    // An ended session can be deleted, and is then gone.
    let deleted = app
        .http
        .delete(app.url(&format!("/v1/sessions/{idle}")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    problem(app.get(&format!("/v1/sessions/{idle}")).await, 404).await;
    app.stop().await;
}

async fn until_session_ends(app: &TestApp, id: &str) -> Session {
    for _ in 0..100 {
        let session = app.session(id).await;
        if session.status == SessionStatus::Ended {
            return session;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("session {id} did not end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_cap_rolls_back_a_run_that_would_exceed_it() {
    let app = spawn_app().await;
    let id = app
        .open_session(json!({ "max_state_bytes": 4 << 20 }))
        .await
        .id;
    app.session_run(&id, "x = 1").await;
    let run = app
        .session_run(&id, "import os\nx = 2\nbig = os.urandom(8 << 20)")
        .await;
    let result = run.result.unwrap();
    assert_eq!(result.outcome, Outcome::StateExceeded, "{result:?}");
    assert!(result.rolled_back);
    assert_eq!(
        app.session_value(&id, "x, 'big' in globals()").await,
        "(1, False)"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_listed_and_bad_settings_are_400_problems() {
    let app = spawn_app_with(|args| args.max_sessions = Some(2)).await;
    let a = app.open_session(json!({ "labels": { "team": "x" } })).await;
    let b = app.open_session(json!({})).await;
    let full = problem(app.post("/v1/sessions", &json!({})).await, 429).await;
    assert!(full.detail.contains("2"), "names the maximum");

    let page: SessionPage = app.get("/v1/sessions").await.json().await.unwrap();
    let ids: Vec<_> = page.sessions.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, [b.id.as_str(), a.id.as_str()], "newest first");
    let page: SessionPage = app
        .get("/v1/sessions?label=team=x&status=idle")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page.sessions.len(), 1);
    assert_eq!(page.sessions[0].id, a.id);
    let page: SessionPage = app.get("/v1/sessions?limit=1").await.json().await.unwrap();
    let next: SessionPage = app
        .get(&format!(
            "/v1/sessions?limit=1&cursor={}",
            page.next_cursor.unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(next.sessions[0].id, a.id);
    problem(app.get("/v1/sessions?status=sleeping").await, 400).await;
    problem(app.get("/v1/sessions?limit=0").await, 400).await;

    // Ending one makes room.
    app.http
        .delete(app.url(&format!("/v1/sessions/{}", b.id)))
        .send()
        .await
        .unwrap();
    for (body, field) in [
        (json!({ "runtime": "wasm" }), "runtime"),
        (
            json!({ "limits": { "memory_bytes": 1 << 30 } }),
            "limits.memory_bytes",
        ),
        (json!({ "memory_bytes": 1u64 << 50 }), "memory_bytes"),
        (json!({ "idle_timeout": 0 }), "idle_timeout"),
        (json!({ "ttl": 10u64 << 30 }), "ttl"),
        (json!({ "max_state_bytes": 2u64 << 40 }), "max_state_bytes"),
        (
            json!({ "limits": { "timeout_ms": 0 } }),
            "limits.timeout_ms",
        ),
    ] {
        let refused = problem(app.post("/v1/sessions", &body).await, 400).await;
        assert_eq!(refused.field.as_deref(), Some(field), "{body}: {refused:?}");
    }
    problem(
        app.post("/v1/sessions", &json!({ "colour": "red" })).await,
        400,
    )
    .await;
    let run = problem(
        app.post(
            &format!("/v1/sessions/{}/runs", a.id),
            &json!({ "code": "1", "limits": { "memory_bytes": 1 << 20 } }),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(run.field.as_deref(), Some("limits.memory_bytes"));
    problem(
        app.post(&format!("/v1/sessions/{}/runs", a.id), &json!({}))
            .await,
        400,
    )
    .await;
    app.stop().await;
}
