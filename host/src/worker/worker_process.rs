//! The `sandrun worker` process: one sandbox, jobs from stdin, events and
//! results to stdout, its log on stderr. Nothing here runs in the server.
//!
//! The main thread only reads the pipe, so a cancel or a key-value answer
//! reaches a running job at once; jobs run one at a time on a thread of
//! their own. When the server closes the pipe (or dies) the read ends and
//! the process exits, job or no job.

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};

mod pipe_hooks;

use pipe_hooks::{Pipe, PipeHooks};

use super::run_error::RunError;
use super::wire::frame::{self, FrameError};
use super::wire::{FromWorker, JobId, KvReply, ToWorker, WireResult};
use crate::home::Home;
use crate::progress::Silent;
use crate::runtime;
use crate::sandbox::{CancelHandle, LimitPolicy, LiveSessions, Sandbox, Task, task_thread};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("cannot use stdout for the pipe: {0}")]
    Stdout(io::Error),
    #[error("the server sent {0} out of turn")]
    OutOfTurn(&'static str),
    #[error("cannot load the sandbox: {0}")]
    Load(String),
    #[error("cannot start the job thread: {0}")]
    Thread(io::Error),
}

/// Serve jobs until the server closes the pipe.
pub fn serve(home: &Home) -> Result<(), ServeError> {
    let mut input = io::stdin().lock();
    let pipe = Arc::new(Pipe::stdout().map_err(ServeError::Stdout)?);
    let (policy, pre_import, live) = match frame::read(&mut input)? {
        Some(ToWorker::Start {
            defaults,
            maximum,
            pre_import,
            live_sessions,
            live_idle_ms,
        }) => (
            LimitPolicy {
                defaults: defaults.0,
                maximum: maximum.0,
            },
            pre_import,
            ToWorker::live_sessions(live_sessions, live_idle_ms),
        ),
        Some(_) => return Err(ServeError::OutOfTurn("a job before the limits")),
        None => return Ok(()),
    };
    let sandbox = match load(home, policy, pre_import.as_deref(), live) {
        Ok(sandbox) => sandbox,
        Err(message) => {
            pipe.send(&FromWorker::Failed {
                message: message.clone(),
            })?;
            return Err(ServeError::Load(message));
        }
    };
    pipe.send(&FromWorker::Ready)?;
    tracing::debug!("worker ready");

    let (jobs, received) = mpsc::channel();
    let (kv_answers, kv_replies) = mpsc::channel();
    let runner_pipe = pipe.clone();
    // Jobs run on this one thread, which has room for the guest's stack.
    task_thread::spawn("sandrun-job", move || {
        run_jobs(&sandbox, received, &runner_pipe, kv_replies)
    })
    .map_err(ServeError::Thread)?;
    read_commands(&mut input, &pipe, &jobs, &kv_answers)
}

/// The sandbox as the server has it: same data directory, same limits.
/// The runtime is found, never installed: the server did that before
/// starting its workers.
fn load(
    home: &Home,
    policy: LimitPolicy,
    pre_import: Option<&[String]>,
    live: LiveSessions,
) -> Result<Sandbox, String> {
    let sandbox = Sandbox::new(home, policy, 1, live).map_err(|e| e.to_string())?;
    let manifest = runtime::manifest("python").map_err(|e| e.to_string())?;
    let installed = runtime::find(home, &manifest).ok_or_else(|| {
        format!(
            "the {} runtime is not installed in {}",
            manifest.name,
            home.root().display()
        )
    })?;
    sandbox
        .load_python(&installed, pre_import, &Silent)
        .map_err(|e| e.to_string())?;
    Ok(sandbox)
}

type ReceivedJob = (JobId, Task, CancelHandle);

fn read_commands(
    input: &mut impl Read,
    pipe: &Pipe,
    jobs: &mpsc::Sender<ReceivedJob>,
    kv_answers: &mpsc::Sender<KvReply>,
) -> Result<(), ServeError> {
    // The latest job's cancel handle; a cancel for an older job finds a
    // different id and is dropped.
    let mut current: Option<(JobId, CancelHandle)> = None;
    // Every module this process was sent, by sha256.
    let mut modules = HashMap::new();
    loop {
        match frame::read(input)? {
            None => return Ok(()),
            Some(ToWorker::Run { job, task }) => {
                let task = match task.into_task(&mut modules) {
                    Ok(task) => task,
                    Err(message) => {
                        let outcome = Err(RunError::Infrastructure(message));
                        pipe.send(&FromWorker::Done { job, outcome })?;
                        continue;
                    }
                };
                let cancel = CancelHandle::new();
                current = Some((job, cancel.clone()));
                // The job thread lives as long as this process.
                let _ = jobs.send((job, task, cancel));
            }
            Some(ToWorker::Cancel { job }) => {
                if let Some((running, cancel)) = &current
                    && *running == job
                {
                    cancel.cancel();
                }
            }
            Some(ToWorker::Kv { job, reply }) => {
                let _ = kv_answers.send((job, reply));
            }
            Some(ToWorker::Start { .. }) => return Err(ServeError::OutOfTurn("the limits twice")),
        }
    }
}

fn run_jobs(
    sandbox: &Sandbox,
    received: Receiver<ReceivedJob>,
    pipe: &Arc<Pipe>,
    kv: Receiver<KvReply>,
) {
    let kv = Arc::new(Mutex::new(kv));
    for (job, task, cancel) in received {
        let hooks = Arc::new(PipeHooks::new(job, pipe.clone(), kv.clone()));
        let outcome = sandbox
            .run_with(&task, &cancel, hooks)
            .map(WireResult::from)
            .map_err(RunError::from);
        if let Err(e) = pipe.send(&FromWorker::Done { job, outcome }) {
            tracing::error!(error = %e, "cannot report a job's end");
        }
    }
}
