//! The cap on files a guest holds open at once.
//!
//! wasmtime-wasi keeps no count, so the host wraps the three calls that
//! change the descriptor table (`path_open`, `fd_close`, `fd_renumber`):
//! each runs wasmtime-wasi's own implementation and tracks the descriptors
//! that `path_open` handed out. A guest at its cap gets `EMFILE`, which its
//! language reports as "too many open files".

use std::collections::HashSet;

use wasmtime::{Caller, Linker};

use super::errno::{EMFILE, SUCCESS};
use super::{MODULE, disk_quota};
use crate::sandbox::TaskState;
use crate::sandbox::guest_memory::{memory, read_u32};

/// The descriptors a task opened, and how many it may hold.
#[derive(Debug)]
pub struct OpenFiles {
    limit: usize,
    open: HashSet<u32>,
}

impl OpenFiles {
    pub fn new(limit: u32) -> Self {
        OpenFiles {
            limit: limit as usize,
            open: HashSet::new(),
        }
    }
}

pub fn define(linker: &mut Linker<TaskState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        MODULE,
        "path_open",
        |mut caller: Caller<'_, TaskState>,
         dirfd: i32,
         dirflags: i32,
         path: i32,
         path_len: i32,
         oflags: i32,
         rights: i64,
         inheriting: i64,
         fdflags: i32,
         fd_out: i32|
         -> wasmtime::Result<i32> {
            let files = &caller.data().open_files;
            if files.open.len() >= files.limit {
                return Ok(EMFILE);
            }
            let caller = &mut caller;
            let open = |caller: &mut Caller<'_, TaskState>| {
                call_wasi!(
                    caller,
                    path_open(
                        dirfd, dirflags, path, path_len, oflags, rights, inheriting, fdflags,
                        fd_out
                    )
                )
            };
            // A file it may make weighs on the disk quota.
            let errno = if disk_quota::creates(oflags) {
                disk_quota::making_entry(caller, open)?
            } else {
                open(caller)?
            };
            if errno == SUCCESS {
                // Success means wasmtime-wasi just wrote the descriptor there.
                if let Ok(fd) = memory(caller).and_then(|m| read_u32(m.data(&*caller), fd_out)) {
                    caller.data_mut().open_files.open.insert(fd);
                }
            }
            Ok(errno)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_close",
        |mut caller: Caller<'_, TaskState>, fd: i32| -> wasmtime::Result<i32> {
            let caller = &mut caller;
            let errno = call_wasi!(caller, fd_close(fd))?;
            if errno == SUCCESS {
                caller.data_mut().open_files.open.remove(&(fd as u32));
            }
            Ok(errno)
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_renumber",
        |mut caller: Caller<'_, TaskState>, from: i32, to: i32| -> wasmtime::Result<i32> {
            let caller = &mut caller;
            let errno = call_wasi!(caller, fd_renumber(from, to))?;
            if errno == SUCCESS && from != to {
                // `to` was closed and `from` now lives at `to`.
                let open = &mut caller.data_mut().open_files.open;
                open.remove(&(to as u32));
                if open.remove(&(from as u32)) {
                    open.insert(to as u32);
                }
            }
            Ok(errno)
        },
    )?;
    Ok(())
}
