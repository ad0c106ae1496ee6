//! A session's linear memory as the pages that differ from the snapshot's
//! image: what a run changed is small next to what the interpreter and its
//! imports filled at snapshot time, so only those pages are kept.
//!
//! A kept page is stored as its difference from the image's page, and only
//! where it differs: which of its 64-byte lines differ (a bitmap), and
//! those lines XORed with the image's. Most kept pages differ in a few
//! reference counts or list links, so a page costs a few dozen bytes where
//! the page itself would take a kilobyte or more compressed, and what is
//! compressed is those lines alone, not pages of zeros.
//!
//! The kept pages are compressed by region (`REGION_PAGES` pages of the
//! memory each), so that reading the state back after a run looks at and
//! compresses again only the regions the run wrote to: a run that sets a
//! variable touches a few regions, and the others keep what they had, as
//! the state the instance held has them.

use serde::{Deserialize, Serialize};

use super::StateError;

/// The unit of comparison: small enough that a changed variable costs
/// little, large enough that the page list stays short.
pub(super) const PAGE: usize = 4096;

/// Pages of memory per compressed region (64 KiB): a run of `x += 1`
/// changes pages in a few hundred places of the heap, and a smaller region
/// compresses fewer unchanged pages again along with them.
const REGION_PAGES: u32 = 16;

/// The unit a page's difference is kept in; a page has 64, one bit each.
const LINE: usize = 64;

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
    /// For each kept page, which of its lines differ from the base's (bit
    /// `i`: the line at `i * LINE`).
    pub lines: Vec<u64>,
    /// Those lines' bytes XORed with the base's, page by page and line by
    /// line, LZ4-compressed.
    #[serde(with = "serde_bytes")]
    pub compressed: Vec<u8>,
}

impl MemoryDiff {
    /// What `memory` holds beyond `base`, given that before the run it held
    /// `known` (none: only the base). `changed`, when known, says for each
    /// page whether it may have been written since: a region with no such
    /// page is as `known` has it, and is not read.
    pub fn between(
        base: &[u8],
        memory: &[u8],
        changed: Option<&[bool]>,
        known: Option<&MemoryDiff>,
    ) -> MemoryDiff {
        let mut known = known.map_or(&[][..], |k| &k.regions[..]).iter().peekable();
        let mut regions = Vec::new();
        for (index, chunk) in memory.chunks(REGION_PAGES as usize * PAGE).enumerate() {
            let index = index as u32;
            let first = index * REGION_PAGES;
            let before = known.next_if(|region| region.index == index);
            let written = |offset: u32| changed.is_none_or(|c| c[(first + offset) as usize]);
            let pages_in = chunk.len().div_ceil(PAGE) as u32;
            if !(0..pages_in).any(written) {
                // Untouched since: as it was.
                regions.extend(before.cloned());
                continue;
            }
            let was_kept =
                |page: u32| before.is_some_and(|region| region.pages.binary_search(&page).is_ok());
            let mut region = Region {
                index,
                pages: Vec::new(),
                lines: Vec::new(),
                compressed: Vec::new(),
            };
            let mut xored = Vec::new();
            for offset in 0..pages_in {
                let number = first + offset;
                if !written(offset) && !was_kept(number) {
                    continue;
                }
                let start = number as usize * PAGE;
                let page = &memory[start..start + PAGE];
                let lines = differing_lines(page, base_page(base, start), &mut xored);
                if lines != 0 {
                    region.pages.push(number);
                    region.lines.push(lines);
                }
            }
            if !region.pages.is_empty() {
                region.compressed = lz4_flex::compress(&xored);
                regions.push(region);
            }
        }
        MemoryDiff {
            len: memory.len() as u64,
            regions,
        }
    }

    /// Write the kept pages into `memory`, already grown to `self.len`,
    /// which holds the base (a fresh instance's memory).
    pub fn apply(&self, memory: &mut [u8]) -> Result<(), StateError> {
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
        let mut last = None;
        for region in &self.regions {
            // In order, as a read-back walks them with the memory's regions.
            let ascending = region.pages.windows(2).all(|w| w[0] < w[1]);
            if last.is_some_and(|last| last >= region.index) || !ascending {
                return Err(StateError("regions or pages out of order".into()));
            }
            last = Some(region.index);
            if region.lines.len() != region.pages.len() {
                return Err(StateError(format!(
                    "region {} has {} pages and {} line maps",
                    region.index,
                    region.pages.len(),
                    region.lines.len()
                )));
            }
            let count: u32 = region.lines.iter().map(|l| l.count_ones()).sum();
            let xored = decompress(&region.compressed, count as usize * LINE)?;
            let mut xored = xored.chunks_exact(LINE);
            for (page, lines) in region.pages.iter().zip(&region.lines) {
                if page / REGION_PAGES != region.index {
                    return Err(StateError(format!(
                        "page {page} is not in region {}",
                        region.index
                    )));
                }
                let start = *page as usize * PAGE;
                let target = memory
                    .get_mut(start..start + PAGE)
                    .ok_or_else(|| StateError(format!("page {page} is outside the memory")))?;
                for (line, bytes) in target.chunks_exact_mut(LINE).enumerate() {
                    if lines & (1 << line) != 0 {
                        let from = xored.next().expect("as many lines as the maps count");
                        for (byte, x) in bytes.iter_mut().zip(from) {
                            *byte ^= x;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Bytes the kept pages take uncompressed.
    pub fn page_bytes(&self) -> u64 {
        let pages: usize = self.regions.iter().map(|r| r.pages.len()).sum();
        (pages * PAGE) as u64
    }
}

/// The base's page at `start`; zeros past its end (memory grows zeroed).
fn base_page(base: &[u8], start: usize) -> &[u8] {
    const ZERO: [u8; PAGE] = [0; PAGE];
    base.get(start..start + PAGE).unwrap_or(&ZERO)
}

/// Which lines of `page` differ from `before`'s, appending each such line
/// XORed with the base's to `xored`.
fn differing_lines(page: &[u8], before: &[u8], xored: &mut Vec<u8>) -> u64 {
    let mut lines = 0;
    for (line, (now, was)) in page
        .chunks_exact(LINE)
        .zip(before.chunks_exact(LINE))
        .enumerate()
    {
        if now != was {
            lines |= 1 << line;
            xored.extend(now.iter().zip(was).map(|(a, b)| a ^ b));
        }
    }
    lines
}

/// `len` bytes from their LZ4 block.
fn decompress(compressed: &[u8], len: usize) -> Result<Vec<u8>, StateError> {
    let raw = lz4_flex::decompress(compressed, len)
        .map_err(|e| StateError(format!("memory pages: {e}")))?;
    if raw.len() != len {
        return Err(StateError("memory pages: wrong length".into()));
    }
    Ok(raw)
}
