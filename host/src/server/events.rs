//! `GET /v1/tasks/{id}/events`: Server-Sent Events for every status change
//! and every piece of output, then a final `end` event with the task.
//!
//! Events are read from the database, so a late subscriber first gets what
//! already happened, and a task running on another node streams the same
//! way; the in-process notifier only makes the next read come sooner.
//!
//! Each open stream holds a task and a database read every so often, so
//! there are at most so many on one task and in all; past either, 429.

use std::collections::VecDeque;
use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use sandrun_api::TaskEvent;

use super::extract::Path;
use super::problem::RETRY_AFTER_SECS;
use super::tasks::not_found;
use super::{ApiError, ApiLimits, AppState};
use crate::scheduler::Subscription;
use crate::slots::{KeyedSlot, KeyedSlots, Slot, Slots};

/// The event streams open now, in all and on each task.
#[derive(Debug)]
pub struct EventStreams {
    all: Slots,
    per_task: KeyedSlots,
}

/// One open stream's places in the counts, given back when it ends.
struct Open {
    _task: KeyedSlot,
    _all: Slot,
}

impl EventStreams {
    pub fn new(limits: &ApiLimits) -> Self {
        EventStreams {
            all: Slots::new(limits.max_event_streams),
            per_task: KeyedSlots::new(limits.max_event_streams_per_task),
        }
    }

    fn open(&self, id: &str) -> Result<Open, ApiError> {
        let task = self.per_task.try_take(id).ok_or_else(|| {
            too_many(format!(
                "task {id} has {} event streams open, the configured maximum",
                self.per_task.max()
            ))
        })?;
        Ok(Open {
            _task: task,
            _all: self.open_one()?,
        })
    }

    /// A place for one more stream among all of them.
    pub(super) fn open_one(&self) -> Result<Slot, ApiError> {
        self.all.try_take().ok_or_else(|| {
            too_many(format!(
                "{} event streams are open, the configured maximum",
                self.all.max()
            ))
        })
    }
}

fn too_many(detail: String) -> ApiError {
    ApiError::TooMany {
        detail,
        retry_after_secs: RETRY_AFTER_SECS,
    }
}

struct Cursor {
    /// Held for as long as the stream is open.
    _open: Open,
    state: AppState,
    id: String,
    subscription: Subscription,
    after: i64,
    queue: VecDeque<TaskEvent>,
    /// The terminal status was seen: stop once the queue is empty.
    finished: bool,
}

/// The task's events as they happen.
#[utoipa::path(get, path = "/v1/tasks/{id}/events",
    responses((status = 200, content_type = "text/event-stream", body = TaskEvent, description = "one event per change, `end` last"),
              (status = 404, description = "no such task"),
              (status = 429, description = "too many event streams open, for this task or in all")))]
pub async fn stream(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    if state.storage.task(&id).await?.is_none() {
        return Err(not_found(&id));
    }
    let open = state.event_streams.open(&id)?;
    let subscription = state.notifier.subscribe(&id);
    let cursor = Cursor {
        _open: open,
        state,
        id,
        subscription,
        after: 0,
        queue: VecDeque::new(),
        finished: false,
    };
    let events = futures::stream::unfold(cursor, |mut cursor| async move {
        let event = cursor.next().await?;
        let sse = Event::default()
            .event(event.name())
            .json_data(&event)
            .expect("events serialise");
        Some((Ok(sse), cursor))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

impl Cursor {
    /// The next event, or `None` once `end` was sent (or the server stops).
    async fn next(&mut self) -> Option<TaskEvent> {
        if self.queue.is_empty() {
            if self.finished {
                return None;
            }
            let (storage, id, after) = (&self.state.storage, &self.id, self.after);
            let fetched = self.subscription.until(|| async move {
                let events = storage.events_after(id, after).await?;
                Ok::<_, ApiError>((!events.is_empty()).then_some(events))
            });
            let events = tokio::select! {
                events = fetched => events.ok()?,
                () = self.state.shutdown.cancelled() => return None,
            };
            self.after = events.last().map(|(n, _)| *n).unwrap_or(self.after);
            self.queue.extend(events.into_iter().map(|(_, e)| e));
        }
        let event = self.queue.pop_front()?;
        if let TaskEvent::Status { status, .. } = &event
            && status.is_terminal()
        {
            // A task's output is recorded before its end: nothing follows.
            self.queue.clear();
            if let Ok(Some(task)) = self.state.storage.task(&self.id).await {
                self.queue.push_back(TaskEvent::End {
                    task: Box::new(task.to_api()),
                });
            }
            self.finished = true;
        }
        Some(event)
    }
}
