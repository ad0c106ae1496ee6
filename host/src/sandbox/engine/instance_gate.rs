//! At most as many live instances as the engine's pool has slots: a task
//! beyond that waits for one to come free instead of failing to
//! instantiate.

use std::sync::{Condvar, Mutex};

#[derive(Debug)]
pub struct InstanceGate {
    free: Mutex<u32>,
    freed: Condvar,
}

/// One of the engine pool's instance slots, held by a live instance
/// until dropped.
#[derive(Debug)]
pub struct InstanceSlot<'a> {
    gate: &'a InstanceGate,
}

impl InstanceGate {
    pub fn new(slots: u32) -> Self {
        InstanceGate {
            free: Mutex::new(slots),
            freed: Condvar::new(),
        }
    }

    /// Wait for a free slot and take it.
    pub fn enter(&self) -> InstanceSlot<'_> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        InstanceSlot { gate: self }
    }
}

impl Drop for InstanceSlot<'_> {
    fn drop(&mut self) {
        *self.gate.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.gate.freed.notify_one();
    }
}
