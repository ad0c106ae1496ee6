//! Tasks in worker processes: real `sandrun worker` children of the test
//! server, killed and cancelled from outside.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sandrun::configuration::Settings;
use sandrun::sandbox::LiveSessions;
use sandrun::telemetry::LogFormat;
use sandrun::worker::WorkerSpawn;
use sandrun_api::{ModuleInfo, Outcome, SessionStart, TaskStatus};
use serde_json::json;

use crate::api_sessions::start_of;
use crate::app::{
    TestApp, cancel_a_running_loop, deep_recursion_traps, local_args, python, spawn_settings,
};
use crate::metrics::scrape;
use crate::support::home;

/// A server whose tasks run in `count` workers started from a link to the
/// `sandrun` binary of this test alone, so its processes can be told from
/// other tests' by their command line.
struct WorkerApp {
    app: TestApp,
    program: PathBuf,
    _link_dir: tempfile::TempDir,
}

async fn spawn_worker_app(count: usize, worker_home: Option<&Path>) -> WorkerApp {
    let home = worker_home.map_or_else(|| home().root().to_owned(), Path::to_owned);
    spawn_workers(count, home, LiveSessions::NONE).await
}

/// [`spawn_worker_app`] with each worker keeping `live` sessions live.
async fn spawn_workers(count: usize, worker_home: PathBuf, live: LiveSessions) -> WorkerApp {
    let link_dir = tempfile::tempdir().unwrap();
    let program = link_dir.path().join("sandrun");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_sandrun"), &program).unwrap();
    let db_dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::load(&local_args(&db_dir), &home()).expect("valid settings");
    settings.workers = Some(WorkerSpawn {
        program: program.clone(),
        home: worker_home,
        count,
        pre_import: None,
        live,
        log_format: LogFormat::Text,
    });
    WorkerApp {
        app: spawn_settings(&settings, db_dir).await,
        program,
        _link_dir: link_dir,
    }
}

impl WorkerApp {
    /// The live worker processes, by pid.
    fn worker_pids(&self) -> Vec<u32> {
        let program = self.program.to_string_lossy();
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let mut args = cmdline.split(|b| *b == 0);
                args.next() == Some(program.as_bytes()) && args.next() == Some(b"worker")
            })
            .filter(|pid| !is_zombie(*pid))
            .collect()
    }

    async fn until_workers(&self, count: usize) -> Vec<u32> {
        for _ in 0..300 {
            let pids = self.worker_pids();
            if pids.len() == count {
                return pids;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "{count} worker processes never ran: {:?}",
            self.worker_pids()
        );
    }
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(true)
}

