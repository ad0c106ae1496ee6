//! The server's worker processes behind one queue: a task goes to whichever
//! worker is free, and waits in the queue while none is.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{Mutex, mpsc};
use tokio::task::AbortHandle;

mod child;
mod supervisor;

use super::slot_job::Job;
use crate::sandbox::LimitPolicy;

/// How to start the worker processes, and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerSpawn {
    /// The `sandrun` binary.
    pub program: PathBuf,
    /// The data directory the workers share with the server.
    pub home: PathBuf,
    pub count: usize,
    /// The snapshot's pre-import list, as the server loaded it.
    pub pre_import: Option<Vec<String>>,
}

/// The queue the supervisors take jobs from, one at a time.
pub type Queue = Arc<Mutex<mpsc::Receiver<Job>>>;

#[derive(Debug)]
pub struct WorkerPool {
    jobs: mpsc::Sender<Job>,
    supervisors: Vec<AbortHandle>,
}

impl WorkerPool {
    /// Start `spawn.count` supervised workers enforcing `policy`. They start
    /// in the background; a task waits for one that is ready.
    pub fn start(spawn: WorkerSpawn, policy: LimitPolicy) -> Self {
        let (jobs, queue) = mpsc::channel(spawn.count.max(1));
        let queue: Queue = Arc::new(Mutex::new(queue));
        let spawn = Arc::new(spawn);
        let supervisors = (0..spawn.count)
            .map(|index| {
                tokio::spawn(supervisor::supervise(
                    index,
                    spawn.clone(),
                    policy,
                    queue.clone(),
                ))
                .abort_handle()
            })
            .collect();
        WorkerPool { jobs, supervisors }
    }

    /// Where the pool takes its jobs from.
    pub fn jobs(&self) -> &mpsc::Sender<Job> {
        &self.jobs
    }
}

impl Drop for WorkerPool {
    /// Stopping the supervisors drops their processes, which kills them.
    fn drop(&mut self) {
        for supervisor in &self.supervisors {
            supervisor.abort();
        }
    }
}
