use axum::extract::State;
use axum::http::StatusCode;
use sandrun_api::{BatchRequest, BatchResponse};

use super::extract::Json;
use super::{ApiError, AppState};
use crate::storage::TaskRecord;

/// Queue up to 1,000 tasks in one transaction: all of them, or none.
#[utoipa::path(post, path = "/v1/batches", request_body = BatchRequest,
    responses((status = 202, body = BatchResponse, description = "all queued"),
              (status = 409, description = "an idempotency key already names a different task"),
              (status = 429, description = "the queue has no room for the batch")))]
pub async fn submit(
    State(state): State<AppState>,
    Json(batch): Json<BatchRequest>,
) -> Result<(StatusCode, Json<BatchResponse>), ApiError> {
    let records = state.submitter.submit_batch(batch.tasks).await?;
    let tasks = records.iter().map(TaskRecord::to_api).collect();
    Ok((StatusCode::ACCEPTED, Json(BatchResponse { tasks })))
}
