//! Tasks on threads of the server itself (`--workers 0`): one long-lived
//! task thread per slot, each with room for a guest's stack, so no task
//! pays for starting a thread.

use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, mpsc};

use sandrun_api::TaskResult;
use tokio::sync::oneshot;

use super::RunError;
use crate::sandbox::{CancelHandle, Sandbox, Task, TaskHooks, task_thread};

type Answer = oneshot::Sender<Result<TaskResult, RunError>>;
type Job = (Task, CancelHandle, Arc<dyn TaskHooks>, Answer);

#[derive(Debug)]
pub struct TaskThreads {
    /// Closed when dropped, which ends the threads.
    jobs: mpsc::Sender<Job>,
}

impl TaskThreads {
    /// Start `count` threads running tasks in `sandbox`.
    pub fn start(sandbox: Arc<Sandbox>, count: usize) -> io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..count.max(1) {
            let (sandbox, queue) = (sandbox.clone(), queue.clone());
            task_thread::spawn(&format!("sandrun-slot-{index}"), move || {
                loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok((task, cancel, hooks, answer)) = next else {
                        return;
                    };
                    let ran =
                        catch_unwind(AssertUnwindSafe(|| sandbox.run_with(&task, &cancel, hooks)));
                    let outcome = match ran {
                        Ok(result) => result.map_err(RunError::from),
                        Err(_) => Err(RunError::Infrastructure("the run panicked".into())),
                    };
                    // The scheduler stopped waiting: nothing is left to tell.
                    let _ = answer.send(outcome);
                }
            })?;
        }
        Ok(TaskThreads { jobs })
    }

    pub async fn run(
        &self,
        task: Task,
        cancel: CancelHandle,
        hooks: Arc<dyn TaskHooks>,
    ) -> Result<TaskResult, RunError> {
        let (answer, answered) = oneshot::channel();
        let stopped = || RunError::Infrastructure("the task threads have stopped".into());
        self.jobs
            .send((task, cancel, hooks, answer))
            .map_err(|_| stopped())?;
        answered.await.unwrap_or_else(|_| Err(stopped()))
    }
}
