//! WASI preview1 as a guest sees it: wasmtime-wasi's implementation, except
//! where the host must answer itself to keep its limits. wasmtime-wasi
//! sleeps out of reach of the epoch and keeps no count of open files or of
//! the bytes a guest writes to disk, so `poll_oneoff`, the calls that change
//! the descriptor table and the calls that make files larger are replaced
//! here; every other WASI function is wasmtime-wasi's own.

/// Run one of wasmtime-wasi's preview1 functions on the caller's memory,
/// as wiggle's own wrapper does: with the store's hostcall fuel, the bytes
/// one call may copy out of the guest. Left as the last wrapped call left
/// it, it would run down over these calls until each failed with `ENOMEM`.
macro_rules! call_wasi {
    ($caller:expr, $func:ident($($arg:expr),*)) => {{
        match $crate::sandbox::guest_memory::memory($caller) {
            Err(errno) => Ok(errno),
            Ok(mem) => {
                let fuel = ::wasmtime::AsContextMut::as_context_mut(&mut *$caller).hostcall_fuel();
                let (data, state) = mem.data_and_store_mut(&mut *$caller);
                ::wasmtime_wasi::p1::wasi_snapshot_preview1::WasiSnapshotPreview1::set_hostcall_fuel(
                    &mut state.wasi,
                    fuel,
                );
                ::wasmtime_wasi::runtime::in_tokio(
                    ::wasmtime_wasi::p1::wasi_snapshot_preview1::$func(
                        &mut state.wasi,
                        &mut ::wiggle::GuestMemory::Unshared(data),
                        $($arg),*
                    ),
                )
            }
        }
    }};
}

pub(super) mod disk_quota;
pub(super) mod errno;
pub(super) mod open_files;
mod poll;

use wasmtime::Linker;

use super::TaskState;

/// The import module every preview1 function is in.
const MODULE: &str = "wasi_snapshot_preview1";

/// Add WASI preview1 to `linker`, with the host's own `poll_oneoff`,
/// open-file accounting and disk quota in place of wasmtime-wasi's.
pub fn define(linker: &mut Linker<TaskState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p1::add_to_linker_sync(linker, |state: &mut TaskState| &mut state.wasi)?;
    linker.allow_shadowing(true);
    poll::define(linker)?;
    open_files::define(linker)?;
    disk_quota::define(linker)
}
