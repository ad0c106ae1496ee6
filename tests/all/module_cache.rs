//! The compiled-module cache is trusted only when intact.

use std::fs;
use std::path::PathBuf;

use sandrun::sandbox::{CancelHandle, LimitPolicy, LiveSessions, Sandbox, Task};
use sandrun_api::Outcome;

use crate::support::fresh_home;

const MODULE: &str = r#"(module (func (export "run") (result i32) i32.const 5))"#;

fn run_once(home: &sandrun::home::Home) -> Outcome {
    let sandbox = Sandbox::new(home, LimitPolicy::default(), 1, LiveSessions::NONE).unwrap();
    let task = Task::wasm(wat::parse_str(MODULE).unwrap());
    sandbox.run(&task, &CancelHandle::new()).unwrap().outcome
}

fn artifact(home: &sandrun::home::Home) -> PathBuf {
    let found: Vec<PathBuf> = fs::read_dir(home.module_cache())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found.into_iter().next().unwrap()
}

#[test]
fn a_corrupt_artifact_is_rebuilt() {
    let (_dir, home) = fresh_home();
    assert_eq!(run_once(&home), Outcome::Exited);
    let path = artifact(&home);
    let good = fs::read(&path).unwrap();
    let mut bad = good.clone();
    let middle = bad.len() / 2;
    bad[middle] ^= 0xff;
    fs::write(&path, &bad).unwrap();

    assert_eq!(run_once(&home), Outcome::Exited);
    assert_eq!(
        fs::read(&path).unwrap(),
        good,
        "the corrupt file was replaced"
    );
}

#[test]
fn an_artifact_wasmtime_refuses_is_rebuilt() {
    let (_dir, home) = fresh_home();
    assert_eq!(run_once(&home), Outcome::Exited);
    let path = artifact(&home);
    let good = fs::read(&path).unwrap();
    // Garbage with a matching digest: only wasmtime's own check stands.
    let garbage = b"not a compiled module".to_vec();
    fs::write(&path, &garbage).unwrap();
    let digest = path.with_extension("cwasm.sha256");
    fs::write(&digest, sandrun_sha256(&garbage)).unwrap();

    assert_eq!(run_once(&home), Outcome::Exited);
    assert_eq!(fs::read(&path).unwrap(), good);
}

fn sandrun_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
