//! `GET /v1/overview`: the queue at a glance (tasks by status, tasks ended
//! per interval, the nodes and what they run, the latest failures), and
//! `GET /v1/overview/events`, which pushes it again whenever it changes.
//! The dashboard's overview page is drawn from these two alone.

mod feed;

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use sandrun_api::{EndedInterval, Overview, OverviewQuery, RecentFailure, TaskStatus};
use tokio_stream::wrappers::WatchStream;

pub use feed::OverviewFeed;

use super::extract::{Json, Query};
use super::{ApiError, AppState, nodes};
use crate::storage::{TaskFilter, TaskRecord, now_ms, rfc3339};

/// The window when a request names none: 15 minutes.
const DEFAULT_WINDOW_SECS: u32 = 15 * 60;
/// The window is cut into this many intervals.
const INTERVALS: u32 = 30;
/// Failures listed.
const RECENT_FAILURES: u32 = 5;
/// A failure's message is cut to this many characters.
const MESSAGE_CHARS: usize = 240;

/// The queue now, and what ended over the window.
#[utoipa::path(get, path = "/v1/overview", params(OverviewQuery),
    responses((status = 200, body = Overview)))]
pub async fn get(
    State(state): State<AppState>,
    Query(query): Query<OverviewQuery>,
) -> Result<Json<Overview>, ApiError> {
    let window = match query.window {
        None => DEFAULT_WINDOW_SECS,
        Some(w @ 60..=86_400) => w,
        Some(_) => {
            return Err(ApiError::invalid(
                "window",
                "must be from 60 to 86400 seconds",
            ));
        }
    };
    Ok(Json(read(&state, window).await?))
}

/// The overview of the last 15 minutes each time it changes, first as it
/// is now; a `ping` comment keeps a quiet stream open.
#[utoipa::path(get, path = "/v1/overview/events",
    responses((status = 200, content_type = "text/event-stream", body = Overview, description = "an `overview` event at once, then one at each change (at most two a second)"),
              (status = 429, description = "too many event streams are open")))]
pub async fn stream(
    State(state): State<AppState>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let open = state.event_streams.open_one()?;
    let changes = state.overview.subscribe(&state);
    let stopping = state.shutdown.clone().cancelled_owned();
    // What was last read comes first (if anything was), then each change.
    let events = WatchStream::new(changes)
        .filter_map(|overview| async move { overview })
        .map(move |overview| {
            // The stream's place among the open ones is held with it.
            let _held = &open;
            Ok(Event::default()
                .event("overview")
                .json_data(&*overview)
                .expect("an overview serialises"))
        })
        .take_until(stopping);
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// The overview of the last `window` seconds, read now.
pub(super) async fn read(state: &AppState, window: u32) -> Result<Overview, ApiError> {
    let now = now_ms();
    let interval_ms = i64::from(window / INTERVALS).max(1) * 1000;
    // Intervals begin on multiples of their length, so a bar keeps its
    // place from one read to the next; the last one is still filling.
    let since = (now / interval_ms - i64::from(INTERVALS - 1)) * interval_ms;
    let activity = state
        .storage
        .activity(since, Duration::from_millis(interval_ms as u64))
        .await?;
    let mut ended: Vec<EndedInterval> = (0..i64::from(INTERVALS))
        .map(|i| EndedInterval {
            start: rfc3339(since + i * interval_ms),
            succeeded: 0,
            failed: 0,
            cancelled: 0,
        })
        .collect();
    for count in activity.ended {
        let Some(interval) = ended.get_mut(count.interval as usize) else {
            continue;
        };
        match count.status {
            TaskStatus::Succeeded => interval.succeeded += count.tasks,
            TaskStatus::Failed => interval.failed += count.tasks,
            TaskStatus::Cancelled => interval.cancelled += count.tasks,
            TaskStatus::Waiting | TaskStatus::Queued | TaskStatus::Running => {}
        }
    }
    let timeout = state.scheduler.node_timeout();
    let nodes = state.storage.registry().nodes().await?;
    let failures = state
        .storage
        .list_tasks(&TaskFilter {
            status: Some(TaskStatus::Failed),
            limit: RECENT_FAILURES,
            ..TaskFilter::default()
        })
        .await?;
    Ok(Overview {
        at: rfc3339(now),
        counts: activity.counts,
        ended,
        interval_seconds: (interval_ms / 1000) as u32,
        nodes: nodes
            .iter()
            .map(|n| nodes::to_api(n, now, timeout))
            .collect(),
        recent_failures: failures.iter().map(failure).collect(),
        newest_task_id: activity.newest_task_id,
    })
}

fn failure(task: &TaskRecord) -> RecentFailure {
    let message = task
        .result
        .as_ref()
        .and_then(|r| r.message.clone())
        .or_else(|| task.error.clone())
        .or_else(|| {
            let code = task.result.as_ref()?.exit_code?;
            Some(format!("exit code {code}"))
        })
        .map(|m| match m.char_indices().nth(MESSAGE_CHARS) {
            Some((cut, _)) => format!("{}…", &m[..cut]),
            None => m,
        });
    RecentFailure {
        id: task.id.clone(),
        runtime: task.request.runtime,
        finished_at: rfc3339(task.finished_at.unwrap_or(task.created_at)),
        outcome: task.result.as_ref().map(|r| r.outcome),
        message,
    }
}
