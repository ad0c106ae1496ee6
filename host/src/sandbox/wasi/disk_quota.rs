//! The cap on the guest's writable space (`disk_bytes`): its `/tmp` is a
//! host directory, and without a cap a guest could fill the host's disk.
//!
//! wasmtime-wasi keeps no count, so the host wraps the calls that make a
//! file larger (`fd_write`, `fd_pwrite`, `fd_filestat_set_size`): each one
//! on a regular file is weighed first by how far it would grow the file past
//! its end, and refused with `ENOSPC` ("No space left on device") if that
//! would pass the cap; else wasmtime-wasi's own implementation runs, and the
//! growth it made is counted. The count only rises (deleting or truncating
//! a file is not seen), so when it says a write does not fit, the writable
//! directories are measured again before the write is refused. Nothing else
//! grows a file: wasmtime-wasi answers `fd_allocate` with `ENOTSUP`.
//!
//! Every entry (a file, a directory, a link) weighs at least
//! [`ENTRY_BYTES`], as a block of a real disk would, so that a guest making
//! empty files or directories by the million fills its quota, not the
//! host's inodes: `path_open` with `O_CREAT`, `path_create_directory`,
//! `path_symlink` and `path_link` are weighed that much before they run.
//!
//! The host asks wasmtime-wasi about a descriptor (`fd_filestat_get`,
//! `fd_fdstat_get`, `fd_tell`) with a scratch buffer of its own as the
//! "guest memory" the answer is written to, so the guest's memory is never
//! touched by the checks.

use std::path::PathBuf;

use wasmtime::{Caller, Linker};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p1::wasi_snapshot_preview1 as wasi;
use wasmtime_wasi::runtime::in_tokio;
use wiggle::GuestMemory;

use super::MODULE;
use super::errno::{ENOSPC, SUCCESS};
use crate::runtime::disk_usage_at_least;
use crate::sandbox::TaskState;
use crate::sandbox::guest_memory::{memory, read_u32};

/// The least an entry under the writable directories weighs.
pub const ENTRY_BYTES: u64 = 4096;

/// `oflags`: the file is made if it does not exist.
const O_CREAT: i32 = 1;

/// The bytes a task's files may take, and how many they take now.
#[derive(Debug)]
pub struct DiskQuota {
    limit: u64,
    /// Never less than what the directories hold.
    used: u64,
    /// The host directories the guest can write.
    dirs: Vec<PathBuf>,
    /// A write was refused for want of space.
    exceeded: bool,
}

impl DiskQuota {
    /// A cap of `limit` bytes on what `dirs` hold (a session's restored
    /// files count from the start).
    pub fn new(limit: u64, dirs: Vec<PathBuf>) -> Self {
        DiskQuota {
            limit,
            used: measure(&dirs),
            dirs,
            exceeded: false,
        }
    }

    /// Whether a write was refused for want of space.
    pub fn exceeded(&self) -> bool {
        self.exceeded
    }

    /// Whether `growth` more bytes fit: by the count, or else by the
    /// directories measured again.
    fn admit(&mut self, growth: u64) -> bool {
        if self.used.saturating_add(growth) <= self.limit {
            return true;
        }
        self.used = measure(&self.dirs);
        let fits = self.used.saturating_add(growth) <= self.limit;
        self.exceeded |= !fits;
        fits
    }

    fn grew(&mut self, bytes: u64) {
        self.used = self.used.saturating_add(bytes);
    }
}

/// The bytes the files under `dirs` hold, by their sizes (a sparse file
/// counts whole, as a copy of it would take; links are not followed), each
/// entry at least [`ENTRY_BYTES`].
fn measure(dirs: &[PathBuf]) -> u64 {
    dirs.iter()
        .map(|dir| disk_usage_at_least(dir, ENTRY_BYTES))
        .sum()
}

