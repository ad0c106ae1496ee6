//! The server's side of running a task. The scheduler sees one
//! [`Executor`] whatever `--workers` says; behind it, slots (task threads
//! of the server, or supervisors of worker processes) take each task as a
//! `SlotJob` from one channel, so a task waits the same way for a free slot
//! of either kind.

use std::sync::Arc;

use tokio::sync::mpsc;

mod slot_job;
mod task_threads;
mod worker_pool;

use slot_job::{SlotJob, hand_over};
pub use task_threads::TaskThreads;
pub use worker_pool::{WorkerPool, WorkerSpawn};

use super::run_error::RunError;
use crate::sandbox::{CancelHandle, Ran, Task, TaskHooks};

/// Runs the scheduler's tasks, one way or the other.
#[derive(Debug)]
pub enum Executor {
    /// On task threads of this process: no process to start, but guests
    /// share the process's address space.
    InProcess(TaskThreads),
    /// In supervised worker processes.
    Workers(WorkerPool),
}

impl Executor {
    pub async fn run(
        &self,
        task: Task,
        cancel: CancelHandle,
        hooks: Arc<dyn TaskHooks>,
    ) -> Result<Ran, RunError> {
        hand_over(self.jobs_for(&task)?, task, cancel, hooks).await
    }

    /// Where `task` waits for a slot; a session's run sent without its
    /// state's bytes is refused at once when no worker is known to hold
    /// that session live (the sandbox on a task thread tells for itself).
    fn jobs_for(&self, task: &Task) -> Result<&mpsc::Sender<SlotJob>, RunError> {
        match self {
            Executor::InProcess(threads) => Ok(threads.jobs()),
            Executor::Workers(pool) => pool.jobs_for(task),
        }
    }
}
