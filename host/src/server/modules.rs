use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use sandrun_api::{ModuleInfo, ModuleList};
use sha2::{Digest, Sha256};

use super::extract::{Json, Path};
use super::{ApiError, AppState};
use crate::task_request::RequestError;

/// Upload a wasm32-wasip1 module (the request body is its bytes). It is
/// compiled and linked now, so a module that is invalid or imports what the
/// sandbox lacks is refused here, not when a task runs.
#[utoipa::path(post, path = "/v1/modules", request_body(content = Vec<u8>, content_type = "application/wasm"),
    responses((status = 201, body = ModuleInfo, description = "stored"), (status = 200, body = ModuleInfo, description = "already stored"),
              (status = 400, body = sandrun_api::Problem), (status = 413, body = sandrun_api::Problem)))]
pub async fn upload(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<ModuleInfo>), ApiError> {
    let hash = hex::encode(Sha256::digest(&body));
    if let Some(info) = state.storage.module_info(&hash).await? {
        return Ok((StatusCode::OK, Json(info)));
    }
    let sandbox = state.sandbox.clone();
    let bytes = body.clone();
    tokio::task::spawn_blocking(move || sandbox.load_module(&bytes))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| RequestError {
            field: "body".into(),
            detail: e.to_string(),
        })?;
    let info = state.storage.put_module(&hash, &body).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

/// Every uploaded module.
#[utoipa::path(get, path = "/v1/modules", responses((status = 200, body = ModuleList)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<ModuleList>, ApiError> {
    Ok(Json(ModuleList {
        modules: state.storage.list_modules().await?,
    }))
}

/// One uploaded module's details.
#[utoipa::path(get, path = "/v1/modules/{hash}", responses((status = 200, body = ModuleInfo), (status = 404, body = sandrun_api::Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Path(hash): Path<String>,
) -> Result<Json<ModuleInfo>, ApiError> {
    let info = state.storage.module_info(&hash).await?;
    info.map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no module {hash}")))
}
