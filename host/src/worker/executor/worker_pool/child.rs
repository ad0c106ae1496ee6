//! One worker process as the server sees it: started, handed jobs one at a
//! time, its messages turned into calls on the job's hooks.
//!
//! A dead process shows as its pipe closing; whatever it was running comes
//! back as a [`ChildError`], never as a task result, so the task is retried.

use std::collections::HashSet;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::mpsc;

use crate::home::HOME_ENV;
use crate::sandbox::{KvStore, LimitPolicy, LiveSessions, Ran, Source, TaskHooks};
use crate::telemetry::LogFormat;
use crate::worker::executor::slot_job::SlotJob;
use crate::worker::run_error::RunError;
use crate::worker::wire::frame::{self, FrameError};
use crate::worker::wire::{
    FromWorker, JobId, Json, KvAnswer, KvReply, KvRequest, ToWorker, WireTask,
};

/// The pipes' buffers: Linux's most for an unprivileged process, by default.
const PIPE_BYTES: libc::c_int = 1 << 20;

/// How often a running job's cancel handle is looked at.
const CANCEL_POLL: Duration = Duration::from_millis(5);

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
    /// The sessions each worker keeps live.
    pub live: LiveSessions,
    /// The server's, so that the workers' lines read as its own.
    pub log_format: LogFormat,
}

/// Why a worker process can take no more jobs.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    #[error("cannot start the worker process {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("the worker process could not load its sandbox: {0}")]
    Load(String),
    #[error("the worker process ended ({0})")]
    Exited(String),
    #[error("cannot write to the worker process: {0}")]
    Write(#[from] FrameError),
    #[error("the worker process sent {0} out of turn")]
    OutOfTurn(&'static str),
}

#[derive(Debug)]
pub struct WorkerChild {
    process: Child,
    stdin: ChildStdin,
    /// The process's messages, in order; closed when its stdout closes.
    messages: mpsc::Receiver<FromWorker>,
    next_job: JobId,
    /// Modules whose bytes this process was sent; later tasks name them.
    sent_modules: HashSet<String>,
}

impl WorkerChild {
    /// Start a worker and wait until its sandbox is loaded.
    pub async fn start(spawn: &WorkerSpawn, policy: &LimitPolicy) -> Result<Self, ChildError> {
        let mut process = Command::new(&spawn.program)
            .arg("worker")
            .arg("--log-format")
            .arg(spawn.log_format.name())
            .env(HOME_ENV, &spawn.home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ChildError::Spawn {
                program: spawn.program.display().to_string(),
                source,
            })?;
        let stdin = process.stdin.take().expect("piped");
        let stdout = process.stdout.take().expect("piped");
        widen(&stdin);
        widen(&stdout);
        let (sender, messages) = mpsc::channel(64);
        tokio::spawn(read_messages(stdout, sender));
        let mut child = WorkerChild {
            process,
            stdin,
            messages,
            next_job: 0,
            sent_modules: HashSet::new(),
        };
        child
            .send(&ToWorker::start(
                policy,
                spawn.pre_import.clone(),
                spawn.live,
            ))
            .await?;
        match child.messages.recv().await {
            Some(FromWorker::Ready) => Ok(child),
            Some(FromWorker::Failed { message }) => Err(ChildError::Load(message)),
            Some(_) => Err(ChildError::OutOfTurn("job messages before it was ready")),
            None => Err(child.ended().await),
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.id()
    }

    /// Wait until the process dies or speaks out of turn while idle.
    pub async fn idle_failure(&mut self) -> ChildError {
        match self.messages.recv().await {
            Some(_) => ChildError::OutOfTurn("a message while idle"),
            None => self.ended().await,
        }
    }

    /// Run `job` to its end. `Err` means the process is lost, and the job
    /// with it.
    pub async fn run(&mut self, job: &SlotJob) -> Result<Result<Ran, RunError>, ChildError> {
        let id = self.next_job;
        self.next_job += 1;
        let send_module = match &job.task.source {
            Source::Wasm { module } => self.sent_modules.insert(module.hash.clone()),
            Source::Python { .. } => false,
        };
        self.send(&ToWorker::Run {
            job: id,
            task: WireTask::new(&job.task, send_module),
        })
        .await?;
        let (kv_sender, mut kv_replies) = mpsc::unbounded_channel::<KvReply>();
        let mut cancel_sent = false;
        let mut cancel_poll = tokio::time::interval(CANCEL_POLL);
        loop {
            tokio::select! {
                message = self.messages.recv() => match message {
                    None => return Err(self.ended().await),
                    Some(FromWorker::Done { job, outcome }) if job == id => {
                        return Ok(outcome.map(Ran::from));
                    }
                    Some(message) => forward(id, message, &job.hooks, &kv_sender)?,
                },
                Some((job, reply)) = kv_replies.recv() => {
                    self.send(&ToWorker::Kv { job, reply }).await?;
                }
                _ = cancel_poll.tick(), if !cancel_sent => {
                    if job.cancel.is_cancelled() {
                        self.send(&ToWorker::Cancel { job: id }).await?;
                        cancel_sent = true;
                    }
                }
            }
        }
    }

    async fn send(&mut self, message: &ToWorker) -> Result<(), ChildError> {
        let bytes = frame::encode(message)?;
        self.stdin
            .write_all(&bytes)
            .await
            .map_err(FrameError::from)?;
        Ok(())
    }

    /// The process's pipe closed: make sure it is gone and say how it went.
    async fn ended(&mut self) -> ChildError {
        let _ = self.process.start_kill();
        match self.process.wait().await {
            Ok(status) => ChildError::Exited(status.to_string()),
            Err(e) => ChildError::Exited(format!("its status is unknown: {e}")),
        }
    }
}

/// Pipe buffers of `PIPE_BYTES`, where the kernel allows it: a session's
/// state (a megabyte or so) then crosses in one or two writes rather than
/// sixteen of the default 64 KiB, each waking the other side. Only speed
/// depends on it.
fn widen(pipe: &impl AsRawFd) {
    // SAFETY: F_SETPIPE_SZ takes an int and touches nothing but the pipe.
    unsafe { libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_BYTES) };
}

async fn read_messages(mut stdout: ChildStdout, sender: mpsc::Sender<FromWorker>) {
    loop {
        match frame::read_async(&mut stdout).await {
            Ok(Some(message)) => {
                if sender.send(message).await.is_err() {
                    return;
                }
            }
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, "a worker process's message is unreadable");
                return;
            }
        }
    }
}

