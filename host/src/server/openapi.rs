//! The OpenAPI document at `/v1/openapi.json`: derived from the handlers'
//! `#[utoipa::path]`s and the `api` types, then completed here so that it
//! says everything the server answers.
//!
//! A handler names the statuses only it answers (404, 409, 429...). What
//! any operation can answer is added to every one of them here, so a new
//! operation cannot leave it out: 400 when it takes parameters or a body,
//! 408 and 413 with a body, 415 with a JSON one, 503 where the database is
//! reached, 500 everywhere, and on a server with API keys the bearer
//! scheme and 401. Every error status gets the `application/problem+json`
//! body and names the problem types behind it (from `problem.rs`), every
//! response the `x-request-id` header, and an event stream is described
//! event by event as it is sent. The limits' maxima are those of the
//! server answering, which may be configured, and a task request is one
//! object per runtime, each with the source field it needs. A session's
//! runs take the limits a task does but `memory_bytes`, the session's own.
//! `/metrics` is in the document only when the API's listener serves it.

mod answers;
mod schemas;

use axum::Json;
use axum::extract::State;
use sandrun_api::Problem;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;

use super::{
    AppState, artifacts, batches, events, health, metrics, modules, nodes, overview, sessions,
    tasks,
};
use answers::Answers;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sandrun",
        description = "Run untrusted Python and WebAssembly in wasmtime sandboxes."
    ),
    paths(
        tasks::submit,
        tasks::get,
        tasks::list,
        tasks::cancel,
        tasks::delete,
        tasks::request,
        events::stream,
        artifacts::list,
        artifacts::get,
        batches::submit,
        batches::list,
        batches::get,
        sessions::create,
        sessions::list,
        sessions::get,
        sessions::delete,
        sessions::fork,
        sessions::restart,
        sessions::run,
        sessions::runs,
        modules::upload,
        modules::list,
        modules::get,
        health::runtimes,
        nodes::list,
        overview::get,
        overview::stream,
        health::healthz,
        health::readyz,
        metrics::scrape,
    ),
    components(schemas(Problem)),
    modifiers(&Answers)
)]
struct ApiDoc;

/// The OpenAPI document, for this server's limits.
pub async fn document(State(state): State<AppState>) -> Json<Document> {
    let mut doc = ApiDoc::openapi();
    schemas::set_maxima(&mut doc, &state.sandbox.policy().maximum);
    schemas::split_by_runtime(&mut doc);
    schemas::close_blob(&mut doc);
    schemas::bound_sessions(
        &mut doc,
        &state.sandbox.policy().maximum,
        &state.submitter.session_policy(),
    );
    if !state.metrics_on_api {
        doc.paths.paths.remove(answers::METRICS);
    }
    if !state.api_keys.is_empty() {
        answers::require_bearer(&mut doc);
    }
    Json(doc)
}
