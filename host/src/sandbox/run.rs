//! One task, from request to result. A task is checked against the limit
//! policy, given a private workspace, run on a thread with room for a
//! guest's stack, held to its fuel, memory, output and wall-clock limits,
//! and whatever ended it is turned into a result. Everything here lives
//! only as long as its run; what outlives a run is in `engine`.

pub(super) mod artifacts;
pub(super) mod execute;
pub(super) mod limits;
pub(super) mod output;
pub(super) mod stop;
pub(super) mod task;
pub mod task_thread;
mod validate;
pub(super) mod workspace;
