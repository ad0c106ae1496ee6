//! A session's linear memory as the pages that differ from the snapshot's
//! image: what a run changed is small next to what the interpreter and its
//! imports filled at snapshot time, so only those pages are kept.

use serde::{Deserialize, Serialize};

use super::StateError;

/// The unit of comparison: small enough that a changed variable costs
/// little, large enough that the page list stays short.
pub(super) const PAGE: usize = 4096;

/// The pages of a memory that differ from a base image; past the image's
/// end, the pages that are not zero (memory grows zeroed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryDiff {
    /// The memory's size in bytes.
    pub len: u64,
    /// Indices of the pages kept, ascending.
    pub pages: Vec<u32>,
    /// Their bytes, `PAGE` each, in the same order, LZ4-compressed.
    #[serde(with = "serde_bytes")]
    pub compressed: Vec<u8>,
}

impl MemoryDiff {
    /// What `memory` holds beyond `base`. `written`, when known, says for
    /// each page whether it may have changed; the others are taken as they
    /// are in `base` without being read.
    pub fn between(base: &[u8], memory: &[u8], written: Option<&[bool]>) -> MemoryDiff {
        let zero = [0u8; PAGE];
        let mut pages = Vec::new();
        let mut raw = Vec::new();
        for (index, page) in memory.chunks(PAGE).enumerate() {
            if written.is_some_and(|written| !written[index]) {
                continue;
            }
            let start = index * PAGE;
            let before = base.get(start..(start + page.len()).min(base.len()));
            let same = match before {
                Some(before) if before.len() == page.len() => before == page,
                _ => page == &zero[..page.len()],
            };
            if !same {
                pages.push(index as u32);
                raw.extend_from_slice(page);
            }
        }
        MemoryDiff {
            len: memory.len() as u64,
            pages,
            compressed: lz4_flex::compress(&raw),
        }
    }

    /// Write the kept pages into `memory`, already grown to `self.len`.
    pub fn apply(&self, memory: &mut [u8]) -> Result<(), StateError> {
        if memory.len() as u64 != self.len {
            return Err(StateError(format!(
                "the memory is {} bytes, the state's {}",
                memory.len(),
                self.len
            )));
        }
        let raw_len = self.pages.len() * PAGE;
        if raw_len as u64 > self.len {
            return Err(StateError("more pages than the memory holds".into()));
        }
        let raw = lz4_flex::decompress(&self.compressed, raw_len)
            .map_err(|e| StateError(format!("memory pages: {e}")))?;
        if raw.len() != raw_len {
            return Err(StateError("memory pages: wrong length".into()));
        }
        for (page, bytes) in self.pages.iter().zip(raw.chunks(PAGE)) {
            let start = *page as usize * PAGE;
            let end = (start + PAGE).min(memory.len());
            let target = memory
                .get_mut(start..end)
                .ok_or_else(|| StateError(format!("page {page} is outside the memory")))?;
            target.copy_from_slice(&bytes[..end - start]);
        }
        Ok(())
    }

    /// Bytes the kept pages take uncompressed.
    pub fn page_bytes(&self) -> u64 {
        (self.pages.len() * PAGE) as u64
    }
}
