//! Where the scheduler's tasks execute: on threads of the server, or in
//! worker processes it supervises.
//!
//! Worker processes are the default because guests in one process slow each
//! other down: every instance's copy-on-write faults and memory resets shoot
//! down the TLBs of all the process's threads. A process per core scales;
//! threads do not. A worker process also bounds what a crash takes with it:
//! one task, which is retried, never the server.

mod executor;
mod wire;
mod worker_process;

use serde::{Deserialize, Serialize};

pub use executor::{Executor, TaskThreads, WorkerPool, WorkerSpawn};
pub use worker_process::serve;

use crate::sandbox::TaskError;

/// Why a task produced no result. The split decides its fate: the scheduler
/// retries infrastructure failures and fails the task for the others.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum RunError {
    /// The machine failed, not the task: a worker died, a thread or
    /// directory could not be made.
    #[error("{0}")]
    Infrastructure(String),
    /// The task can never run as asked.
    #[error("{0}")]
    Refused(String),
}

impl From<TaskError> for RunError {
    fn from(error: TaskError) -> Self {
        let message = error.to_string();
        match error {
            TaskError::Workspace(_)
            | TaskError::Thread(_)
            | TaskError::Sandbox(_)
            | TaskError::RuntimeNotLoaded(_) => RunError::Infrastructure(message),
            TaskError::Limit(_)
            | TaskError::BadInputName { .. }
            | TaskError::NulByte { .. }
            | TaskError::BadEnvName(_) => RunError::Refused(message),
        }
    }
}
