//! `host.call(req_ptr, req_len, out_ptr_ptr, out_len_ptr) -> i32`: the one
//! import through which a guest reaches the host's services.
//!
//! The shape is the one the pinned CPython runtime already imports, so a
//! Python task and a module in any other language speak the same door. The
//! reply lands in a buffer the guest itself allocates through its exported
//! `host_alloc`, so the guest owns every byte the host hands it. Every
//! pointer, length and returned address is checked against the guest's
//! memory: a lying guest gets `FAULT`, never a host panic or a read outside
//! its own memory. The call past the task's `host_calls` limit stops the
//! guest; a request or reply past its `host_call_bytes` is refused.
//!
//! This file is the door; what each call means is in `services`, and what
//! stands behind them (live output, logs, the key-value store) is supplied
//! by whoever runs the task through the `hooks` traits, so the sandbox
//! knows nothing of servers or databases.

pub(in crate::sandbox) mod display;
pub(super) mod hooks;
pub(super) mod services;

use wasmtime::{Caller, Linker};

use super::TaskState;
use super::guest_memory::{memory, slice, slice_mut, write_u32};

/// A reply was written to `*out_ptr_ptr` / `*out_len_ptr`.
const REPLIED: i32 = 0;
/// The host could not read the request or deliver the reply: a bad pointer
/// or length, a missing `memory` or `host_alloc` export, or an address from
/// `host_alloc` that is null or does not fit in memory.
const FAULT: i32 = -2;

pub fn define(linker: &mut Linker<TaskState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "host",
        "call",
        |mut caller: Caller<'_, TaskState>,
         req_ptr: i32,
         req_len: i32,
         out_ptr_ptr: i32,
         out_len_ptr: i32|
         -> wasmtime::Result<i32> {
            caller.data_mut().services.count_call()?;
            let reply = match request_reply(&mut caller, req_ptr, req_len, out_ptr_ptr, out_len_ptr)
            {
                Ok(reply) => reply,
                Err(fault) => return Ok(fault),
            };
            deliver(&mut caller, &reply, out_ptr_ptr, out_len_ptr)
        },
    )?;
    Ok(())
}

/// Read and answer the request, once the reply's destination is known to
/// be writable.
fn request_reply(
    caller: &mut Caller<'_, TaskState>,
    req_ptr: i32,
    req_len: i32,
    out_ptr_ptr: i32,
    out_len_ptr: i32,
) -> Result<Vec<u8>, i32> {
    let mem = memory(caller).map_err(|_| FAULT)?;
    let (data, state) = mem.data_and_store_mut(&mut *caller);
    slice(data, out_ptr_ptr, 4).map_err(|_| FAULT)?;
    slice(data, out_len_ptr, 4).map_err(|_| FAULT)?;
    let len = req_len as u32 as usize;
    let at_ms = state.clock.elapsed_nanos() as f64 / 1e6;
    if let Err(refusal) = state.services.check_request(len) {
        return Ok(refusal);
    }
    let request = slice(data, req_ptr, len).map_err(|_| FAULT)?;
    Ok(state.services.answer(request, at_ms))
}

/// Copy `reply` into a buffer from the guest's `host_alloc` and tell the
/// guest where it is. A trap inside `host_alloc` (fuel, a fault) ends the
/// task as any trap does.
fn deliver(
    caller: &mut Caller<'_, TaskState>,
    reply: &[u8],
    out_ptr_ptr: i32,
    out_len_ptr: i32,
) -> wasmtime::Result<i32> {
    let Some(alloc) = caller
        .get_export("host_alloc")
        .and_then(|e| e.into_func())
        .and_then(|f| f.typed::<i32, i32>(&*caller).ok())
    else {
        return Ok(FAULT);
    };
    let len = i32::try_from(reply.len()).expect("replies are far below 2 GiB");
    let ptr = alloc.call(&mut *caller, len)?;
    if ptr == 0 {
        return Ok(FAULT);
    }
    // `host_alloc` ran guest code, which may have grown the memory: look it
    // up again and check every address afresh.
    let Ok(mem) = memory(caller) else {
        return Ok(FAULT);
    };
    let data = mem.data_mut(&mut *caller);
    let written = slice_mut(data, ptr, reply.len())
        .map(|out| out.copy_from_slice(reply))
        .and_then(|()| write_u32(data, out_ptr_ptr, ptr as u32))
        .and_then(|()| write_u32(data, out_len_ptr, len as u32));
    Ok(written.map_or(FAULT, |()| REPLIED))
}
