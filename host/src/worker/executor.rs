use std::sync::Arc;

use sandrun_api::TaskResult;

use super::{RunError, WorkerPool};
use crate::sandbox::{CancelHandle, Sandbox, Task, TaskHooks};

/// Runs the scheduler's tasks, one way or the other.
#[derive(Debug)]
pub enum Executor {
    /// On a blocking thread of this process: no process to start, but
    /// guests share the process's address space.
    InProcess(Arc<Sandbox>),
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
        match self {
            Executor::InProcess(sandbox) => {
                let sandbox = sandbox.clone();
                tokio::task::spawn_blocking(move || sandbox.run_with(&task, &cancel, hooks))
                    .await
                    .map_err(|panic| RunError::Infrastructure(format!("the run failed: {panic}")))?
                    .map_err(RunError::from)
            }
            Executor::Workers(pool) => pool.run(task, cancel, hooks).await,
        }
    }
}
