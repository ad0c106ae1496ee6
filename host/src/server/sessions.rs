//! `/v1/sessions`: open, read, list, fork, restart and end sessions, and
//! submit and list their runs. A run is a task: it is read, followed and
//! cancelled under `/v1/tasks/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use sandrun_api::{
    RunRequest, Session, SessionPage, SessionQuery, SessionRequest, Task, TaskPage, TaskQuery,
};

use super::extract::{Json, Path, Query};
use super::tasks::{WaitQuery, respond, wait_seconds};
use super::{ApiError, AppState, paging, tasks};
use crate::storage::{SessionChange, SessionFilter, SessionRecord};

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no session {id}"))
}

/// The answer to a change of session `id`.
fn changed(id: &str, change: SessionChange) -> Result<Json<Session>, ApiError> {
    match change {
        SessionChange::Done(record) => Ok(Json(record.to_api())),
        SessionChange::Ended(record) => Err(ApiError::Gone(record.gone())),
        SessionChange::NotFound => Err(not_found(id)),
    }
}

/// Open a session: Python whose variables, imports and `/tmp` files
/// outlive each run.
#[utoipa::path(post, path = "/v1/sessions", request_body = SessionRequest,
    responses((status = 201, body = Session, description = "opened"),
              (status = 429, description = "the server's most sessions are open")))]
pub async fn create(
    State(state): State<AppState>,
    Json(request): Json<SessionRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let record = state.submitter.open_session(request).await?;
    Ok((StatusCode::CREATED, Json(record.to_api())))
}

/// One session.
#[utoipa::path(get, path = "/v1/sessions/{id}",
    responses((status = 200, body = Session), (status = 404, description = "no such session")))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Session>, ApiError> {
    let record = state.storage.sessions().session(&id).await?;
    Ok(Json(record.ok_or_else(|| not_found(&id))?.to_api()))
}

/// Sessions, newest first, filtered and paginated by cursor.
#[utoipa::path(get, path = "/v1/sessions", params(SessionQuery),
    responses((status = 200, body = SessionPage)))]
pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<SessionQuery>,
) -> Result<Json<SessionPage>, ApiError> {
    let filter = SessionFilter {
        status: query.status,
        label: paging::label(&query.label)?,
        before_id: query.cursor.clone(),
        limit: paging::limit(query.limit)?,
    };
    let records = state.storage.sessions().list_sessions(&filter).await?;
    Ok(Json(SessionPage {
        next_cursor: paging::next_cursor(&records, filter.limit, |r| &r.id),
        sessions: records.iter().map(SessionRecord::to_api).collect(),
    }))
}

/// Delete a session, open or ended, and its state; a queued run is
/// cancelled, a running one stopped. Its runs stay readable as tasks.
#[utoipa::path(delete, path = "/v1/sessions/{id}",
    responses((status = 200, body = Session, description = "deleted: the session as it was, ended"),
              (status = 404, description = "no such session")))]
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Session>, ApiError> {
    changed(&id, state.scheduler.delete_session(&id).await?)
}

/// A new session starting from a copy of this one's settings and state
/// (as its last ended run left it); the two share nothing from then on.
#[utoipa::path(post, path = "/v1/sessions/{id}/fork",
    responses((status = 201, body = Session, description = "the new session"),
              (status = 404, description = "no such session"),
              (status = 410, description = "it has ended"),
              (status = 429, description = "the server's most sessions are open")))]
pub async fn fork(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let forked = state.submitter.fork_session(&id).await?;
    Ok((StatusCode::CREATED, Json(forked.to_api())))
}

/// A fresh interpreter with the same settings: the state is forgotten, and
/// a run going on keeps nothing.
#[utoipa::path(post, path = "/v1/sessions/{id}/restart",
    responses((status = 200, body = Session, description = "restarted"),
              (status = 404, description = "no such session"),
              (status = 410, description = "it has ended")))]
pub async fn restart(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Session>, ApiError> {
    changed(&id, state.storage.sessions().restart_session(&id).await?)
}

/// Queue a run of the session's code; runs of one session run one at a
/// time, in the order they were submitted. The run is a task.
#[utoipa::path(post, path = "/v1/sessions/{id}/runs", request_body = RunRequest, params(WaitQuery),
    responses((status = 202, body = Task, description = "queued or running"),
              (status = 200, body = Task, description = "ended within the wait, or an idempotent repeat that ended"),
              (status = 404, description = "no such session"),
              (status = 409, description = "the idempotency key already names a different task"),
              (status = 410, description = "the session has ended"),
              (status = 429, description = "the queue is full, or too many requests are waiting with `?wait=`")))]
pub async fn run(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<WaitQuery>,
    Json(run): Json<RunRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let wait = wait_seconds(&state, query.wait)?;
    let record = state.submitter.submit_run(&id, run, wait).await?;
    Ok(respond(record.to_api()))
}

/// The session's runs, newest first, filtered and paginated as tasks are.
#[utoipa::path(get, path = "/v1/sessions/{id}/runs", params(TaskQuery),
    responses((status = 200, body = TaskPage), (status = 404, description = "no such session")))]
pub async fn runs(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<TaskQuery>,
) -> Result<Json<TaskPage>, ApiError> {
    let mut filter = tasks::filter(&query)?;
    if state.storage.sessions().session(&id).await?.is_none() {
        return Err(not_found(&id));
    }
    filter.session_id = Some(id);
    Ok(Json(tasks::page(&state, &filter).await?))
}
