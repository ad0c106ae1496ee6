//! The Python client (`clients/python`) against real servers: its type check
//! and its pytest suite, from a venv made once under the target dir, with
//! the client reinstalled from this tree on every run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::app::spawn_app_with;

/// The test tools, pinned. hatchling is the client's build backend: with it
/// in the venv the client builds without build isolation, so a rerun needs
/// no network.
const TOOLS: [&str; 4] = [
    "hatchling==1.33.0",
    "mypy==2.4.1",
    "pytest==9.2.0",
    "pytest-asyncio==1.5.0",
];

const API_KEY: &str = "python-client-key";

/// A module whose `run` returns 7: a failed task, and a second module for
/// the name-conflict test.
const SEVEN: &str =
    r#"(module (memory (export "memory") 1) (func (export "run") (result i32) i32.const 7))"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_client_passes_its_suite_against_a_real_server() {
    // A short wait cap, so `run` must wait more than once for a slow task.
    let open = spawn_app_with(|args| args.max_wait = Some(Duration::from_secs(1).into())).await;
    let guarded = spawn_app_with(|args| {
        args.api_keys = vec![API_KEY.into()];
        args.max_queue_depth = Some(0);
        args.max_sessions = Some(0);
    })
    .await;
    let modules = tempfile::tempdir().unwrap();
    let seven = modules.path().join("seven.wasm");
    std::fs::write(&seven, wat::parse_str(SEVEN).unwrap()).unwrap();
    let client = Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients/python");
    let envs = [
        ("SANDRUN_URL", open.address.clone()),
        ("SANDRUN_GUARDED_URL", guarded.address.clone()),
        ("SANDRUN_API_KEY", API_KEY.into()),
        ("SANDRUN_ECHO_WASM", sandrun_test_guests::ECHO.into()),
        ("SANDRUN_SEVEN_WASM", seven.display().to_string()),
    ];
    tokio::task::spawn_blocking(move || {
        let python = venv(&client);
        checked(
            Command::new(&python)
                .args(["-m", "mypy", "src", "tests"])
                .env("MYPY_CACHE_DIR", venv_dir().join("mypy-cache"))
                .current_dir(&client),
        );
        checked(
            Command::new(&python)
                .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .envs(envs)
                .current_dir(&client),
        );
    })
    .await
    .unwrap();
    open.stop().await;
    guarded.stop().await;
}

fn venv_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python-client-venv")
}

/// The venv's python, with the tools and this tree's client installed.
fn venv(client: &Path) -> PathBuf {
    let dir = venv_dir();
    let python = dir.join("bin/python");
    if !python.exists() {
        checked(Command::new("python3").args(["-m", "venv"]).arg(&dir));
    }
    let pip = || {
        let mut pip = Command::new(&python);
        pip.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ]);
        pip
    };
    checked(pip().args(TOOLS));
    checked(pip().arg("--no-build-isolation").arg(client));
    python
}

/// Run `command`, failing the test with everything it printed unless it
/// succeeds; what it printed shows with `--nocapture`.
fn checked(command: &mut Command) {
    let output = command.output().expect("the command starts");
    print!("{}", String::from_utf8_lossy(&output.stdout));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
