use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use sandrun_api::{Task, TaskPage, TaskQuery, TaskRequest};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use super::extract::{Json, Path, Query};
use super::{ApiError, AppState};
use crate::scheduler::Subscription;
use crate::storage::{
    Cancelled, Claimed, Deleted, Inserted, NewTask, TaskFilter, TaskRecord, now_ms,
};
use crate::task_request::{RequestError, validate};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WaitQuery {
    /// Hold the request up to this many seconds (capped by the server) for
    /// the task to end.
    pub wait: Option<f64>,
}

/// Queue one task.
#[utoipa::path(post, path = "/v1/tasks", request_body = TaskRequest, params(WaitQuery),
    responses((status = 202, body = Task, description = "queued or running"),
              (status = 200, body = Task, description = "ended within the wait, or an idempotent repeat that ended"),
              (status = 400, body = sandrun_api::Problem), (status = 409, body = sandrun_api::Problem),
              (status = 413, body = sandrun_api::Problem), (status = 429, body = sandrun_api::Problem)))]
pub async fn submit(
    State(state): State<AppState>,
    Query(query): Query<WaitQuery>,
    Json(request): Json<TaskRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let mut new = prepare(&state, request).await?;
    let wait = wait_seconds(&state, query.wait)?;
    let depth = check_queue_depth(&state, 1).await?;
    // Nothing waits and a slot is free: the task skips the queue.
    let admitted = if depth == 0 {
        state.scheduler.try_admit()
    } else {
        None
    };
    let (permit, claim) = admitted.unzip();
    new.claim_for = claim;
    // Watching before the task exists, a waiter needs no first look at it:
    // nothing can have happened to it unseen.
    let subscription = wait.map(|_| state.notifier.subscribe(&new.id));
    let first_change = subscription.as_ref().map(Subscription::next_change);
    let inserted = state.storage.insert_tasks(vec![new]).await?;
    let (record, created) = match inserted.into_iter().next().expect("one in, one out") {
        Inserted::Created(r) => (r, true),
        Inserted::Existing(r) => (r, false),
    };
    match permit {
        Some(permit) if created => {
            let claimed = Claimed {
                id: record.id.clone(),
                attempt: record.attempt,
                request: record.request.clone(),
            };
            state.scheduler.start_admitted(claimed, permit);
        }
        // Queued, or an earlier task under the same idempotency key.
        _ => state.scheduler.wake(),
    }
    let task = match wait {
        Some(wait) => {
            if created && let Some(first_change) = first_change {
                let _ = tokio::time::timeout(wait, first_change).await;
            }
            wait_for_end(&state, record, wait).await?
        }
        None => record.to_api(),
    };
    Ok(respond(task))
}

/// 200 for an ended task, 202 for one still on its way.
pub(super) fn respond(task: Task) -> impl IntoResponse {
    let status = if task.status.is_terminal() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    (status, Json(task))
}

/// Check a request and make the row to insert.
pub(super) async fn prepare(
    state: &AppState,
    mut request: TaskRequest,
) -> Result<NewTask, ApiError> {
    validate(&request, &state.sandbox)?;
    // The request as sent decides idempotency, before names are resolved.
    let canonical = serde_json::to_vec(&request).expect("requests serialise");
    if let Some(reference) = &request.module {
        request.module = Some(super::modules::resolve(state, reference).await?);
    }
    Ok(NewTask {
        id: uuid::Uuid::now_v7().to_string(),
        max_attempts: request
            .max_attempts
            .unwrap_or(state.limits.default_max_attempts),
        request,
        request_hash: hex::encode(Sha256::digest(&canonical)),
        created_at: now_ms(),
        claim_for: None,
    })
}

/// The number of queued tasks, unless adding `adding` would overflow the
/// queue.
pub(super) async fn check_queue_depth(state: &AppState, adding: u64) -> Result<u64, ApiError> {
    let depth = state.storage.queued_count().await?;
    if depth + adding > state.limits.max_queue_depth {
        return Err(ApiError::QueueFull {
            depth,
            retry_after_secs: 5,
        });
    }
    Ok(depth)
}

fn wait_seconds(state: &AppState, wait: Option<f64>) -> Result<Option<Duration>, ApiError> {
    match wait {
        None => Ok(None),
        Some(w) if !(w.is_finite() && w >= 0.0) => Err(RequestError {
            field: "wait".into(),
            detail: "must be a non-negative number of seconds".into(),
        }
        .into()),
        Some(w) => Ok(Some(Duration::from_secs_f64(w).min(state.limits.max_wait))),
    }
}