/// Hand one of job `id`'s messages to its hooks. Messages of earlier jobs
/// are late and dropped.
fn forward(
    id: JobId,
    message: FromWorker,
    hooks: &Arc<dyn TaskHooks>,
    kv_replies: &mpsc::UnboundedSender<KvReply>,
) -> Result<(), ChildError> {
    match message {
        FromWorker::Output { job, stream, bytes } if job == id => {
            hooks.output(stream.into(), &bytes);
        }
        FromWorker::Log { job, line } if job == id => hooks.log(&line.0),
        FromWorker::Progress { job, value } if job == id => hooks.progress(value),
        FromWorker::Kv { job, request } if job == id => {
            // The store may block on the database: off the runtime's threads.
            let hooks = hooks.clone();
            let kv_replies = kv_replies.clone();
            tokio::task::spawn_blocking(move || {
                let _ = kv_replies.send((job, answer(hooks.kv(), request)));
            });
        }
        FromWorker::Ready | FromWorker::Failed { .. } => {
            return Err(ChildError::OutOfTurn("a readiness message"));
        }
        _ => {}
    }
    Ok(())
}

fn answer(kv: Option<&dyn KvStore>, request: KvRequest) -> Result<KvAnswer, String> {
    let kv = kv.ok_or("this task has no key-value store")?;
    match request {
        KvRequest::Get { namespace, key } => kv
            .get(&namespace, &key)
            .map(|value| KvAnswer::Got(value.map(Json))),
        KvRequest::Put {
            namespace,
            key,
            value,
        } => kv.put(&namespace, &key, &value.0).map(|()| KvAnswer::Put),
        KvRequest::Delete { namespace, key } => kv.delete(&namespace, &key).map(KvAnswer::Deleted),
    }
    .map_err(|e| e.0)
}
