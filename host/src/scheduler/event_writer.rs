//! A running task's output, logs and progress, turned into events and
//! written in batches; and the task's key-value store.
//!
//! The guest's writes arrive on its own thread, often a few bytes at a time;
//! they are gathered here and written at most every [`FLUSH_EVERY`], so a
//! chatty task costs a handful of database writes per second, not one per
//! line. Whatever is still pending when the run ends is handed back to be
//! written with the result, in the same transaction: a short task's output
//! costs no write of its own.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sandrun_api::{LogLine, TaskEvent};
use serde_json::Value;
use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::Notifier;
use crate::sandbox::{KvError, KvStore, Stream, TaskHooks};
use crate::storage::Storage;

const FLUSH_EVERY: Duration = Duration::from_millis(50);

#[derive(Debug, Default)]
struct Pending {
    events: Vec<TaskEvent>,
    /// A UTF-8 sequence cut by a write boundary, per stream, held until its
    /// end arrives.
    partial: [Vec<u8>; 2],
    /// Progress reported since the last flush.
    progress: Option<f64>,
    closed: bool,
}

/// Which run of which task the events belong to.
#[derive(Debug, Clone)]
pub struct RunId {
    pub task: String,
    pub attempt: u32,
}

#[derive(Debug)]
pub struct EventWriter {
    pending: Mutex<Pending>,
    wake: Notify,
    kv: StorageKv,
}

impl TaskHooks for EventWriter {
    fn output(&self, stream: Stream, bytes: &[u8]) {
        let mut pending = self.lock();
        let slot = stream as usize;
        let mut data = std::mem::take(&mut pending.partial[slot]);
        data.extend_from_slice(bytes);
        let cut = complete_utf8_prefix(&data);
        pending.partial[slot] = data.split_off(cut);
        if data.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&data).into_owned();
        match (stream, pending.events.last_mut()) {
            (Stream::Stdout, Some(TaskEvent::Stdout { text: last })) => last.push_str(&text),
            (Stream::Stderr, Some(TaskEvent::Stderr { text: last })) => last.push_str(&text),
            (Stream::Stdout, _) => pending.events.push(TaskEvent::Stdout { text }),
            (Stream::Stderr, _) => pending.events.push(TaskEvent::Stderr { text }),
        }
        drop(pending);
        self.wake.notify_one();
    }

    fn log(&self, line: &LogLine) {
        self.lock()
            .events
            .push(TaskEvent::Log { line: line.clone() });
        self.wake.notify_one();
    }

    fn progress(&self, value: f64) {
        let mut pending = self.lock();
        pending.progress = Some(value);
        pending.events.push(TaskEvent::Progress { value });
        drop(pending);
        self.wake.notify_one();
    }

    fn kv(&self) -> Option<&dyn KvStore> {
        Some(&self.kv)
    }
}

/// The length of `data` up to an incomplete UTF-8 sequence at its end.
fn complete_utf8_prefix(data: &[u8]) -> usize {
    match std::str::from_utf8(data) {
        Ok(_) => data.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => data.len(),
    }
}

impl EventWriter {
    /// Start writing `run`'s events; [`EventWriter::finish`] stops and
    /// answers what is left to write.
    pub fn start(storage: Arc<dyn Storage>, notifier: Arc<Notifier>, run: RunId) -> Flushing {
        let kv = StorageKv {
            storage: storage.clone(),
            runtime: Handle::current(),
        };
        let writer = Arc::new(EventWriter {
            pending: Mutex::default(),
            wake: Notify::new(),
            kv,
        });
        let flusher = tokio::spawn(writer.clone().flush_loop(storage, notifier, run));
        Flushing { writer, flusher }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn flush_loop(
        self: Arc<Self>,
        storage: Arc<dyn Storage>,
        notifier: Arc<Notifier>,
        run: RunId,
    ) {
        loop {
            self.wake.notified().await;
            // Gather for a while; an ending run cuts the wait short.
            let _ = tokio::time::timeout(FLUSH_EVERY, async {
                while !self.lock().closed {
                    self.wake.notified().await;
                }
            })
            .await;
            let (events, progress) = {
                let mut pending = self.lock();
                if pending.closed {
                    return;
                }
                (std::mem::take(&mut pending.events), pending.progress.take())
            };
            if let Some(value) = progress
                && let Err(e) = storage
                    .guest()
                    .set_progress(&run.task, run.attempt, value)
                    .await
            {
                tracing::warn!(error = %e, "could not record progress");
            }
            if !events.is_empty() {
                if let Err(e) = storage.append_events(&run.task, &events).await {
                    tracing::warn!(error = %e, "could not record output events");
                }
                notifier.notify(&run.task);
            }
        }
    }
}

/// An [`EventWriter`] and the task flushing it.
#[derive(Debug)]
pub struct Flushing {
    pub writer: Arc<EventWriter>,
    flusher: JoinHandle<()>,
}

impl Flushing {
    /// No more output will come: stop flushing, and answer the events not
    /// yet written.
    pub async fn finish(self) -> Vec<TaskEvent> {
        self.writer.lock().closed = true;
        self.writer.wake.notify_one();
        let _ = self.flusher.await;
        let mut pending = self.writer.lock();
        let tail = take_partial_output(&mut pending);
        let mut events = std::mem::take(&mut pending.events);
        events.extend(tail);
        events
    }
}

/// Bytes held back for an unfinished UTF-8 sequence, as text, once nothing
/// more can complete them.
fn take_partial_output(pending: &mut Pending) -> Vec<TaskEvent> {
    pending
        .partial
        .iter_mut()
        .zip([Stream::Stdout, Stream::Stderr])
        .filter(|(bytes, _)| !bytes.is_empty())
        .map(|(bytes, stream)| {
            let text = String::from_utf8_lossy(&std::mem::take(bytes)).into_owned();
            match stream {
                Stream::Stdout => TaskEvent::Stdout { text },
                Stream::Stderr => TaskEvent::Stderr { text },
            }
        })
        .collect()
}

/// The guest's key-value calls, served from the database. They arrive on
/// the task's own thread (not a runtime worker), which may block on the
/// runtime for the answer.
#[derive(Debug)]
struct StorageKv {
    storage: Arc<dyn Storage>,
    runtime: Handle,
}

impl KvStore for StorageKv {
    fn get(&self, namespace: &str, key: &str) -> Result<Option<Value>, KvError> {
        self.runtime
            .block_on(self.storage.guest().kv_get(namespace, key))
            .map_err(|e| KvError(e.to_string()))
    }

    fn put(&self, namespace: &str, key: &str, value: &Value) -> Result<(), KvError> {
        self.runtime
            .block_on(self.storage.guest().kv_put(namespace, key, value))
            .map_err(|e| KvError(e.to_string()))
    }

    fn delete(&self, namespace: &str, key: &str) -> Result<bool, KvError> {
        self.runtime
            .block_on(self.storage.guest().kv_delete(namespace, key))
            .map_err(|e| KvError(e.to_string()))
    }
}