/// The task once it ends, or as it is when `wait` runs out or the server
/// starts shutting down.
async fn wait_for_end(
    state: &AppState,
    record: TaskRecord,
    wait: Duration,
) -> Result<Task, ApiError> {
    if record.status.is_terminal() {
        return Ok(record.to_api());
    }
    let subscription = state.notifier.subscribe(&record.id);
    let mut shutdown = state.shutdown.clone();
    let ended = subscription.until(|| async {
        let current = state.storage.task(&record.id).await?;
        Ok::<_, ApiError>(current.filter(|r| r.status.is_terminal()))
    });
    tokio::select! {
        ended = tokio::time::timeout(wait, ended) => {
            if let Ok(ended) = ended {
                return Ok(ended?.to_api());
            }
        }
        _ = shutdown.wait_for(|s| *s) => {}
    }
    let current = state.storage.task(&record.id).await?;
    Ok(current.unwrap_or(record).to_api())
}

/// One task.
#[utoipa::path(get, path = "/v1/tasks/{id}", responses((status = 200, body = Task), (status = 404, body = sandrun_api::Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    let record = state
        .storage
        .task(&id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(record.to_api()))
}

pub(super) fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no task {id}"))
}

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

/// Tasks, newest first, filtered and paginated by cursor.
#[utoipa::path(get, path = "/v1/tasks", params(TaskQuery), responses((status = 200, body = TaskPage), (status = 400, body = sandrun_api::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<TaskQuery>,
) -> Result<Json<TaskPage>, ApiError> {
    let bad = |field: &str, detail: String| {
        ApiError::from(RequestError {
            field: field.into(),
            detail,
        })
    };
    let time = |field: &str, value: &Option<String>| -> Result<Option<i64>, ApiError> {
        value
            .as_deref()
            .map(|v| {
                humantime::parse_rfc3339_weak(v)
                    .map(|t| {
                        t.duration_since(std::time::UNIX_EPOCH)
                            .map(|d| d.as_millis() as i64)
                            .unwrap_or(0)
                    })
                    .map_err(|e| bad(field, format!("expected an RFC 3339 time: {e}")))
            })
            .transpose()
    };
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(bad("limit", format!("must be from 1 to {MAX_PAGE}")));
    }
    let label = match &query.label {
        None => None,
        Some(pair) => {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| bad("label", "expected key=value".into()))?;
            Some((k.to_owned(), v.to_owned()))
        }
    };
    let filter = TaskFilter {
        status: query.status,
        runtime: query.runtime,
        label,
        created_after: time("created_after", &query.created_after)?,
        created_before: time("created_before", &query.created_before)?,
        before_id: query.cursor.clone(),
        limit,
    };
    let records = state.storage.list_tasks(&filter).await?;
    let next_cursor = (records.len() == limit as usize)
        .then(|| records.last().map(|r| r.id.clone()))
        .flatten();
    Ok(Json(TaskPage {
        tasks: records.iter().map(TaskRecord::to_api).collect(),
        next_cursor,
    }))
}

/// Cancel a task: a queued one at once, a running one within moments.
#[utoipa::path(post, path = "/v1/tasks/{id}/cancel",
    responses((status = 200, body = Task, description = "cancelled"), (status = 202, body = Task, description = "running; being stopped"),
              (status = 404, body = sandrun_api::Problem), (status = 409, body = sandrun_api::Problem, description = "already ended")))]
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    match state.storage.cancel(&id).await? {
        Cancelled::Now(record) => {
            state.notifier.notify(&id);
            Ok(respond(record.to_api()))
        }
        Cancelled::Requested(record) => {
            state.scheduler.cancel_local(&id);
            Ok(respond(record.to_api()))
        }
        Cancelled::AlreadyEnded(record) => Err(ApiError::Conflict(format!(
            "task {id} already ended ({})",
            record.status.name()
        ))),
        Cancelled::NotFound => Err(not_found(&id)),
    }
}

/// Delete an ended task and its output.
#[utoipa::path(delete, path = "/v1/tasks/{id}",
    responses((status = 204), (status = 404, body = sandrun_api::Problem), (status = 409, body = sandrun_api::Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    match state.storage.delete(&id).await? {
        Deleted::Yes => Ok(StatusCode::NO_CONTENT),
        Deleted::NotEnded => Err(ApiError::Conflict(format!(
            "task {id} has not ended; cancel it first"
        ))),
        Deleted::NotFound => Err(not_found(&id)),
    }
}
