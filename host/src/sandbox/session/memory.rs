//! A session's linear memory as the pages that differ from the snapshot's
//! image: what a run changed is small next to what the interpreter and its
//! imports filled at snapshot time, so only those pages are kept.
//!
//! A kept page is stored as its difference from the image's page (the two
//! XORed), which is zero wherever the run left the image's bytes: most
//! kept pages differ in a few reference counts or list links, so their
//! differences compress to a few dozen bytes where the pages themselves
//! would take a kilobyte or more.
//!
//! The kept pages are compressed by region (`REGION_PAGES` pages of the
//! memory each), so that reading the state back after a run looks at and
//! compresses again only the regions the run wrote to: a run that sets a
//! variable touches a few regions, and the others keep what they had.
//! [`KnownPages`] is what makes that possible: the regions of the state an
//! instance holds, with their bytes, from the restore or the last
//! read-back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::StateError;

/// The unit of comparison: small enough that a changed variable costs
/// little, large enough that the page list stays short.
pub(super) const PAGE: usize = 4096;

/// Pages of memory per compressed region (64 KiB): a run of `x += 1`
/// changes pages in a few hundred places of the heap, and a smaller region
/// compresses fewer unchanged pages again along with them.
const REGION_PAGES: u32 = 16;

/// The pages of a memory that differ from a base image; past the image's
/// end, the pages that are not zero (memory grows zeroed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryDiff {
    /// The memory's size in bytes.
    pub len: u64,
    /// The regions with kept pages, by ascending index.
    pub regions: Vec<Region>,
}

/// The kept pages of one region of the memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// Which region: its pages are `index * REGION_PAGES` onwards.
    pub index: u32,
    /// Indices of the pages kept, ascending.
    pub pages: Vec<u32>,
    /// Their bytes XORed with the base's, `PAGE` each, in the same order,
    /// LZ4-compressed.
    #[serde(with = "serde_bytes")]
    pub compressed: Vec<u8>,
}

/// The regions of the state an instance's memory holds, each with its
/// pages' bytes (as they are, not XORed), by region index.
#[derive(Debug, Default)]
pub struct KnownPages(BTreeMap<u32, (Region, Vec<u8>)>);

impl MemoryDiff {
    /// What `memory` holds beyond `base`, given that the instance held
    /// `known` before. `changed`, when known, says for each page whether
    /// it may have been written since: a region with no such page is as
    /// `known` has it, and is not read. A region whose pages are what
    /// `known` has for it keeps its compressed bytes from there.
    pub fn between(
        base: &[u8],
        memory: &[u8],
        changed: Option<&[bool]>,
        mut known: KnownPages,
    ) -> (MemoryDiff, KnownPages) {
        let mut regions = Vec::new();
        let mut now = KnownPages::default();
        let region_bytes = REGION_PAGES as usize * PAGE;
        for (index, chunk) in memory.chunks(region_bytes).enumerate() {
            let index = index as u32;
            let first = (index * REGION_PAGES) as usize;
            let written = |offset: usize| changed.is_none_or(|changed| changed[first + offset]);
            let before = known.0.remove(&index);
            let pages_in = chunk.len().div_ceil(PAGE);
            if !(0..pages_in).any(written) {
                // Untouched since: as it was.
                if let Some((region, raw)) = before {
                    regions.push(region.clone());
                    now.0.insert(index, (region, raw));
                }
                continue;
            }
            let was_kept = |number: u32| {
                before
                    .as_ref()
                    .is_some_and(|(region, _)| region.pages.binary_search(&number).is_ok())
            };
            let mut pages = Vec::new();
            let mut raw = Vec::new();
            for (offset, page) in chunk.chunks(PAGE).enumerate() {
                let number = index * REGION_PAGES + offset as u32;
                if !written(offset) && !was_kept(number) {
                    continue;
                }
                if page != base_page(base, number as usize * PAGE, page.len()) {
                    pages.push(number);
                    raw.extend_from_slice(page);
                }
            }
            if pages.is_empty() {
                continue;
            }
            let region = match before {
                Some((region, bytes)) if region.pages == pages && bytes == raw => region,
                _ => Region {
                    index,
                    compressed: lz4_flex::compress(&xor_with_base(base, &pages, &raw)),
                    pages,
                },
            };
            regions.push(region.clone());
            now.0.insert(index, (region, raw));
        }
        let diff = MemoryDiff {
            len: memory.len() as u64,
            regions,
        };
        (diff, now)
    }

    /// Write the kept pages into `memory`, already grown to `self.len`, of
    /// which `base` is the image; what it then holds beyond the base.
    pub fn apply(&self, base: &[u8], memory: &mut [u8]) -> Result<KnownPages, StateError> {
        if memory.len() as u64 != self.len {
            return Err(StateError(format!(
                "the memory is {} bytes, the state's {}",
                memory.len(),
                self.len
            )));
        }
        if self.page_bytes() > self.len {
            return Err(StateError("more pages than the memory holds".into()));
        }
        let mut known = KnownPages::default();
        for region in &self.regions {
            let xored = decompress(&region.compressed, region.pages.len())?;
            for page in &region.pages {
                if page / REGION_PAGES != region.index {
                    return Err(StateError(format!(
                        "page {page} is not in region {}",
                        region.index
                    )));
                }
                if *page as usize * PAGE >= memory.len() {
                    return Err(StateError(format!("page {page} is outside the memory")));
                }
            }
            let raw = xor_with_base(base, &region.pages, &xored);
            for (page, bytes) in region.pages.iter().zip(raw.chunks(PAGE)) {
                let start = *page as usize * PAGE;
                let end = (start + PAGE).min(memory.len());
                memory[start..end].copy_from_slice(&bytes[..end - start]);
            }
            known.0.insert(region.index, (region.clone(), raw));
        }
        Ok(known)
    }

    /// Bytes the kept pages take uncompressed.
    pub fn page_bytes(&self) -> u64 {
        let pages: usize = self.regions.iter().map(|r| r.pages.len()).sum();
        (pages * PAGE) as u64
    }
}

/// The base's `len` bytes at `start`; zeros past its end (memory grows
/// zeroed).
fn base_page(base: &[u8], start: usize, len: usize) -> &[u8] {
    const ZERO: [u8; PAGE] = [0; PAGE];
    match base.get(start..start + len) {
        Some(page) => page,
        None => &ZERO[..len],
    }
}

/// `bytes`, `PAGE` for each of `pages`, XORed with the base's pages: the
/// difference from the base, or (XORed again) the pages from it.
fn xor_with_base(base: &[u8], pages: &[u32], bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for (page, chunk) in pages.iter().zip(out.chunks_mut(PAGE)) {
        let before = base_page(base, *page as usize * PAGE, chunk.len());
        for (byte, base) in chunk.iter_mut().zip(before) {
            *byte ^= base;
        }
    }
    out
}

/// `pages` pages of bytes from their LZ4 block.
fn decompress(compressed: &[u8], pages: usize) -> Result<Vec<u8>, StateError> {
    let raw = lz4_flex::decompress(compressed, pages * PAGE)
        .map_err(|e| StateError(format!("memory pages: {e}")))?;
    if raw.len() != pages * PAGE {
        return Err(StateError("memory pages: wrong length".into()));
    }
    Ok(raw)
}
