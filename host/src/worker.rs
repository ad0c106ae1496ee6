//! Where the scheduler's tasks execute: on threads of the server, or in
//! worker processes it supervises.
//!
//! Worker processes are the default because guests in one process slow each
//! other down: every instance's copy-on-write faults and memory resets shoot
//! down the TLBs of all the process's threads. A process per core scales;
//! threads do not. A worker process also bounds what a crash takes with it:
//! one task, which is retried, never the server.

mod executor;
mod run_error;
mod wire;
mod worker_process;

pub use executor::{Executor, TaskThreads, WorkerPool, WorkerSpawn};
pub use run_error::RunError;
pub use worker_process::serve;
