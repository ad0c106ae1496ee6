//! Why a task produced no result, in terms both processes share: a worker
//! process sends it up the pipe as its job's outcome, and the scheduler
//! judges it alike whether the task ran on a thread or in a process.

use serde::{Deserialize, Serialize};

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
    /// A session's run came without its state for a worker holding it
    /// live, and none does: the scheduler gives it again with the state.
    #[error("the session's state is not held live")]
    StateNotHeld,
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
            | TaskError::BadEnvName(_)
            | TaskError::InputTooLarge { .. }
            | TaskError::SessionNotPython
            | TaskError::SessionState(_) => RunError::Refused(message),
            TaskError::StateNotHeld => RunError::StateNotHeld,
        }
    }
}
