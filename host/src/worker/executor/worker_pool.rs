//! The server's worker processes behind one channel of waiting jobs: a task
//! goes to whichever worker is free, and waits while none is; a session's
//! run goes first to the worker holding the session live (`affinity`), if
//! that one is free. Each worker has a supervisor, which holds the
//! server's handle on its process.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::AbortHandle;

mod affinity;
mod child;
mod supervisor;

pub use child::WorkerSpawn;

use super::slot_job::{self, SlotJob};
use crate::metrics::Metrics;
use crate::sandbox::{LimitPolicy, SessionInput, Task};
use crate::worker::run_error::RunError;
use affinity::Affinity;
use supervisor::Supervised;

#[derive(Debug)]
pub struct WorkerPool {
    jobs: mpsc::Sender<SlotJob>,
    affinity: Arc<Affinity>,
    supervisors: Vec<AbortHandle>,
}

impl WorkerPool {
    /// Start `spawn.count` supervised workers enforcing `policy`. They start
    /// in the background; a task waits for one that is ready. A restart is
    /// counted in `metrics`.
    pub fn start(spawn: WorkerSpawn, policy: LimitPolicy, metrics: Metrics) -> Self {
        let (jobs, waiting) = slot_job::channel(spawn.count);
        let (affinity, inboxes) = Affinity::new(spawn.count, spawn.live.capacity);
        let affinity = Arc::new(affinity);
        let spawn = Arc::new(spawn);
        let supervisors = inboxes
            .into_iter()
            .enumerate()
            .map(|(index, inbox)| {
                let worker = Supervised {
                    index,
                    spawn: spawn.clone(),
                    policy,
                    inbox,
                    affinity: affinity.clone(),
                    metrics: metrics.clone(),
                };
                tokio::spawn(supervisor::supervise(worker, waiting.clone())).abort_handle()
            })
            .collect();
        WorkerPool {
            jobs,
            affinity,
            supervisors,
        }
    }

    /// Where `task` waits for a worker: the inbox of the free worker holding
    /// its session live, else the pool's queue, unless the task came without
    /// its session's state for such a worker.
    pub fn jobs_for(&self, task: &Task) -> Result<&mpsc::Sender<SlotJob>, RunError> {
        match self.affinity.inbox_for(task) {
            Some(inbox) => Ok(inbox),
            None if task.session.as_ref().is_some_and(SessionInput::needs_live) => {
                Err(RunError::StateNotHeld)
            }
            None => Ok(&self.jobs),
        }
    }
}

impl Drop for WorkerPool {
    /// Stopping the supervisors drops their processes, which kills them.
    fn drop(&mut self) {
        for supervisor in &self.supervisors {
            supervisor.abort();
        }
    }
}
