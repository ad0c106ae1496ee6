//! Which pages of a guest's memory may have been written since its
//! instance was made, from the kernel's page tables, so that reading a
//! session's state back compares those pages with the snapshot and not the
//! whole memory (tens of MiB for Python, of which a run writes a few).
//!
//! A linear memory is the snapshot's image mapped copy-on-write over
//! zero-filled memory. A page the guest never touched has no page-table
//! entry; one it only read is the image's file page or the shared zero
//! page; the first write gives it a private anonymous page. So a page that
//! is absent, or present as a file page, holds what the image (or zero)
//! holds, which is what the base memory holds. Every other page (private,
//! swapped out, or the zero page, which the flags cannot tell from a
//! private one) is compared. wasmtime resets a reused slot's written pages
//! in place, so they stay private and are compared again: more work, never
//! a missed change.
//!
//! `/proc/self/pagemap` gives each page's flags to any process (only the
//! frame numbers need privileges). Where it cannot be read, or pages are
//! not [`super::memory::PAGE`] bytes, there is no answer and every page is
//! compared.

use std::fs::File;
use std::os::unix::fs::FileExt;

use super::memory::PAGE;

/// The entry's page is in memory.
const PRESENT: u64 = 1 << 63;
/// The entry's page is a file page (or shared anonymous memory).
const FILE_OR_SHARED: u64 = 1 << 61;

/// For each `PAGE` of `memory`, whether it may differ from what backs it;
/// `None` when the kernel cannot say.
pub fn written_pages(memory: &[u8]) -> Option<Vec<bool>> {
    if rustix::param::page_size() != PAGE || memory.as_ptr().addr() % PAGE != 0 {
        return None;
    }
    let pages = memory.len().div_ceil(PAGE);
    let mut entries = vec![0u8; pages * 8];
    let pagemap = File::open("/proc/self/pagemap").ok()?;
    let offset = (memory.as_ptr().addr() / PAGE * 8) as u64;
    pagemap.read_exact_at(&mut entries, offset).ok()?;
    let written = entries
        .chunks_exact(8)
        .map(|entry| {
            let flags = u64::from_ne_bytes(entry.try_into().expect("eight bytes"));
            // Absent pages are unread (a swapped one is not present but holds data).
            let swapped = flags & (1 << 62) != 0;
            (flags & PRESENT != 0 && flags & FILE_OR_SHARED == 0) || swapped
        })
        .collect();
    Some(written)
}
