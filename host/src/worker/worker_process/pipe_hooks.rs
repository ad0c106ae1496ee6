//! A job's hooks inside a worker: everything the guest produces goes up
//! the pipe as it happens, and its key-value calls wait for the server's
//! answer, exactly as they would wait for the database in the server.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

use sandrun_api::LogLine;
use serde_json::Value;

use crate::sandbox::{KvError, KvStore, Stream, TaskHooks};
use crate::worker::wire::frame::{self, FrameError};
use crate::worker::wire::{FromWorker, JobId, Json, KvAnswer, KvReply, KvRequest};

/// The worker's end of the pipe to the server. Messages are written whole
/// under a lock, since the job thread and the guest's output share it.
#[derive(Debug)]
pub struct Pipe {
    out: Mutex<File>,
}

impl Pipe {
    /// Unbuffered stdout: one write per message.
    pub fn stdout() -> io::Result<Self> {
        let fd = io::stdout().as_fd().try_clone_to_owned()?;
        Ok(Pipe {
            out: Mutex::new(File::from(fd)),
        })
    }

    pub fn send(&self, message: &FromWorker) -> Result<(), FrameError> {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        frame::write(&mut *out, message)
    }

    /// For observers: a broken pipe means the server is gone, and the
    /// reader thread ends the process when it notices.
    fn report(&self, message: &FromWorker) {
        if let Err(e) = self.send(message) {
            tracing::debug!(error = %e, "cannot report to the server");
        }
    }
}

#[derive(Debug)]
pub struct PipeHooks {
    job: JobId,
    pipe: Arc<Pipe>,
    kv: PipeKv,
}

impl PipeHooks {
    pub fn new(job: JobId, pipe: Arc<Pipe>, replies: Arc<Mutex<Receiver<KvReply>>>) -> Self {
        PipeHooks {
            job,
            kv: PipeKv {
                job,
                pipe: pipe.clone(),
                replies,
            },
            pipe,
        }
    }
}

impl TaskHooks for PipeHooks {
    fn output(&self, stream: Stream, bytes: &[u8]) {
        self.pipe.report(&FromWorker::Output {
            job: self.job,
            stream: stream.into(),
            bytes: bytes.to_vec(),
        });
    }

    fn log(&self, line: &LogLine) {
        self.pipe.report(&FromWorker::Log {
            job: self.job,
            line: Json(line.clone()),
        });
    }

    fn progress(&self, value: f64) {
        self.pipe.report(&FromWorker::Progress {
            job: self.job,
            value,
        });
    }

    fn kv(&self) -> Option<&dyn KvStore> {
        Some(&self.kv)
    }
}

#[derive(Debug)]
struct PipeKv {
    job: JobId,
    pipe: Arc<Pipe>,
    replies: Arc<Mutex<Receiver<KvReply>>>,
}

impl PipeKv {
    fn ask(&self, request: KvRequest) -> Result<KvAnswer, KvError> {
        let replies = self.replies.lock().unwrap_or_else(|e| e.into_inner());
        self.pipe
            .send(&FromWorker::Kv {
                job: self.job,
                request,
            })
            .map_err(|e| KvError(e.to_string()))?;
        loop {
            match replies.recv() {
                Ok((job, reply)) if job == self.job => return reply.map_err(KvError),
                // An answer to an earlier job's request, left when it ended.
                Ok(_) => continue,
                Err(_) => return Err(KvError("the worker is shutting down".into())),
            }
        }
    }
}

fn unexpected(answer: KvAnswer) -> KvError {
    KvError(format!("the server answered {answer:?} out of turn"))
}

impl KvStore for PipeKv {
    fn get(&self, namespace: &str, key: &str) -> Result<Option<Value>, KvError> {
        match self.ask(KvRequest::Get {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
        })? {
            KvAnswer::Got(value) => Ok(value.map(|v| v.0)),
            other => Err(unexpected(other)),
        }
    }

    fn put(&self, namespace: &str, key: &str, value: &Value) -> Result<(), KvError> {
        match self.ask(KvRequest::Put {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
            value: Json(value.clone()),
        })? {
            KvAnswer::Put => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    fn delete(&self, namespace: &str, key: &str) -> Result<bool, KvError> {
        match self.ask(KvRequest::Delete {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
        })? {
            KvAnswer::Deleted(existed) => Ok(existed),
            other => Err(unexpected(other)),
        }
    }
}
