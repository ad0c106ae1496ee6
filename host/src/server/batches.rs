use axum::extract::State;
use axum::http::StatusCode;
use sandrun_api::{BatchRequest, BatchResponse};

use super::extract::Json;
use super::tasks::{check_queue_depth, prepare};
use super::{ApiError, AppState};
use crate::storage::Inserted;
use crate::task_request::RequestError;

/// Most tasks in one batch.
pub const MAX_BATCH: usize = 1000;

/// Queue up to 1,000 tasks in one transaction: all of them, or none.
#[utoipa::path(post, path = "/v1/batches", request_body = BatchRequest,
    responses((status = 202, body = BatchResponse), (status = 400, body = sandrun_api::Problem),
              (status = 409, body = sandrun_api::Problem), (status = 429, body = sandrun_api::Problem)))]
pub async fn submit(
    State(state): State<AppState>,
    Json(batch): Json<BatchRequest>,
) -> Result<(StatusCode, Json<BatchResponse>), ApiError> {
    if batch.tasks.is_empty() || batch.tasks.len() > MAX_BATCH {
        return Err(RequestError {
            field: "tasks".into(),
            detail: format!("a batch holds 1 to {MAX_BATCH} tasks"),
        }
        .into());
    }
    let mut rows = Vec::with_capacity(batch.tasks.len());
    for (i, request) in batch.tasks.into_iter().enumerate() {
        let row = prepare(&state, request).await.map_err(|e| match e {
            ApiError::Validation(RequestError { field, detail }) => {
                ApiError::Validation(RequestError {
                    field: format!("tasks[{i}].{field}"),
                    detail,
                })
            }
            other => other,
        })?;
        rows.push(row);
    }
    check_queue_depth(&state, rows.len() as u64).await?;
    let inserted = state.storage.insert_tasks(rows).await?;
    state.scheduler.wake();
    let tasks = inserted
        .into_iter()
        .map(|i| match i {
            Inserted::Created(r) | Inserted::Existing(r) => r.to_api(),
        })
        .collect();
    Ok((StatusCode::ACCEPTED, Json(BatchResponse { tasks })))
}
