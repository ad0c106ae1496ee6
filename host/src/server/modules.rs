//! Uploaded modules: content-addressed by sha256, optionally named
//! `name@version` so tasks can ask for `wordcount@1.2.0` or just the
//! highest `wordcount`.

use axum::extract::State;
use axum::http::StatusCode;
use sandrun_api::{ModuleInfo, ModuleList};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use super::extract::{Body, Json, Path, Query};
use super::{ApiError, AppState};
use crate::storage::NameOutcome;
use crate::task_request::{is_name, is_sha256_hex};

const MAX_MODULE_NAME: usize = 64;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NameQuery {
    /// Name the module; needs `version`.
    #[param(schema_with = sandrun_api::constraints::module_name)]
    pub name: Option<String>,
    /// Semantic version; needs `name`.
    #[param(schema_with = sandrun_api::constraints::module_version)]
    pub version: Option<String>,
}

/// Upload a wasm32-wasip1 module (the request body is its bytes). It is
/// compiled and linked now, so a module that is invalid or imports what the
/// sandbox lacks is refused here, not when a task runs.
#[utoipa::path(post, path = "/v1/modules", params(NameQuery), 
    request_body(description = "the module's bytes, whatever the content type",
                 content((String = "application/wasm"), (String = "application/octet-stream"))),
    responses((status = 201, body = ModuleInfo, description = "stored"), (status = 200, body = ModuleInfo, description = "already stored"),
              (status = 409, description = "name@version taken"), (status = 413, description = "larger than `--max-module-bytes`")))]
pub async fn upload(
    State(state): State<AppState>,
    Query(naming): Query<NameQuery>,
    Body(body): Body,
) -> Result<(StatusCode, Json<ModuleInfo>), ApiError> {
    let name = checked_name(&naming)?;
    let hash = hex::encode(Sha256::digest(&body));
    let status = if state.storage.registry().module_info(&hash).await?.is_some() {
        StatusCode::OK
    } else {
        let sandbox = state.sandbox.clone();
        let bytes = body.clone();
        tokio::task::spawn_blocking(move || sandbox.load_module(&bytes))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(|e| ApiError::invalid("body", e.to_string()))?;
        state.storage.registry().put_module(&hash, &body).await?;
        StatusCode::CREATED
    };
    if let Some((name, version)) = name
        && let NameOutcome::Taken { hash: holder } = state
            .storage
            .registry()
            .name_module(&name, &version, &hash)
            .await?
    {
        return Err(ApiError::Conflict(format!(
            "{name}@{version} already names module {holder}"
        )));
    }
    Ok((status, Json(info(&state, &hash).await?)))
}

/// The (name, version) asked for, both checked.
fn checked_name(naming: &NameQuery) -> Result<Option<(String, String)>, ApiError> {
    match (&naming.name, &naming.version) {
        (None, None) => Ok(None),
        (Some(name), Some(version)) => {
            if !is_name(name, MAX_MODULE_NAME) || is_sha256_hex(name) {
                return Err(ApiError::invalid(
                    "name",
                    format!("1 to {MAX_MODULE_NAME} of a-z, A-Z, 0-9, `.`, `_`, `-`"),
                ));
            }
            let version = semver::Version::parse(version).map_err(|e| {
                ApiError::invalid("version", format!("not a semantic version: {e}"))
            })?;
            Ok(Some((name.clone(), version.to_string())))
        }
        (Some(_), None) => Err(ApiError::invalid(
            "version",
            "a named module needs a version",
        )),
        (None, Some(_)) => Err(ApiError::invalid("name", "a version needs a name")),
    }
}

async fn info(state: &AppState, hash: &str) -> Result<ModuleInfo, ApiError> {
    let mut info = state
        .storage
        .registry()
        .module_info(hash)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no module {hash}")))?;
    info.names = state.storage.registry().module_names(hash).await?;
    Ok(info)
}

/// Every uploaded module.
#[utoipa::path(get, path = "/v1/modules", responses((status = 200, body = ModuleList)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<ModuleList>, ApiError> {
    let mut modules = state.storage.registry().list_modules().await?;
    for module in &mut modules {
        module.names = state.storage.registry().module_names(&module.hash).await?;
    }
    Ok(Json(ModuleList { modules }))
}

/// One uploaded module's details.
#[utoipa::path(get, path = "/v1/modules/{hash}",
    responses((status = 200, body = ModuleInfo), (status = 404, description = "no such module")))]
pub async fn get(
    State(state): State<AppState>,
    Path(hash): Path<String>,
) -> Result<Json<ModuleInfo>, ApiError> {
    Ok(Json(info(&state, &hash).await?))
}