/// Run `call`, which may make one entry, only if one more fits; `ENOSPC`
/// if not.
pub fn making_entry(
    caller: &mut Caller<'_, TaskState>,
    call: impl FnOnce(&mut Caller<'_, TaskState>) -> wasmtime::Result<i32>,
) -> wasmtime::Result<i32> {
    if !caller.data_mut().disk_quota.admit(ENTRY_BYTES) {
        return Ok(ENOSPC);
    }
    let errno = call(caller)?;
    if errno == SUCCESS {
        caller.data_mut().disk_quota.grew(ENTRY_BYTES);
    }
    Ok(errno)
}

/// Whether a `path_open` with these `oflags` may make a file.
pub fn creates(oflags: i32) -> bool {
    oflags & O_CREAT != 0
}

/// What the host learns of a descriptor before a call that may grow it.
struct Descriptor {
    size: u64,
    regular_file: bool,
}

/// The scratch memory wasmtime-wasi writes its answers about a descriptor to.
const SCRATCH: usize = 64;
/// `filestat`: `filetype` (u8) at 16, `size` (u64) at 32.
const FILETYPE_AT: usize = 16;
const SIZE_AT: usize = 32;
const REGULAR_FILE: u8 = 4;
/// `fdstat`: `fs_flags` (u16) at 2; `append` is its first bit.
const FLAGS_AT: usize = 2;
const APPEND: u16 = 1;

fn describe(wasi: &mut WasiP1Ctx, fd: i32) -> Option<Descriptor> {
    let stat = ask(wasi, |wasi, mem| {
        in_tokio(wasi::fd_filestat_get(wasi, mem, fd, 0))
    })?;
    Some(Descriptor {
        size: u64::from_le_bytes(stat[SIZE_AT..SIZE_AT + 8].try_into().ok()?),
        regular_file: stat[FILETYPE_AT] == REGULAR_FILE,
    })
}

/// Where a plain `fd_write` to `fd` would start: the file's end when it
/// was opened to append, else its position.
fn write_position(wasi: &mut WasiP1Ctx, fd: i32, size: u64) -> Option<u64> {
    let fdstat = ask(wasi, |wasi, mem| {
        in_tokio(wasi::fd_fdstat_get(wasi, mem, fd, 0))
    })?;
    let flags = u16::from_le_bytes(fdstat[FLAGS_AT..FLAGS_AT + 2].try_into().ok()?);
    if flags & APPEND != 0 {
        return Some(size);
    }
    let tell = ask(wasi, |wasi, mem| wasi::fd_tell(wasi, mem, fd, 0))?;
    Some(u64::from_le_bytes(tell[..8].try_into().ok()?))
}

/// Call `query` with scratch memory for its answer; the answer, if it
/// succeeded.
fn ask(
    wasi: &mut WasiP1Ctx,
    query: impl FnOnce(&mut WasiP1Ctx, &mut GuestMemory<'_>) -> wasmtime::Result<i32>,
) -> Option<[u8; SCRATCH]> {
    let mut scratch = [0u8; SCRATCH];
    let errno = query(wasi, &mut GuestMemory::Unshared(&mut scratch)).ok()?;
    (errno == SUCCESS).then_some(scratch)
}

/// The bytes the guest's iovec array at `iovs` asks to write.
fn requested(caller: &mut Caller<'_, TaskState>, iovs: i32, count: i32) -> Option<u64> {
    let mem = memory(caller).ok()?;
    let data = mem.data(&*caller);
    (0..count as u32).try_fold(0u64, |total, i| {
        let at = (iovs as u32).checked_add(i.checked_mul(8)?.checked_add(4)?)?;
        let len = read_u32(data, at as i32).ok()?;
        Some(total + u64::from(len))
    })
}

/// Run `call`, which may grow the file at `fd` to at most `end` bytes,
/// only if that fits in the quota, and count what it grew.
fn growing(
    caller: &mut Caller<'_, TaskState>,
    fd: i32,
    end: impl FnOnce(&mut WasiP1Ctx, u64) -> Option<u64>,
    call: impl FnOnce(&mut Caller<'_, TaskState>) -> wasmtime::Result<i32>,
) -> wasmtime::Result<i32> {
    let state = caller.data_mut();
    let before = match describe(&mut state.wasi, fd) {
        Some(d) if d.regular_file => d.size,
        // Not a file (a standard stream, a directory) or not a descriptor:
        // wasmtime-wasi answers as it would.
        _ => return call(caller),
    };
    // Not knowing how far the call reaches, assume the worst.
    let growth = end(&mut state.wasi, before).map_or(u64::MAX, |end| end.saturating_sub(before));
    if !state.disk_quota.admit(growth) {
        return Ok(ENOSPC);
    }
    let errno = call(caller)?;
    let state = caller.data_mut();
    if let Some(after) = describe(&mut state.wasi, fd) {
        state.disk_quota.grew(after.size.saturating_sub(before));
    }
    Ok(errno)
}

/// [`growing`] for a write to `fd` of the guest's iovec array at `iovs`,
/// starting where `start` says, given the file's size.
fn writing(
    caller: &mut Caller<'_, TaskState>,
    (fd, iovs, iovs_len): (i32, i32, i32),
    start: impl FnOnce(&mut WasiP1Ctx, u64) -> Option<u64>,
    call: impl FnOnce(&mut Caller<'_, TaskState>) -> wasmtime::Result<i32>,
) -> wasmtime::Result<i32> {
    let Some(bytes) = requested(caller, iovs, iovs_len) else {
        // An iovec outside the guest's memory: wasmtime-wasi's own answer,
        // `EFAULT`, is the right one.
        return call(caller);
    };
    growing(
        caller,
        fd,
        |wasi, size| start(wasi, size)?.checked_add(bytes),
        call,
    )
}

pub fn define(linker: &mut Linker<TaskState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        MODULE,
        "path_create_directory",
        |mut caller: Caller<'_, TaskState>, fd: i32, path: i32, len: i32| {
            making_entry(&mut caller, |caller| {
                call_wasi!(caller, path_create_directory(fd, path, len))
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "path_symlink",
        |mut caller: Caller<'_, TaskState>,
         old: i32,
         old_len: i32,
         fd: i32,
         new: i32,
         new_len: i32| {
            making_entry(&mut caller, |caller| {
                call_wasi!(caller, path_symlink(old, old_len, fd, new, new_len))
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "path_link",
        |mut caller: Caller<'_, TaskState>,
         old_fd: i32,
         flags: i32,
         old: i32,
         old_len: i32,
         new_fd: i32,
         new: i32,
         new_len: i32| {
            making_entry(&mut caller, |caller| {
                call_wasi!(
                    caller,
                    path_link(old_fd, flags, old, old_len, new_fd, new, new_len)
                )
            })
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_write",
        |mut caller: Caller<'_, TaskState>,
         fd: i32,
         iovs: i32,
         iovs_len: i32,
         written: i32|
         -> wasmtime::Result<i32> {
            writing(
                &mut caller,
                (fd, iovs, iovs_len),
                |wasi, size| write_position(wasi, fd, size),
                |caller| call_wasi!(caller, fd_write(fd, iovs, iovs_len, written)),
            )
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_pwrite",
        |mut caller: Caller<'_, TaskState>,
         fd: i32,
         iovs: i32,
         iovs_len: i32,
         offset: i64,
         written: i32|
         -> wasmtime::Result<i32> {
            writing(
                &mut caller,
                (fd, iovs, iovs_len),
                |_, _| Some(offset as u64),
                |caller| call_wasi!(caller, fd_pwrite(fd, iovs, iovs_len, offset, written)),
            )
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_filestat_set_size",
        |mut caller: Caller<'_, TaskState>, fd: i32, size: i64| -> wasmtime::Result<i32> {
            growing(
                &mut caller,
                fd,
                |_, _| Some(size as u64),
                |caller| call_wasi!(caller, fd_filestat_set_size(fd, size)),
            )
        },
    )?;
    Ok(())
}
