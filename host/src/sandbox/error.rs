use std::io;
use std::path::PathBuf;

use sandrun_api::Runtime;

use super::run::limits::LimitError;
use super::session::StateError;

/// Failures of the sandbox itself, or of a module it was asked to load.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot configure wasmtime: {0}")]
    Engine(String),
    #[error("cannot start the epoch thread: {0}")]
    Thread(io::Error),
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot {what} {} for the Python helper: {source}", path.display())]
    PythonHelper {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("cannot make the Python snapshot: {0}")]
    Snapshot(String),
    #[error("invalid module: {0}")]
    InvalidModule(String),
}

/// Why a task was refused before its guest ran. A guest's own failures are
/// never errors: they are results.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error(transparent)]
    Limit(#[from] LimitError),
    #[error("input file name `{name}` is not allowed: {why}")]
    BadInputName { name: String, why: &'static str },
    #[error("{what} contains a NUL byte")]
    NulByte { what: String },
    #[error(
        "environment variable name `{0}` is not allowed: it must be non-empty and contain no `=`"
    )]
    BadEnvName(String),
    #[error(
        "the input is {len} bytes as the guest reads it; the task's host_call_bytes limit allows {max}"
    )]
    InputTooLarge { len: u64, max: u64 },
    #[error("the {0} runtime is not loaded")]
    RuntimeNotLoaded(Runtime),
    #[error("cannot prepare the task's directories: {0}")]
    Workspace(io::Error),
    #[error("cannot start the task's thread: {0}")]
    Thread(io::Error),
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error("sessions run Python; a wasm task cannot be a session's run")]
    SessionNotPython,
    #[error(transparent)]
    SessionState(#[from] StateError),
    /// The run came without its session's state, for the live instance
    /// holding it, and this process holds no such instance: give it again
    /// with the state's bytes.
    #[error("the session's state is not held live here")]
    StateNotHeld,
}
