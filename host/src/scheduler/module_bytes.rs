//! Uploaded modules' bytes, kept in memory once read. A module never
//! changes under its hash, and reading it from the database took about a
//! quarter of a trivial wasm task's time on this node.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Bytes kept at most; the oldest entries go first.
const CAPACITY: usize = 256 << 20;

#[derive(Debug, Default)]
pub struct ModuleBytes {
    inner: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    by_hash: HashMap<String, Arc<[u8]>>,
    /// Hashes, oldest first.
    order: VecDeque<String>,
    bytes: usize,
}

impl ModuleBytes {
    pub fn get(&self, hash: &str) -> Option<Arc<[u8]>> {
        self.lock().by_hash.get(hash).cloned()
    }

    /// Keep `bytes` as module `hash`, forgetting the oldest modules to stay
    /// under the capacity. A module larger than that is not kept.
    pub fn insert(&self, hash: &str, bytes: Arc<[u8]>) {
        if bytes.len() > CAPACITY {
            return;
        }
        let mut kept = self.lock();
        if kept.by_hash.contains_key(hash) {
            return;
        }
        while kept.bytes + bytes.len() > CAPACITY {
            let Some(oldest) = kept.order.pop_front() else {
                break;
            };
            if let Some(gone) = kept.by_hash.remove(&oldest) {
                kept.bytes -= gone.len();
            }
        }
        kept.bytes += bytes.len();
        kept.order.push_back(hash.to_owned());
        kept.by_hash.insert(hash.to_owned(), bytes);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}