fn kill_9(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_run_in_worker_processes_with_stdin_files_kv_and_exit_codes() {
    let workers = spawn_worker_app(2, None).await;
    let app = &workers.app;
    assert_eq!(workers.until_workers(2).await.len(), 2);

    let task = app
        .run(json!({
            "runtime": "python",
            "code": "import os, sys, sandrun\n\
                     n = sandrun.kv.get('n', 40) + 2\n\
                     sandrun.kv.put('n', n)\n\
                     sandrun.log('info', 'counted')\n\
                     sandrun.output({'n': n})\n\
                     print(sys.stdin.read(), open('/input/a.bin', 'rb').read(), os.environ['K'], sys.argv[1:])\n\
                     print('oops', file=sys.stderr)\n\
                     sys.exit(3)",
            "stdin": "in",
            "files": { "a.bin": { "base64": "AAEC" } },
            "env": { "K": "v" },
            "args": ["x"],
            "kv_namespace": "workers",
        }))
        .await;
    assert_eq!(task.status, TaskStatus::Failed, "{task:?}");
    let result = task.result.unwrap();
    assert_eq!(result.exit_code, Some(3));
    assert_eq!(
        result.stdout.to_string_lossy(),
        "in b'\\x00\\x01\\x02' v ['x']\n"
    );
    assert_eq!(result.stderr.to_string_lossy(), "oops\n");
    assert_eq!(result.output, Some(json!({"n": 42})));
    assert_eq!(result.logs.len(), 1);
    // The worker's count of host calls came back over the pipe.
    let metrics = scrape(app).await;
    for kind in ["kv_get", "kv_put", "log", "output"] {
        let calls = metrics.value("sandrun_host_calls_total", &[("kind", kind)]);
        assert_eq!(calls, 1.0, "{kind}");
    }

    // The kv write reached the server's database: the next run sees it.
    let again = app
        .run(json!({
            "runtime": "python",
            "code": "import sandrun\nprint(sandrun.kv.get('n'))",
            "kv_namespace": "workers",
        }))
        .await;
    assert_eq!(again.result.unwrap().stdout.to_string_lossy(), "42\n");

    // Output events were written while the task ran in the worker.
    let events = app
        .get(&format!("/v1/tasks/{}/events", task.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(events.contains("oops"), "{events}");
    workers.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_is_restarted_and_its_task_retried() {
    let workers = spawn_worker_app(1, None).await;
    let app = &workers.app;
    let first = workers.until_workers(1).await[0];
    let task = app
        .submit(python("import time\ntime.sleep(1)\nprint('slept')"))
        .await;
    app.until_status(&task.id, TaskStatus::Running).await;
    kill_9(first);

    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200, "the server outlives its worker");
    let ended = app.until_ended(&task.id).await;
    assert_eq!(ended.status, TaskStatus::Succeeded, "{ended:?}");
    assert_eq!(ended.attempt, 2, "{ended:?}");
    assert_eq!(ended.result.unwrap().stdout.to_string_lossy(), "slept\n");
    let restarted = workers.until_workers(1).await;
    assert_ne!(
        restarted,
        vec![first],
        "a new process replaced the killed one"
    );
    let metrics = scrape(app).await;
    assert_eq!(
        metrics.value("sandrun_worker_restarts_total", &[]),
        1.0,
        "{}",
        metrics.text
    );
    let retried = [("runtime", "python")];
    assert_eq!(metrics.value("sandrun_task_retries_total", &retried), 1.0);

    let after = app.run(python("print('still here')")).await;
    assert_eq!(after.status, TaskStatus::Succeeded, "{after:?}");
    workers.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_reaches_a_task_in_a_worker_at_once() {
    let workers = spawn_worker_app(1, None).await;
    let app = &workers.app;
    let ended = cancel_a_running_loop(app).await;
    assert_eq!(ended.result.unwrap().outcome, Outcome::Cancelled);
    assert_eq!(ended.attempt, 1, "a cancel is not a crash");
    // The worker survived the cancel and runs the next task.
    let pids = workers.worker_pids();
    let next = app.run(python("print(1)")).await;
    assert_eq!(next.status, TaskStatus::Succeeded, "{next:?}");
    assert_eq!(workers.worker_pids(), pids);
    workers.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_that_cannot_start_fail_tasks_with_the_reason() {
    let empty_home = tempfile::tempdir().unwrap();
    let workers = spawn_worker_app(1, Some(empty_home.path())).await;
    let app = &workers.app;
    let task = app
        .submit(json!({"runtime": "python", "code": "print(1)", "max_attempts": 1}))
        .await;
    let ended = app.until_ended(&task.id).await;
    assert_eq!(ended.status, TaskStatus::Failed, "{ended:?}");
    let error = ended.error.unwrap();
    assert!(
        error.contains("could not load its sandbox") && error.contains("not installed"),
        "{error}"
    );
    assert_eq!(app.get("/healthz").await.status(), 200);
    workers.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_gets_a_module_once_and_a_new_worker_gets_it_again() {
    let workers = spawn_worker_app(1, None).await;
    let app = &workers.app;
    let upload = |path: &'static str| async move {
        let info: ModuleInfo = app
            .upload(std::fs::read(path).unwrap())
            .await
            .json()
            .await
            .unwrap();
        info.hash
    };
    let echo = upload(sandrun_test_guests::ECHO).await;
    let wordcount = upload(sandrun_test_guests::WORDCOUNT).await;
    let run_echo =
        |stdin: &'static str| app.run(json!({"runtime": "wasm", "module": echo, "stdin": stdin}));
    let expect_echo = |task: sandrun_api::Task, stdin: &str| {
        assert_eq!(task.status, TaskStatus::Succeeded, "{task:?}");
        let out = task.result.unwrap().stdout.to_string_lossy();
        assert!(out.contains(&format!("stdin: {stdin}\n")), "{out}");
    };
    // The first task carries the bytes; the next ones name the module.
    expect_echo(run_echo("one").await, "one");
    expect_echo(run_echo("two").await, "two");
    let counted = app
        .run(json!({"runtime": "wasm", "module": wordcount, "input": {"text": "a b c"}}))
        .await;
    assert_eq!(counted.status, TaskStatus::Succeeded, "{counted:?}");
    expect_echo(run_echo("three").await, "three");

    // A replacement process has no modules: it is sent the bytes again.
    let first = workers.until_workers(1).await[0];
    kill_9(first);
    let replaced = loop {
        let pids = workers.worker_pids();
        if pids.len() == 1 && pids[0] != first {
            break pids;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_ne!(replaced, vec![first]);
    let after = run_echo("four").await;
    assert_eq!(after.attempt, 1, "the worker was idle when it died");
    expect_echo(after, "four");
    workers.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_recursion_in_a_worker_is_a_trap_not_a_crash() {
    let workers = spawn_worker_app(1, None).await;
    let app = &workers.app;
    let pids = workers.until_workers(1).await;
    // Runs on the worker's own job thread.
    deep_recursion_traps(app).await;
    assert_eq!(workers.worker_pids(), pids, "the worker survived");
    workers.app.stop().await;
}

/// A session's runs go back to the worker holding it live and start there
/// at once; one idle past the live timeout, or whose worker died, resumes
/// from its stored state with every variable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_stays_live_in_its_worker_until_idle_or_lost() {
    let live = LiveSessions {
        capacity: 4,
        idle: Duration::from_secs(1),
    };
    let workers = spawn_workers(2, home().root().to_owned(), live).await;
    let app = &workers.app;
    workers.until_workers(2).await;
    let a = app.open_session(json!({})).await;
    let b = app.open_session(json!({})).await;
    for (round, expected) in [
        (0, SessionStart::New),
        (1, SessionStart::Live),
        (2, SessionStart::Live),
    ] {
        for session in [&a.id, &b.id] {
            let code = format!("n = {round}\nseen = globals().get('seen', []) + [n]");
            let run = app.session_run(session, &code).await;
            assert_eq!(start_of(&run), expected, "round {round}: {run:?}");
        }
    }

    tokio::time::sleep(Duration::from_millis(1600)).await;
    let resumed = app.session_run(&a.id, "seen").await;
    assert_eq!(start_of(&resumed), SessionStart::Stored, "idle past 1s");
    assert_eq!(resumed.result.unwrap().value.as_deref(), Some("[0, 1, 2]"));
    let again = app.session_run(&a.id, "seen").await;
    assert_eq!(start_of(&again), SessionStart::Live);

    for pid in workers.worker_pids() {
        kill_9(pid);
    }
    workers.until_workers(2).await;
    let after = app.session_run(&a.id, "seen + [len(seen)]").await;
    assert_eq!(start_of(&after), SessionStart::Stored, "its worker died");
    assert_eq!(after.result.unwrap().value.as_deref(), Some("[0, 1, 2, 3]"));
}
