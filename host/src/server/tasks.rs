use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use sandrun_api::{Task, TaskPage, TaskQuery, TaskRequest};
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{Json, Path, Query};
use super::{ApiError, AppState, paging, utc_time};
use crate::storage::{Cancelled, Deleted, TaskFilter, TaskRecord};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WaitQuery {
    /// Hold the request up to this many seconds for the task to end; a
    /// longer wait is cut to the server's `--max-wait` (60 s by default).
    #[param(minimum = 0)]
    pub wait: Option<f64>,
}

/// Queue one task.
#[utoipa::path(post, path = "/v1/tasks", request_body = TaskRequest, params(WaitQuery),
    responses((status = 202, body = Task, description = "queued or running"),
              (status = 200, body = Task, description = "ended within the wait, or an idempotent repeat that ended"),
              (status = 409, description = "the idempotency key already names a different task"),
              (status = 429, description = "the queue is full, or too many requests are waiting with `?wait=`")))]
pub async fn submit(
    State(state): State<AppState>,
    Query(query): Query<WaitQuery>,
    Json(request): Json<TaskRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let wait = wait_seconds(&state, query.wait)?;
    let record = state.submitter.submit(request, wait).await?;
    Ok(respond(record.to_api()))
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

pub(super) fn wait_seconds(
    state: &AppState,
    wait: Option<f64>,
) -> Result<Option<Duration>, ApiError> {
    match wait {
        None => Ok(None),
        Some(w) if !(w.is_finite() && w >= 0.0) => Err(ApiError::invalid(
            "wait",
            "must be a non-negative number of seconds",
        )),
        // Capped before converting: a `Duration` cannot hold every float.
        Some(w) => Ok(Some(Duration::from_secs_f64(
            w.min(state.limits.max_wait.as_secs_f64()),
        ))),
    }
}

/// One task.
#[utoipa::path(get, path = "/v1/tasks/{id}",
    responses((status = 200, body = Task), (status = 404, description = "no such task")))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(record(&state, &id).await?.to_api()))
}

/// The request a task was submitted with, as the server checked it: what
/// re-submitting it would send.
#[utoipa::path(get, path = "/v1/tasks/{id}/request",
    responses((status = 200, body = TaskRequest), (status = 404, description = "no such task")))]
pub async fn request(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<TaskRequest>, ApiError> {
    Ok(Json(record(&state, &id).await?.request))
}

/// Task `id`'s row, or 404.
async fn record(state: &AppState, id: &str) -> Result<TaskRecord, ApiError> {
    state.storage.task(id).await?.ok_or_else(|| not_found(id))
}

pub(super) fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no task {id}"))
}

/// Tasks, newest first, filtered and paginated by cursor.
#[utoipa::path(get, path = "/v1/tasks", params(TaskQuery), responses((status = 200, body = TaskPage)))]
pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<TaskQuery>,
) -> Result<Json<TaskPage>, ApiError> {
    let filter = filter(&query)?;
    Ok(Json(page(&state, &filter).await?))
}

/// The filter `query` asks for.
pub(super) fn filter(query: &TaskQuery) -> Result<TaskFilter, ApiError> {
    let time = |field: &str, value: &Option<String>| -> Result<Option<i64>, ApiError> {
        value
            .as_deref()
            .map(|v| {
                utc_time::parse_millis(v).ok_or_else(|| {
                    ApiError::invalid(
                        field,
                        "expected an RFC 3339 time in UTC from 1970 on, e.g. 2026-01-31T12:00:00Z",
                    )
                })
            })
            .transpose()
    };
    Ok(TaskFilter {
        status: query.status,
        runtime: query.runtime,
        label: paging::label(&query.label)?,
        session_id: None,
        batch_id: query.batch.clone(),
        created_after: time("created_after", &query.created_after)?,
        created_before: time("created_before", &query.created_before)?,
        before_id: query.cursor.clone(),
        limit: paging::limit(query.limit)?,
    })
}

/// One page of the tasks `filter` picks.
pub(super) async fn page(state: &AppState, filter: &TaskFilter) -> Result<TaskPage, ApiError> {
    let records = state.storage.list_tasks(filter).await?;
    Ok(TaskPage {
        next_cursor: paging::next_cursor(&records, filter.limit, |r| &r.id),
        tasks: records.iter().map(TaskRecord::to_api).collect(),
    })
}

/// Cancel a task: a queued one at once, a running one within moments.
#[utoipa::path(post, path = "/v1/tasks/{id}/cancel",
    responses((status = 200, body = Task, description = "cancelled"), (status = 202, body = Task, description = "running; being stopped"),
              (status = 404, description = "no such task"), (status = 409, description = "already ended")))]
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    match state.scheduler.cancel(&id).await? {
        Cancelled::Now(record) | Cancelled::Requested(record) => Ok(respond(record.to_api())),
        Cancelled::AlreadyEnded(record) => Err(ApiError::Conflict(format!(
            "task {id} already ended ({})",
            record.status.name()
        ))),
        Cancelled::NotFound => Err(not_found(&id)),
    }
}

/// Delete an ended task and its output.
#[utoipa::path(delete, path = "/v1/tasks/{id}",
    responses((status = 204, description = "deleted"), (status = 404, description = "no such task"),
              (status = 409, description = "not ended yet")))]
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
