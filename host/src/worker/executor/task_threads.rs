//! Tasks on threads of the server itself (`--workers 0`): one long-lived
//! task thread per slot, each with room for a guest's stack, so no task
//! pays for starting a thread.

use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::slot_job::{self, SlotJob};
use crate::sandbox::{Sandbox, task_thread};
use crate::worker::run_error::RunError;

#[derive(Debug)]
pub struct TaskThreads {
    /// Closed when dropped, which ends the threads.
    jobs: mpsc::Sender<SlotJob>,
}

impl TaskThreads {
    /// Start `count` threads running tasks in `sandbox`.
    pub fn start(sandbox: Arc<Sandbox>, count: usize) -> io::Result<Self> {
        let (jobs, waiting) = slot_job::channel(count);
        for index in 0..count.max(1) {
            let (sandbox, waiting) = (sandbox.clone(), waiting.clone());
            task_thread::spawn(&format!("sandrun-slot-{index}"), move || {
                loop {
                    let Some(job) = waiting.blocking_next() else {
                        return;
                    };
                    let ran = catch_unwind(AssertUnwindSafe(|| {
                        sandbox.run_with(&job.task, &job.cancel, job.hooks.clone())
                    }));
                    job.answer(match ran {
                        Ok(result) => result.map_err(RunError::from),
                        Err(_) => Err(RunError::Infrastructure("the run panicked".into())),
                    });
                }
            })?;
        }
        Ok(TaskThreads { jobs })
    }

    /// Where the threads take their jobs from.
    pub fn jobs(&self) -> &mpsc::Sender<SlotJob> {
        &self.jobs
    }
}
