//! `/v1/tasks/{id}/artifacts`: the files a task's run left under
//! `/output`, listed and served. A session's run is a task, so its
//! artifacts are here under the run's id.
//!
//! A file is streamed from the database one stored chunk at a time, so a
//! large one costs the server a chunk's memory, not the file's. A single
//! byte range (`Range: bytes=...`) is served as `206 Partial Content`;
//! several ranges in one request are answered with the whole file, as
//! RFC 9110 lets a server do.

use std::ops::RangeInclusive;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sandrun_api::{ArtifactInfo, ArtifactList};
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{Json, Path};
use super::tasks::not_found;
use super::{ApiError, AppState};
use crate::storage::{CHUNK_BYTES, Storage};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ArtifactPath {
    /// The task's id (for a session's run, the run's).
    pub id: String,
    /// The artifact's path under `/output`, e.g. `charts/line.png`.
    pub path: String,
}

/// The files a task's run left under `/output`, by path. A task that has
/// not ended yet has none.
#[utoipa::path(get, path = "/v1/tasks/{id}/artifacts",
    params(("id" = String, Path, description = "The task's id (for a session's run, the run's).")),
    responses((status = 200, body = ArtifactList), (status = 404, description = "no such task")))]
pub async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ArtifactList>, ApiError> {
    if state.storage.task(&id).await?.is_none() {
        return Err(not_found(&id));
    }
    let artifacts = state.storage.artifacts().artifacts(&id).await?;
    Ok(Json(ArtifactList { artifacts }))
}

/// One artifact's bytes, with its media type, length and sha256 (as the
/// `ETag`); a single byte range when one is asked for.
#[utoipa::path(get, path = "/v1/tasks/{id}/artifacts/{path}", params(ArtifactPath,
        ("range" = Option<String>, Header, description = "One byte range, e.g. `bytes=0-1023`, `bytes=1024-` or `bytes=-512`.")),
    responses((status = 200, description = "the file, with its media type",
                 content_type = "application/octet-stream", body = Vec<u8>),
              (status = 206, description = "the range asked for, with `Content-Range`",
                 content_type = "application/octet-stream", body = Vec<u8>),
              (status = 404, description = "no such task, or no such artifact of it"),
              (status = 416, description = "the range is malformed or lies past the file's end")))]
pub async fn get(
    State(state): State<AppState>,
    Path(ArtifactPath { id, path }): Path<ArtifactPath>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let info = state
        .storage
        .artifacts()
        .artifact(&id, &path)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("task {id} has no artifact {path}")))?;
    let range = match headers.get(header::RANGE) {
        None => None,
        Some(value) => byte_range(value, info.size)?,
    };
    let (status, bytes) = match range {
        Some(range) => (StatusCode::PARTIAL_CONTENT, range),
        None if info.size == 0 => return Ok(respond(&info, StatusCode::OK, 0, Body::empty())),
        None => (StatusCode::OK, 0..=info.size - 1),
    };
    let length = bytes.end() - bytes.start() + 1;
    let content_range = format!("bytes {}-{}/{}", bytes.start(), bytes.end(), info.size);
    let body = Body::from_stream(chunks(state.storage.clone(), id, info.path.clone(), bytes));
    let mut response = respond(&info, status, length, body);
    if status == StatusCode::PARTIAL_CONTENT {
        let value = HeaderValue::from_str(&content_range).expect("a range is ASCII");
        response.headers_mut().insert(header::CONTENT_RANGE, value);
    }
    Ok(response)
}

fn respond(info: &ArtifactInfo, status: StatusCode, length: u64, body: Body) -> Response {
    let media_type = HeaderValue::from_str(&info.media_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let etag = HeaderValue::from_str(&format!("\"{}\"", info.sha256)).expect("hex is ASCII");
    (
        status,
        [
            (header::CONTENT_TYPE, media_type),
            (header::CONTENT_LENGTH, HeaderValue::from(length)),
            (header::ACCEPT_RANGES, HeaderValue::from_static("bytes")),
            (header::ETAG, etag),
        ],
        body,
    )
        .into_response()
}

/// The one range a `Range` header asks for in a file of `size` bytes:
/// `None` to serve the whole file (another unit, or several ranges), `Err`
/// for a range that is malformed or starts past the end.
fn byte_range(value: &HeaderValue, size: u64) -> Result<Option<RangeInclusive<u64>>, ApiError> {
    let unsatisfiable = || ApiError::RangeNotSatisfiable { size };
    let text = value.to_str().map_err(|_| unsatisfiable())?;
    if !text.trim_start().starts_with("bytes=") {
        return Ok(None);
    }
    let ranges = http_range_header::parse_range_header(text)
        .and_then(|parsed| parsed.validate(size))
        .map_err(|_| unsatisfiable())?;
    match ranges.as_slice() {
        [one] => Ok(Some(one.clone())),
        _ => Ok(None),
    }
}

/// The bytes `range` of artifact `path`, read chunk by chunk as the client
/// takes them.
fn chunks(
    storage: Arc<dyn Storage>,
    id: String,
    path: String,
    range: RangeInclusive<u64>,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    let chunk = CHUNK_BYTES as u64;
    let (first, last) = (*range.start(), *range.end());
    futures::stream::try_unfold(first, move |at| {
        let (storage, id, path) = (storage.clone(), id.clone(), path.clone());
        async move {
            if at > last {
                return Ok(None);
            }
            let n = at / chunk;
            let bytes = storage
                .artifacts()
                .artifact_chunk(&id, &path, n)
                .await
                .map_err(std::io::Error::other)?
                .ok_or_else(|| std::io::Error::other(format!("artifact {path} was deleted")))?;
            let start = (at - n * chunk) as usize;
            let end = ((last - n * chunk + 1) as usize).min(bytes.len());
            if start >= end {
                return Err(std::io::Error::other(format!("artifact {path} is short")));
            }
            let next = n * chunk + end as u64;
            Ok(Some((Bytes::from(bytes).slice(start..end), next)))
        }
    })
}
