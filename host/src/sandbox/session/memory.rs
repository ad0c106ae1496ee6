//! A session's linear memory as the pages that differ from the snapshot's
//! image: what a run changed is small next to what the interpreter and its
//! imports filled at snapshot time, so only those pages are kept.
//!
//! The kept pages are compressed by region (`REGION_PAGES` pages of the
//! memory each), so that reading the state back after a run compresses
//! again only the regions whose pages changed: a run that sets a variable
//! touches a few regions, and compressing the others again would cost most
//! of the read. [`KnownPages`] is what makes that possible: the regions of
//! the state an instance holds, with their bytes, from the restore or the
//! last read-back.

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
    /// Their bytes, `PAGE` each, in the same order, LZ4-compressed.
    #[serde(with = "serde_bytes")]
    pub compressed: Vec<u8>,
}

/// The regions of the state an instance's memory holds, each with its
/// pages' bytes, by region index.
#[derive(Debug, Default)]
pub struct KnownPages(BTreeMap<u32, (Region, Vec<u8>)>);

impl KnownPages {
    /// Mark the pages held beyond the base in `pages` (one flag per page).
    pub fn mark(&self, pages: &mut [bool]) {
        for (region, _) in self.0.values() {
            for page in &region.pages {
                if let Some(flag) = pages.get_mut(*page as usize) {
                    *flag = true;
                }
            }
        }
    }
}

impl MemoryDiff {
    /// What `memory` holds beyond `base`. `written`, when known, says for
    /// each page whether it may have changed; the others are taken as they
    /// are in `base` without being read. A region whose pages are what
    /// `known` has for it keeps its compressed bytes from there.
    pub fn between(
        base: &[u8],
        memory: &[u8],
        written: Option<&[bool]>,
        known: &KnownPages,
    ) -> (MemoryDiff, KnownPages) {
        let zero = [0u8; PAGE];
        let mut regions = Vec::new();
        let mut now = KnownPages::default();
        let region_bytes = REGION_PAGES as usize * PAGE;
        for (index, chunk) in memory.chunks(region_bytes).enumerate() {
            let index = index as u32;
            let mut pages = Vec::new();
            let mut raw = Vec::new();
            for (offset, page) in chunk.chunks(PAGE).enumerate() {
                let number = index * REGION_PAGES + offset as u32;
                if written.is_some_and(|written| !written[number as usize]) {
                    continue;
                }
                let start = number as usize * PAGE;
                let before = base.get(start..(start + page.len()).min(base.len()));
                let same = match before {
                    Some(before) if before.len() == page.len() => before == page,
                    _ => page == &zero[..page.len()],
                };
                if !same {
                    pages.push(number);
                    raw.extend_from_slice(page);
                }
            }
            if pages.is_empty() {
                continue;
            }
            let region = match known.0.get(&index) {
                Some((region, bytes)) if region.pages == pages && *bytes == raw => region.clone(),
                _ => Region {
                    index,
                    compressed: lz4_flex::compress(&raw),
                    pages,
                },
            };
            now.0.insert(index, (region.clone(), raw));
            regions.push(region);
        }
        let diff = MemoryDiff {
            len: memory.len() as u64,
            regions,
        };
        (diff, now)
    }

    /// Write the kept pages into `memory`, already grown to `self.len`;
    /// what it then holds beyond the base.
    pub fn apply(&self, memory: &mut [u8]) -> Result<KnownPages, StateError> {
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
            let raw = decompress(&region.compressed, region.pages.len())?;
            for (page, bytes) in region.pages.iter().zip(raw.chunks(PAGE)) {
                if page / REGION_PAGES != region.index {
                    return Err(StateError(format!(
                        "page {page} is not in region {}",
                        region.index
                    )));
                }
                let start = *page as usize * PAGE;
                let end = (start + PAGE).min(memory.len());
                let target = memory
                    .get_mut(start..end)
                    .ok_or_else(|| StateError(format!("page {page} is outside the memory")))?;
                target.copy_from_slice(&bytes[..end - start]);
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

/// `pages` pages of bytes from their LZ4 block.
fn decompress(compressed: &[u8], pages: usize) -> Result<Vec<u8>, StateError> {
    let raw = lz4_flex::decompress(compressed, pages * PAGE)
        .map_err(|e| StateError(format!("memory pages: {e}")))?;
    if raw.len() != pages * PAGE {
        return Err(StateError("memory pages: wrong length".into()));
    }
    Ok(raw)
}
