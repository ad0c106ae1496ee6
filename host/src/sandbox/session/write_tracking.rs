//! The pages a live session's run wrote, from the kernel, so that reading
//! its state back compares those pages and not every page the instance
//! ever wrote (thousands for Python, of which a run writes a few hundred).
//!
//! A live instance's memory is registered with a userfaultfd in
//! asynchronous write-protect mode: the kernel write-protects the pages,
//! and the first write to each after that just marks it written, with no
//! fault handler involved. `PAGEMAP_SCAN` then reports the written pages
//! and protects them again in one step, ready for the next run.
//!
//! Linux 6.7 or later, and only what it allows: the descriptor is made
//! for user-mode faults only, which needs no privilege. Anything the
//! kernel refuses (an older kernel, a mapping it cannot track, pages found
//! not protected) gives no answer, and every written page is compared, as
//! for an instance that is not live: slower, never wrong.

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::memory::PAGE;

// <linux/userfaultfd.h>
const UFFD_USER_MODE_ONLY: libc::c_int = 1;
const UFFD_API: u64 = 0xAA;
const UFFD_FEATURE_WP_HUGETLBFS_SHMEM: u64 = 1 << 12;
const UFFD_FEATURE_WP_UNPOPULATED: u64 = 1 << 13;
const UFFD_FEATURE_WP_ASYNC: u64 = 1 << 15;
const UFFDIO_REGISTER_MODE_WP: u64 = 1 << 1;
const UFFDIO_WRITEPROTECT_MODE_WP: u64 = 1 << 0;
const UFFDIO_API: libc::c_ulong = iowr(0xAA, 0x3F, size_of::<UffdioApi>());
const UFFDIO_REGISTER: libc::c_ulong = iowr(0xAA, 0x00, size_of::<UffdioRegister>());
const UFFDIO_WRITEPROTECT: libc::c_ulong = iowr(0xAA, 0x06, size_of::<UffdioWriteprotect>());

// <linux/fs.h>
const PAGEMAP_SCAN: libc::c_ulong = iowr(b'f' as u32, 16, size_of::<PmScanArg>());
const PM_SCAN_WP_MATCHING: u64 = 1 << 0;
const PM_SCAN_CHECK_WPASYNC: u64 = 1 << 1;
const PAGE_IS_WRITTEN: u64 = 1 << 1;

/// `_IOWR(kind, number, size)`.
const fn iowr(kind: u32, number: u32, size: usize) -> libc::c_ulong {
    ((3 << 30) | ((size as u32) << 16) | (kind << 8) | number) as libc::c_ulong
}

#[repr(C)]
struct UffdioApi {
    api: u64,
    features: u64,
    ioctls: u64,
}

#[repr(C)]
struct UffdioRange {
    start: u64,
    len: u64,
}

#[repr(C)]
struct UffdioRegister {
    range: UffdioRange,
    mode: u64,
    ioctls: u64,
}

#[repr(C)]
struct UffdioWriteprotect {
    range: UffdioRange,
    mode: u64,
}

#[repr(C)]
struct PmScanArg {
    size: u64,
    flags: u64,
    start: u64,
    end: u64,
    walk_end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct PageRegion {
    start: u64,
    end: u64,
    categories: u64,
}

/// Writes to one memory being tracked. The memory must stay mapped where
/// it is for as long as this lives (the live instance holding it does).
#[derive(Debug)]
pub struct WriteTracker {
    /// Keeps the registration; closing it ends the tracking.
    _uffd: OwnedFd,
    pagemap: File,
    start: usize,
    len: usize,
}

impl WriteTracker {
    /// Start tracking writes to `memory` from now; `None` when the kernel
    /// cannot.
    pub fn start(memory: &[u8]) -> Option<WriteTracker> {
        let (start, len) = (memory.as_ptr().addr(), memory.len());
        if rustix::param::page_size() != PAGE || start % PAGE != 0 || len % PAGE != 0 || len == 0 {
            return None;
        }
        // SAFETY: the syscall takes flags and returns a new descriptor or -1.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_userfaultfd,
                libc::O_CLOEXEC | libc::O_NONBLOCK | UFFD_USER_MODE_ONLY,
            )
        };
        if fd < 0 {
            return None;
        }
        // SAFETY: `fd` was just returned to us and is owned by nothing else.
        let uffd = unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) };
        let mut api = UffdioApi {
            api: UFFD_API,
            features: UFFD_FEATURE_WP_ASYNC
                | UFFD_FEATURE_WP_UNPOPULATED
                | UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
            ioctls: 0,
        };
        let range = || UffdioRange {
            start: start as u64,
            len: len as u64,
        };
        let mut register = UffdioRegister {
            range: range(),
            mode: UFFDIO_REGISTER_MODE_WP,
            ioctls: 0,
        };
        let mut protect = UffdioWriteprotect {
            range: range(),
            mode: UFFDIO_WRITEPROTECT_MODE_WP,
        };
        // SAFETY: each ioctl gets the struct its number names, which lives
        // across the call; the range is memory of this process.
        let ok = unsafe {
            libc::ioctl(uffd.as_raw_fd(), UFFDIO_API, &mut api) == 0
                && libc::ioctl(uffd.as_raw_fd(), UFFDIO_REGISTER, &mut register) == 0
                && libc::ioctl(uffd.as_raw_fd(), UFFDIO_WRITEPROTECT, &mut protect) == 0
        };
        if !ok {
            return None;
        }
        let pagemap = File::open("/proc/self/pagemap").ok()?;
        Some(WriteTracker {
            _uffd: uffd,
            pagemap,
            start,
            len,
        })
    }

    /// Whether this tracks exactly `memory`, where it is now.
    pub fn tracks(&self, memory: &[u8]) -> bool {
        memory.as_ptr().addr() == self.start && memory.len() == self.len
    }

    /// For each page tracked, whether it was written since tracking began
    /// or since the last call, protecting the written ones again; `None`
    /// when the kernel cannot say (tracking is then over).
    pub fn take_written(&self) -> Option<Vec<bool>> {
        let pages = self.len / PAGE;
        let mut written = vec![false; pages];
        let end = (self.start + self.len) as u64;
        let mut from = self.start as u64;
        let mut regions = vec![PageRegion::default(); 512];
        while from < end {
            let mut arg = PmScanArg {
                size: size_of::<PmScanArg>() as u64,
                flags: PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
                start: from,
                end,
                walk_end: 0,
                vec: regions.as_mut_ptr().addr() as u64,
                vec_len: regions.len() as u64,
                max_pages: 0,
                category_inverted: 0,
                category_mask: PAGE_IS_WRITTEN,
                category_anyof_mask: 0,
                return_mask: PAGE_IS_WRITTEN,
            };
            // SAFETY: `arg` and the `regions` it points to outlive the call,
            // and the kernel writes at most `vec_len` regions.
            let found = unsafe { libc::ioctl(self.pagemap.as_raw_fd(), PAGEMAP_SCAN, &mut arg) };
            if found < 0 || arg.walk_end <= from {
                return None;
            }
            for region in &regions[..found as usize] {
                let first = (region.start as usize - self.start) / PAGE;
                let last = (region.end as usize - self.start).div_ceil(PAGE);
                written.get_mut(first..last)?.fill(true);
            }
            from = arg.walk_end;
        }
        Some(written)
    }
}
