//! The server's worker processes behind one channel of waiting jobs: a task
//! goes to whichever worker is free, and waits while none is. Each worker
//! has a supervisor, which holds the server's handle on its process.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::AbortHandle;

mod child;
mod supervisor;

pub use child::WorkerSpawn;

use super::slot_job::{self, SlotJob};
use crate::sandbox::LimitPolicy;

#[derive(Debug)]
pub struct WorkerPool {
    jobs: mpsc::Sender<SlotJob>,
    supervisors: Vec<AbortHandle>,
}

impl WorkerPool {
    /// Start `spawn.count` supervised workers enforcing `policy`. They start
    /// in the background; a task waits for one that is ready.
    pub fn start(spawn: WorkerSpawn, policy: LimitPolicy) -> Self {
        let (jobs, waiting) = slot_job::channel(spawn.count);
        let spawn = Arc::new(spawn);
        let supervisors = (0..spawn.count)
            .map(|index| {
                tokio::spawn(supervisor::supervise(
                    index,
                    spawn.clone(),
                    policy,
                    waiting.clone(),
                ))
                .abort_handle()
            })
            .collect();
        WorkerPool { jobs, supervisors }
    }

    /// Where the pool takes its jobs from.
    pub fn jobs(&self) -> &mpsc::Sender<SlotJob> {
        &self.jobs
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
