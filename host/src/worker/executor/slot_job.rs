//! A task on its way to whatever runs it (a worker process's supervisor or
//! a task thread), and where its end is reported; and the channel such jobs
//! wait in for a free slot. Both kinds of slot use it, so neither depends
//! on the other.

use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};

use crate::sandbox::{CancelHandle, Ran, Task, TaskHooks};
use crate::worker::run_error::RunError;

/// One task handed to an executor slot, with what it reports to and where
/// its end is answered.
pub struct SlotJob {
    pub task: Task,
    pub cancel: CancelHandle,
    pub hooks: Arc<dyn TaskHooks>,
    answer: oneshot::Sender<Result<Ran, RunError>>,
}

impl std::fmt::Debug for SlotJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotJob")
            .field("task", &self.task)
            .finish_non_exhaustive()
    }
}

/// The jobs waiting for a free slot; each slot takes them one at a time.
#[derive(Clone)]
pub struct WaitingJobs(Arc<Mutex<mpsc::Receiver<SlotJob>>>);

/// Where jobs are handed in, and where `slots` take them from. Handing in
/// waits while `slots` jobs are already waiting.
pub fn channel(slots: usize) -> (mpsc::Sender<SlotJob>, WaitingJobs) {
    let (jobs, waiting) = mpsc::channel(slots.max(1));
    (jobs, WaitingJobs(Arc::new(Mutex::new(waiting))))
}

impl WaitingJobs {
    /// The next job, once this slot's turn comes; `None` when the executor
    /// is gone.
    pub async fn next(&self) -> Option<SlotJob> {
        self.0.lock().await.recv().await
    }

    /// [`WaitingJobs::next`], for a slot on a thread of its own.
    pub fn blocking_next(&self) -> Option<SlotJob> {
        self.0.blocking_lock().blocking_recv()
    }
}

impl SlotJob {
    pub fn answer(self, outcome: Result<Ran, RunError>) {
        // Let go of the task and its hooks (which hold the database) before
        // the scheduler hears of the end: by then nothing of the run is left.
        let SlotJob {
            task,
            cancel,
            hooks,
            answer,
        } = self;
        drop((task, cancel, hooks));
        // The scheduler stopped waiting: nothing is left to tell.
        let _ = answer.send(outcome);
    }
}

/// Hand `task` to whoever takes jobs from `jobs`, and wait for its end.
pub async fn hand_over(
    jobs: &mpsc::Sender<SlotJob>,
    task: Task,
    cancel: CancelHandle,
    hooks: Arc<dyn TaskHooks>,
) -> Result<Ran, RunError> {
    let (answer, answered) = oneshot::channel();
    let job = SlotJob {
        task,
        cancel,
        hooks,
        answer,
    };
    let stopped = || RunError::Infrastructure("the task runners have stopped".into());
    jobs.send(job).await.map_err(|_| stopped())?;
    answered.await.unwrap_or_else(|_| Err(stopped()))
}
