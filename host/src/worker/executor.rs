use std::sync::Arc;

use sandrun_api::TaskResult;
use tokio::sync::mpsc;

use super::job::{Job, hand_over};
use super::threads::TaskThreads;
use super::{RunError, WorkerPool};
use crate::sandbox::{CancelHandle, Task, TaskHooks};

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
    ) -> Result<TaskResult, RunError> {
        hand_over(self.jobs(), task, cancel, hooks).await
    }

    fn jobs(&self) -> &mpsc::Sender<Job> {
        match self {
            Executor::InProcess(threads) => threads.jobs(),
            Executor::Workers(pool) => pool.jobs(),
        }
    }
}
