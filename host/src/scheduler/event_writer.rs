//! A running task's output, turned into events and written in batches.
//!
//! The guest's writes arrive on its own thread, often a few bytes at a time;
//! they are gathered here and written every few milliseconds, so a chatty
//! task costs a handful of database writes per second, not one per line.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sandrun_api::TaskEvent;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::Notifier;
use crate::sandbox::{Stream, TaskHooks};
use crate::storage::Storage;

const FLUSH_EVERY: Duration = Duration::from_millis(50);

#[derive(Debug, Default)]
struct Pending {
    events: Vec<TaskEvent>,
    /// A UTF-8 sequence cut by a write boundary, per stream, held until its
    /// end arrives.
    partial: [Vec<u8>; 2],
    closed: bool,
}

#[derive(Debug)]
pub struct EventWriter {
    pending: Mutex<Pending>,
    wake: Notify,
}

impl TaskHooks for EventWriter {
    fn output(&self, stream: Stream, bytes: &[u8]) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
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
    /// Start writing task `id`'s events; [`EventWriter::close`] flushes the
    /// rest and waits.
    pub fn start(
        storage: Arc<dyn Storage>,
        notifier: Arc<Notifier>,
        id: String,
    ) -> (Arc<Self>, JoinHandle<()>) {
        let writer = Arc::new(EventWriter {
            pending: Mutex::default(),
            wake: Notify::new(),
        });
        let flusher = tokio::spawn(writer.clone().flush_loop(storage, notifier, id));
        (writer, flusher)
    }

    async fn flush_loop(
        self: Arc<Self>,
        storage: Arc<dyn Storage>,
        notifier: Arc<Notifier>,
        id: String,
    ) {
        loop {
            let _ = tokio::time::timeout(FLUSH_EVERY, self.wake.notified()).await;
            let (events, closed) = {
                let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                if pending.closed {
                    let tail: Vec<TaskEvent> = pending
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
                        .collect();
                    pending.events.extend(tail);
                }
                (std::mem::take(&mut pending.events), pending.closed)
            };
            if !events.is_empty() {
                if let Err(e) = storage.append_events(&id, &events).await {
                    tracing::warn!(task_id = %id, error = %e, "could not record output events");
                }
                notifier.notify(&id);
            }
            if closed {
                return;
            }
        }
    }

    /// No more output will come.
    pub fn close(&self) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .closed = true;
        self.wake.notify_one();
    }
}
