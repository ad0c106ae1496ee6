//! `GET /metrics`: this node's metrics in Prometheus's text format, as
//! `crate::metrics` records them, with the levels (queue depth, tasks
//! running here, database connections) read at the scrape.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::{ApiError, AppState};
use crate::metrics::Sample;

/// The text format's media type, with its version.
const EXPOSITION: &str = "text/plain; version=0.0.4; charset=utf-8";

/// This node's metrics, each series labelled with its node id.
#[utoipa::path(
    get,
    path = "/metrics",
    responses((
        status = 200,
        description = "This node's metrics in Prometheus's text exposition format (version 0.0.4).",
        content_type = "text/plain",
        body = String
    ))
)]
pub async fn scrape(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let sample = Sample {
        queue: state.storage.queue_depth().await?,
        running: state.scheduler.running_here(),
        pool: state.storage.pool_use(),
    };
    let text = state.scheduler.metrics().render(sample);
    Ok(([(header::CONTENT_TYPE, EXPOSITION)], text))
}
