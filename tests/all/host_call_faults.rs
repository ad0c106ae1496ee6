//! Guests that pass `host.call` garbage: every bad address or length is a
//! `-2` for the guest, and the host neither crashes nor touches memory
//! outside the guest's.

use sandrun::sandbox::Task;
use sandrun_api::Outcome;

use crate::support::run;

const FAULT: i32 = -2;

/// A one-page module whose `run` makes one host call with these arguments
/// and exits with its return code, and whose exports include
/// `host_alloc_export`. The request `{"call":"input"}` sits at address 0.
fn module(args: [i64; 4], host_alloc_export: &str) -> Task {
    let [req_ptr, req_len, out_ptr_ptr, out_len_ptr] = args;
    let wat = format!(
        r#"(module
            (import "host" "call" (func $call (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "{{\"call\":\"input\"}}")
            {host_alloc_export}
            (func (export "run") (result i32)
                (call $call (i32.const {req_ptr}) (i32.const {req_len})
                            (i32.const {out_ptr_ptr}) (i32.const {out_len_ptr}))))"#
    );
    Task::wasm(wat::parse_str(&wat).expect("valid WAT"))
}

/// `host.call`'s return code, with `host_alloc` answering `alloc`.
fn call_with(req_ptr: i64, req_len: i64, out_ptr_ptr: i64, out_len_ptr: i64, alloc: i64) -> i32 {
    let alloc =
        format!(r#"(func (export "host_alloc") (param i32) (result i32) i32.const {alloc})"#);
    let r = run(&module(
        [req_ptr, req_len, out_ptr_ptr, out_len_ptr],
        &alloc,
    ));
    assert!(
        matches!(r.outcome, Outcome::Succeeded | Outcome::Exited),
        "{r:?}"
    );
    r.exit_code.expect("run returned")
}

const GOOD_CALL: [i64; 4] = [0, 16, 512, 516];

#[test]
fn a_well_formed_call_is_answered() {
    assert_eq!(call_with(0, 16, 512, 516, 1024), 0);
}

#[test]
fn a_request_outside_memory_is_a_fault() {
    assert_eq!(call_with(65530, 16, 512, 516, 1024), FAULT);
    assert_eq!(call_with(-1, 16, 512, 516, 1024), FAULT);
    assert_eq!(call_with(0, 65537, 512, 516, 1024), FAULT);
}

#[test]
fn a_huge_length_is_refused_without_reading() {
    // Far past memory and past the request cap: answered with `too_large`.
    assert_eq!(call_with(0, -1, 512, 516, 1024), 0);
    assert_eq!(call_with(0, 0x7fff_ffff, 512, 516, 1024), 0);
}

#[test]
fn reply_slots_outside_memory_are_a_fault() {
    assert_eq!(call_with(0, 16, 65534, 516, 1024), FAULT);
    assert_eq!(call_with(0, 16, 512, -4, 1024), FAULT);
}

#[test]
fn a_bad_address_from_host_alloc_is_a_fault() {
    assert_eq!(call_with(0, 16, 512, 516, 0), FAULT);
    assert_eq!(call_with(0, 16, 512, 516, 65535), FAULT);
    assert_eq!(call_with(0, 16, 512, 516, -8), FAULT);
}

#[test]
fn a_module_without_host_alloc_gets_a_fault() {
    let r = run(&module(GOOD_CALL, ""));
    assert_eq!(r.exit_code, Some(FAULT), "{r:?}");
}

#[test]
fn a_trap_in_host_alloc_ends_the_task_as_trapped() {
    let trapping = r#"(func (export "host_alloc") (param i32) (result i32) unreachable)"#;
    let r = run(&module(GOOD_CALL, trapping));
    assert_eq!(r.outcome, Outcome::Trapped, "{r:?}");
    assert!(r.message.unwrap().contains("unreachable"));
}
