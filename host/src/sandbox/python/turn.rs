//! How Python code enters the interpreter: through the runtime's `turn`
//! export, which runs source in `__main__` of an interpreter that is already
//! up. A task starts from a snapshot taken after one such turn, so its
//! argv, environment and code cannot come from WASI (the interpreter read
//! those before the snapshot); they travel inside the task's own turn.

use std::collections::BTreeMap;

use serde::Serialize;
use wasmtime::{Instance, Store};

use crate::sandbox::TaskState;

/// Defines what the snapshot's turn and every task's turn call.
const BOOT: &str = include_str!("../../../../guest-sdk/python/boot.py");

/// The source of the turn that prepares a snapshot.
pub fn snapshot_source(pre_import: &[String]) -> String {
    let modules = serde_json::to_string(pre_import).expect("strings serialise");
    format!("{BOOT}\n_sandrun_snapshot({modules})\ndel _sandrun_snapshot\n")
}

/// What the snapshot's source is made from, for keying snapshots.
pub fn boot_source() -> &'static str {
    BOOT
}

#[derive(Serialize)]
struct TaskSpec<'a> {
    args: &'a [String],
    env: &'a BTreeMap<&'a str, &'a str>,
    code: &'a str,
}

/// The source of a task's turn. JSON strings, lists and objects are Python
/// literals too, so the task's data needs no other encoding.
pub fn task_source(code: &str, args: &[String], env: &BTreeMap<&str, &str>) -> String {
    let spec = serde_json::to_string(&TaskSpec { args, env, code }).expect("strings serialise");
    format!("_sandrun_task({spec})\n")
}

/// The source of a session run's turn: the first sets the session up
/// (argv, environment, fresh seeds), every one runs `code` and reports.
pub fn session_source(
    code: &str,
    args: &[String],
    env: &BTreeMap<&str, &str>,
    first: bool,
) -> String {
    let spec = serde_json::to_string(&TaskSpec { args, env, code }).expect("strings serialise");
    if first {
        format!("_sandrun_session_start({spec})\n")
    } else {
        format!("__import__('sys').modules['_sandrun_session'].run({spec})\n")
    }
}

/// Run `source` as one turn; the turn's status, whose low byte is the exit
/// code (256 and above mean the interpreter quit).
pub fn call_turn(
    store: &mut Store<TaskState>,
    instance: &Instance,
    source: &str,
) -> wasmtime::Result<i32> {
    let alloc = instance.get_typed_func::<i32, i32>(&mut *store, "host_alloc")?;
    let turn = instance.get_typed_func::<(i32, i32), i32>(&mut *store, "turn")?;
    let memory = instance
        .get_memory(&mut *store, "memory")
        .ok_or_else(|| wasmtime::format_err!("the runtime exports no `memory`"))?;
    let len = i32::try_from(source.len())?;
    let ptr = alloc.call(&mut *store, len)?;
    if ptr == 0 {
        wasmtime::bail!("the runtime could not allocate {len} bytes for the task's code");
    }
    memory.write(&mut *store, ptr as u32 as usize, source.as_bytes())?;
    turn.call(&mut *store, (ptr, len))
}
