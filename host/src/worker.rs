//! Where the scheduler's tasks execute: on threads of the server, or in
//! worker processes it supervises.
//!
//! Worker processes are the default because guests in one process slow each
//! other down: every instance's copy-on-write faults and memory resets shoot
//! down the TLBs of all the process's threads. A process per core scales;
//! threads do not. A worker process also bounds what a crash takes with it:
//! one task, which is retried, never the server.
//!
//! The two processes' code is kept apart:
//! - `executor` runs in the server: the [`Executor`] the scheduler hands
//!   each task to, and behind it the task threads or the pool of worker
//!   processes;
//! - `worker_process` runs inside `sandrun worker`;
//! - `wire` is what the two say over the worker's stdin and stdout, the one
//!   module both sides build on;
//! - [`RunError`] is how a run failed, whichever way it ran.

mod executor;
mod run_error;
mod wire;
mod worker_process;

pub use executor::{Executor, TaskThreads, WorkerPool, WorkerSpawn};
pub use run_error::RunError;
pub use worker_process::serve;
