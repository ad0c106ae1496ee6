//! Counted capacity for long requests (event streams, `?wait=`): at most so
//! many at once, in all or for each task. A slot is held by a guard and
//! given back when the guard drops, however its request ends (finished,
//! cancelled, the client gone), so a count cannot leak.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use dashmap::DashMap;

/// At most `max` at once.
#[derive(Debug)]
pub struct Slots {
    max: usize,
    used: Arc<AtomicUsize>,
}

/// One of [`Slots`], given back on drop.
#[derive(Debug)]
pub struct Slot {
    used: Arc<AtomicUsize>,
}

impl Slots {
    pub fn new(max: usize) -> Self {
        Slots {
            max,
            used: Arc::default(),
        }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// A slot, unless all `max` are taken.
    pub fn try_take(&self) -> Option<Slot> {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()?;
        Some(Slot {
            used: self.used.clone(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.used.fetch_sub(1, Ordering::AcqRel);
    }
}

/// At most `max` at once for each key; a key holds no memory once its last
/// slot is given back.
#[derive(Debug)]
pub struct KeyedSlots {
    max: usize,
    used: Arc<DashMap<String, usize>>,
}

/// One of [`KeyedSlots`] for one key, given back on drop.
#[derive(Debug)]
pub struct KeyedSlot {
    key: String,
    used: Arc<DashMap<String, usize>>,
}

impl KeyedSlots {
    pub fn new(max: usize) -> Self {
        KeyedSlots {
            max,
            used: Arc::default(),
        }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// A slot for `key`, unless its `max` are taken.
    pub fn try_take(&self, key: &str) -> Option<KeyedSlot> {
        let mut used = self.used.entry(key.to_owned()).or_insert(0);
        if *used >= self.max {
            return None;
        }
        *used += 1;
        Some(KeyedSlot {
            key: key.to_owned(),
            used: self.used.clone(),
        })
    }
}

impl Drop for KeyedSlot {
    fn drop(&mut self) {
        self.used.remove_if_mut(&self.key, |_, used| {
            *used -= 1;
            *used == 0
        });
    }
}
