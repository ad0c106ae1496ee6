use sandrun::sandbox::Task;
use sandrun_api::{Limits, Outcome};

use crate::support::{run, stderr, stdout};

fn echo() -> Vec<u8> {
    std::fs::read(sandrun_test_guests::ECHO).expect("build.rs built the echo guest")
}

fn wat(text: &str) -> Task {
    Task::wasm(wat::parse_str(text).expect("valid WAT"))
}

#[test]
fn a_wasi_command_gets_stdin_args_env_and_inputs() {
    let mut task = Task::wasm(echo());
    task.stdin = b"from stdin".to_vec();
    task.args = vec!["--flag".into(), "value".into()];
    task.env.insert("COLOR".into(), "blue".into());
    task.files.insert("in.txt".into(), b"x".to_vec());
    let r = run(&task);
    assert_eq!(r.outcome, Outcome::Succeeded, "{r:?}");
    assert_eq!(
        stdout(&r),
        "args: main.wasm --flag value\nenv: COLOR=blue\nstdin: from stdin\ninput: in.txt\n"
    );
    assert_eq!(stderr(&r), "to stderr\n");
}

#[test]
fn a_wasi_command_exit_code_is_reported() {
    let mut task = Task::wasm(echo());
    task.env.insert("EXIT_CODE".into(), "3".into());
    let r = run(&task);
    assert_eq!(r.outcome, Outcome::Exited);
    assert_eq!(r.exit_code, Some(3));
}

#[test]
fn a_reactor_run_export_returns_the_exit_code() {
    let r = run(&wat(
        r#"(module (memory (export "memory") 1) (func (export "run") (result i32) i32.const 9))"#,
    ));
    assert_eq!(r.outcome, Outcome::Exited);
    assert_eq!(r.exit_code, Some(9));
}

#[test]
fn malformed_wasm_is_an_invalid_module() {
    let r = run(&Task::wasm(b"\0asm\x01\0\0\0this is not wasm".to_vec()));
    assert_eq!(r.outcome, Outcome::InvalidModule);
    assert!(!r.message.unwrap().is_empty());
    let r = run(&Task::wasm(b"not even a header".to_vec()));
    assert_eq!(r.outcome, Outcome::InvalidModule);
}

#[test]
fn an_unknown_import_is_an_invalid_module_naming_it() {
    let r = run(&wat(
        r#"(module (import "env" "launch_missiles" (func)) (func (export "_start")))"#,
    ));
    assert_eq!(r.outcome, Outcome::InvalidModule);
    let message = r.message.unwrap();
    assert!(message.contains("launch_missiles"), "{message}");
}

#[test]
fn a_module_beyond_the_instance_pool_is_invalid_and_says_why() {
    let r = run(&wat(
        r#"(module (table 1000000 funcref) (func (export "_start")))"#,
    ));
    assert_eq!(r.outcome, Outcome::InvalidModule, "{r:?}");
    let message = r.message.unwrap();
    assert!(message.contains("table"), "{message}");
}

#[test]
fn a_module_without_an_entry_point_is_invalid() {
    let r = run(&wat(r#"(module (func (export "main")))"#));
    assert_eq!(r.outcome, Outcome::InvalidModule);
    assert!(r.message.unwrap().contains("_start"));
}

#[test]
fn a_trap_is_reported_with_its_message() {
    let r = run(&wat(r#"(module (func (export "_start") unreachable))"#));
    assert_eq!(r.outcome, Outcome::Trapped);
    assert!(r.message.unwrap().contains("unreachable"));
}

#[test]
fn a_wasm_loop_runs_out_of_fuel() {
    let mut task = wat(r#"(module (func (export "_start") (loop (br 0))))"#);
    task.limits = Limits {
        fuel: Some(1_000_000),
        ..Limits::default()
    };
    let r = run(&task);
    assert_eq!(r.outcome, Outcome::OutOfFuel);
    assert_eq!(r.fuel_used, 1_000_000);
}

#[test]
fn growing_memory_past_the_limit_is_memory_exceeded() {
    let mut task = wat(
        r#"(module (memory 1) (func (export "_start") (drop (memory.grow (i32.const 4096)))))"#,
    );
    task.limits = Limits {
        memory_bytes: Some(16 << 20),
        ..Limits::default()
    };
    let r = run(&task);
    assert_eq!(r.outcome, Outcome::MemoryExceeded, "{r:?}");
}
