use axum::Json;
use utoipa::OpenApi;

use super::{batches, events, health, modules, nodes, tasks};

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
        events::stream,
        batches::submit,
        modules::upload,
        modules::list,
        modules::get,
        health::runtimes,
        nodes::list,
        health::healthz,
        health::readyz,
    )
)]
struct ApiDoc;

/// The OpenAPI document, derived from the handlers and the `api` types.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
