use axum::extract::State;
use axum::http::StatusCode;
use sandrun_api::{BatchRequest, BatchResponse};

use super::extract::Json;
use super::{ApiError, AppState};
use crate::storage::TaskRecord;

/// Queue up to 1,000 tasks in one transaction: all of them, or none.
#[utoipa::path(post, path = "/v1/batches", request_body = BatchRequest,
    responses((status = 202, body = BatchResponse), (status = 400, body = sandrun_api::Problem),
              (status = 409, body = sandrun_api::Problem), (status = 429, body = sandrun_api::Problem)))]
pub async fn submit(
    State(state): State<AppState>,
    Json(batch): Json<BatchRequest>,
) -> Result<(StatusCode, Json<BatchResponse>), ApiError> {
    let records = state.submitter.submit_batch(batch.tasks).await?;
    let tasks = records.iter().map(TaskRecord::to_api).collect();
    Ok((StatusCode::ACCEPTED, Json(BatchResponse { tasks })))
}
