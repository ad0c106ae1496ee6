//! WASI preview1 as a guest sees it: wasmtime-wasi's implementation, except
//! where the host must answer itself to keep its limits. wasmtime-wasi
//! sleeps out of reach of the epoch and keeps no count of open files, so
//! `poll_oneoff` and the calls that change the descriptor table are
//! replaced here; every other WASI function is wasmtime-wasi's own.

pub(super) mod errno;
pub(super) mod open_files;
mod poll;

use wasmtime::Linker;

use super::TaskState;

/// Add WASI preview1 to `linker`, with the host's own `poll_oneoff` and
/// open-file accounting in place of wasmtime-wasi's.
pub fn define(linker: &mut Linker<TaskState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p1::add_to_linker_sync(linker, |state: &mut TaskState| &mut state.wasi)?;
    linker.allow_shadowing(true);
    poll::define(linker)?;
    open_files::define(linker)
}
