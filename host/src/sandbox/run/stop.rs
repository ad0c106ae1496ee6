use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

/// Why the host stopped a guest before it finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    TimedOut,
    Cancelled,
    MemoryExceeded,
    HostCallsExceeded,
}

/// The error a host hook returns to unwind a guest; the runner finds it again
/// by downcasting the trap.
#[derive(Debug, thiserror::Error)]
#[error("stopped by the host: {0:?}")]
pub struct Stopped(pub StopReason);

/// Lets another thread cancel a task, whether it is computing (seen at the
/// next epoch tick) or sleeping in the host (woken at once).
#[derive(Debug, Clone, Default)]
pub struct CancelHandle {
    inner: Arc<CancelState>,
}

#[derive(Debug, Default)]
struct CancelState {
    cancelled: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

impl CancelHandle {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        let _guard = self.inner.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.inner.cancelled.store(true, Ordering::SeqCst);
        self.inner.wake.notify_all();
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }
}

/// A running task's cancel handle and wall-clock deadline, checked by the
/// epoch callback and by every host wait.
#[derive(Debug)]
pub struct StopSignal {
    cancel: CancelHandle,
    deadline: Instant,
}

impl StopSignal {
    pub fn new(cancel: CancelHandle, deadline: Instant) -> Self {
        StopSignal { cancel, deadline }
    }

    /// `Err` once the task is cancelled or past its deadline.
    pub fn check(&self) -> Result<(), Stopped> {
        if self.cancel.is_cancelled() {
            Err(Stopped(StopReason::Cancelled))
        } else if Instant::now() >= self.deadline {
            Err(Stopped(StopReason::TimedOut))
        } else {
            Ok(())
        }
    }

    /// Block until `until`, returning early with `Err` if the task is
    /// cancelled or reaches its deadline first.
    pub fn sleep_until(&self, until: Instant) -> Result<(), Stopped> {
        let state = &self.cancel.inner;
        let mut guard = state.lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            self.check()?;
            let now = Instant::now();
            if now >= until {
                return Ok(());
            }
            let wake_at = until.min(self.deadline);
            guard = state
                .wake
                .wait_timeout(guard, wake_at - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}
