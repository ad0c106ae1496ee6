//! The server's worker processes behind one queue: a task goes to whichever
//! worker is free, and waits in the queue while none is.

use std::path::PathBuf;
use std::sync::Arc;

use sandrun_api::TaskResult;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::AbortHandle;

use super::RunError;
use super::supervisor;
use crate::sandbox::{CancelHandle, LimitPolicy, Task, TaskHooks};

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

/// A task on its way to a worker, and where its end is reported.
pub struct Job {
    pub task: Task,
    pub cancel: CancelHandle,
    pub hooks: Arc<dyn TaskHooks>,
    answer: oneshot::Sender<Result<TaskResult, RunError>>,
}

impl Job {
    pub fn answer(self, outcome: Result<TaskResult, RunError>) {
        // The scheduler stopped waiting: nothing is left to tell.
        let _ = self.answer.send(outcome);
    }
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

    pub async fn run(
        &self,
        task: Task,
        cancel: CancelHandle,
        hooks: Arc<dyn TaskHooks>,
    ) -> Result<TaskResult, RunError> {
        let (answer, answered) = oneshot::channel();
        let job = Job {
            task,
            cancel,
            hooks,
            answer,
        };
        let closed = || RunError::Infrastructure("the worker pool has stopped".into());
        self.jobs.send(job).await.map_err(|_| closed())?;
        answered.await.unwrap_or_else(|_| Err(closed()))
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
