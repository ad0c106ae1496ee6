//! Sessions kept live: the instance a session's last run ended in, held in
//! memory so that its next run on this process starts at once instead of
//! restoring the stored state into a fresh instance.
//!
//! The stored state stays the truth. A live instance is used only when
//! the state a run is given is the state that instance was read back
//! into, as the token naming that state says (each new state gets a new
//! one, so the run need not carry the bytes to compare); anything else
//! (another node ran the session since, a restart, a fork, a rolled-back
//! run, a result that was not recorded) finds no match and restores from
//! the bytes. A run takes its instance
//! out while it runs and gives it back only if it ended well, so an
//! instance a limit stopped half-way is dropped, never reused.
//!
//! Each one holds an instance slot of the engine's pool and its memory,
//! so there are at most `capacity`, the least recently used going first,
//! and one unused for `idle` is dropped by a sweeper thread; its session
//! resumes from storage next time.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use wasmtime::Store;

use super::{LiveInstance, SessionState};
use crate::sandbox::TaskState;

/// How many sessions a sandbox keeps live, and for how long unused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveSessions {
    pub capacity: usize,
    pub idle: Duration,
}

impl LiveSessions {
    /// None: every run resumes from the stored state.
    pub const NONE: LiveSessions = LiveSessions {
        capacity: 0,
        idle: Duration::ZERO,
    };
}

/// One session's instance between its runs.
pub(in crate::sandbox) struct Live {
    pub session: String,
    /// The token of the stored state the instance holds.
    pub token: String,
    /// That state, as read (its next read-back starts from it).
    pub state: SessionState,
    pub held: Held,
}

/// A live instance and its store.
pub(in crate::sandbox) struct Held {
    /// Declared before the store, so dropped first: the kernel stops
    /// tracking the memory before the pool resets it for another instance.
    pub instance: LiveInstance,
    pub store: Store<TaskState>,
}

/// A live session in the cache, and when it was last used.
struct Cached {
    live: Live,
    used: Instant,
}

/// The live sessions of one sandbox.
pub(in crate::sandbox) struct LiveCache {
    config: LiveSessions,
    held: Mutex<Vec<Cached>>,
}

/// How often the sweeper looks for idle sessions.
const SWEEP: Duration = Duration::from_millis(250);

impl LiveCache {
    /// The cache, with a thread dropping its idle sessions for as long as
    /// the cache exists.
    pub fn start(config: LiveSessions) -> std::io::Result<Arc<LiveCache>> {
        let cache = Arc::new(LiveCache {
            config,
            held: Mutex::new(Vec::new()),
        });
        if config.capacity > 0 {
            let weak = Arc::downgrade(&cache);
            std::thread::Builder::new()
                .name("sandrun-live-sessions".into())
                .spawn(move || sweep_while_alive(&weak))?;
        }
        Ok(cache)
    }

    /// Whether runs may keep their instances live here.
    pub fn keeps(&self) -> bool {
        self.config.capacity > 0
    }

    /// `session`'s live instance if it holds the state named `token`. Any
    /// other instance of the session is stale and dropped.
    pub fn take(&self, session: &str, token: &str) -> Option<Live> {
        let found = {
            let mut held = self.lock();
            let index = held.iter().position(|h| h.live.session == session)?;
            held.swap_remove(index).live
        };
        (found.token == token).then_some(found)
    }

    /// Keep `live` for its session's next run.
    pub fn keep(&self, live: Live) {
        if self.config.capacity == 0 {
            return;
        }
        let evicted = {
            let mut held = self.lock();
            let evicted = if held.len() >= self.config.capacity {
                let oldest = (0..held.len()).min_by_key(|&i| held[i].used);
                oldest.map(|i| held.swap_remove(i))
            } else {
                None
            };
            held.push(Cached {
                live,
                used: Instant::now(),
            });
            evicted
        };
        // Dropped outside the lock: freeing an instance takes a while.
        drop(evicted);
    }

    fn sweep(&self) {
        let idle = {
            let mut held = self.lock();
            let (idle, kept): (Vec<Cached>, Vec<Cached>) = std::mem::take(&mut *held)
                .into_iter()
                .partition(|h| h.used.elapsed() >= self.config.idle);
            *held = kept;
            idle
        };
        if !idle.is_empty() {
            tracing::debug!(sessions = idle.len(), "idle live sessions dropped");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Cached>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn sweep_while_alive(cache: &Weak<LiveCache>) {
    loop {
        std::thread::sleep(SWEEP);
        let Some(cache) = cache.upgrade() else { return };
        cache.sweep();
    }
}
