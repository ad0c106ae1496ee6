//! `/v1/batches`: many tasks queued in one transaction, and each batch
//! counted afterwards from its tasks (whose own listing is
//! `/v1/tasks?batch=ID`).

use axum::extract::State;
use axum::http::StatusCode;
use sandrun_api::{Batch, BatchPage, BatchQuery, BatchRequest, BatchResponse};

use super::extract::{Json, Path, Query};
use super::{ApiError, AppState, paging};
use crate::storage::{BatchRecord, TaskRecord, rfc3339};

/// Queue up to 1,000 tasks in one transaction: all of them, or none.
#[utoipa::path(post, path = "/v1/batches", request_body = BatchRequest,
    responses((status = 202, body = BatchResponse, description = "all queued"),
              (status = 409, description = "an idempotency key already names a different task"),
              (status = 429, description = "the queue has no room for the batch")))]
pub async fn submit(
    State(state): State<AppState>,
    Json(batch): Json<BatchRequest>,
) -> Result<(StatusCode, Json<BatchResponse>), ApiError> {
    let (id, records) = state.submitter.submit_batch(batch.tasks).await?;
    let tasks = records.iter().map(TaskRecord::to_api).collect();
    Ok((StatusCode::ACCEPTED, Json(BatchResponse { id, tasks })))
}

/// Batches, newest first, with how many of their tasks are in each status.
#[utoipa::path(get, path = "/v1/batches", params(BatchQuery),
    responses((status = 200, body = BatchPage)))]
pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<BatchQuery>,
) -> Result<Json<BatchPage>, ApiError> {
    let limit = paging::limit(query.limit)?;
    let records = state
        .storage
        .batches(query.cursor.as_deref(), limit)
        .await?;
    Ok(Json(BatchPage {
        next_cursor: paging::next_cursor(&records, limit, |r| &r.id),
        batches: records.iter().map(to_api).collect(),
    }))
}

/// One batch.
#[utoipa::path(get, path = "/v1/batches/{id}",
    responses((status = 200, body = Batch), (status = 404, description = "no such batch, or none of its tasks is kept")))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Batch>, ApiError> {
    let record = state
        .storage
        .batch(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no batch {id}")))?;
    Ok(Json(to_api(&record)))
}

fn to_api(record: &BatchRecord) -> Batch {
    Batch {
        id: record.id.clone(),
        created_at: rfc3339(record.created_at),
        tasks: record.tasks,
        counts: record.counts,
    }
}
