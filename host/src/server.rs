//! The HTTP API: JSON under `/v1`, problems for every error, described by
//! the OpenAPI document at `/v1/openapi.json`; `/metrics`, behind the
//! same keys, unless it is served on a listener of its own; and the
//! dashboard at `/`, which reads the API like any client.
//!
//! The handlers parse, call the room that owns the stage (submission and
//! cancelling in the scheduler, reads in storage), and answer; serving and
//! stopping are the application's, in `startup`.

mod artifacts;
mod auth;
pub use auth::digest as auth_digest;
mod batches;
mod dashboard;
mod events;
mod extract;
mod health;
mod metrics;
mod modules;
mod nodes;
mod observe;
pub use observe::observed;
mod openapi;
mod overview;
mod paging;
mod problem;
mod sessions;
mod tasks;
mod utc_time;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio_util::sync::CancellationToken;

pub use events::EventStreams;
pub use overview::OverviewFeed;
pub use problem::ApiError;

use crate::sandbox::Sandbox;
use crate::scheduler::{Notifier, Scheduler, Submitter};
use crate::storage::Storage;

/// Request-level limits of the API.
#[derive(Debug, Clone)]
pub struct ApiLimits {
    /// Largest JSON body.
    pub max_body_bytes: usize,
    /// Largest module upload.
    pub max_module_bytes: usize,
    /// Longest `?wait=`.
    pub max_wait: Duration,
    /// Queued tasks beyond which submissions get 429.
    pub max_queue_depth: u64,
    /// `max_attempts` of a task that does not say.
    pub default_max_attempts: u32,
    /// Requests waiting (`?wait=`) at once.
    pub max_waits: usize,
    /// Event streams open at once, in all.
    pub max_event_streams: usize,
    /// Event streams open at once on one task.
    pub max_event_streams_per_task: usize,
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    pub sandbox: Arc<Sandbox>,
    pub scheduler: Arc<Scheduler>,
    pub submitter: Arc<Submitter>,
    pub notifier: Arc<Notifier>,
    pub event_streams: Arc<EventStreams>,
    /// The overview, read once for every stream that watches it.
    pub overview: Arc<OverviewFeed>,
    pub limits: ApiLimits,
    /// sha256 digests of the accepted API keys; empty means no auth.
    pub api_keys: Arc<Vec<[u8; 32]>>,
    /// Cancelled when the server begins to shut down, so that long
    /// requests (SSE, waits) end and shutdown is not held up by them.
    pub shutdown: CancellationToken,
    /// Whether `/metrics` is served on the API's listener (else on the
    /// one `metrics_router` serves).
    pub metrics_on_api: bool,
}

impl std::fmt::Debug for dyn Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Storage")
    }
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/tasks", post(tasks::submit).get(tasks::list))
        .route("/tasks/{id}", get(tasks::get).delete(tasks::delete))
        .route("/tasks/{id}/cancel", post(tasks::cancel))
        .route("/tasks/{id}/request", get(tasks::request))
        .route("/tasks/{id}/events", get(events::stream))
        .route("/tasks/{id}/artifacts", get(artifacts::list))
        .route("/tasks/{id}/artifacts/{*path}", get(artifacts::get))
        .route("/batches", post(batches::submit).get(batches::list))
        .route("/batches/{id}", get(batches::get))
        .route("/sessions", post(sessions::create).get(sessions::list))
        .route(
            "/sessions/{id}",
            get(sessions::get).delete(sessions::delete),
        )
        .route(
            "/sessions/{id}/runs",
            post(sessions::run).get(sessions::runs),
        )
        .route("/sessions/{id}/fork", post(sessions::fork))
        .route("/sessions/{id}/restart", post(sessions::restart))
        .route(
            "/modules",
            post(modules::upload)
                .layer(DefaultBodyLimit::max(state.limits.max_module_bytes))
                .get(modules::list),
        )
        .route("/modules/{hash}", get(modules::get))
        .route("/runtimes", get(health::runtimes))
        .route("/nodes", get(nodes::list))
        .route("/overview", get(overview::get))
        .route("/overview/events", get(overview::stream))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_key,
        ))
        .route("/openapi.json", get(openapi::document));
    let mut app = Router::new()
        .nest("/v1", api)
        .route("/", get(dashboard::page))
        .route("/assets/{*name}", get(dashboard::asset))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    if state.metrics_on_api {
        let keyed = axum::middleware::from_fn_with_state(state.clone(), auth::require_key);
        app = app.route("/metrics", get(metrics::scrape).route_layer(keyed));
    }
    let app = app
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes));
    observed(app, state.scheduler.metrics()).with_state(state)
}

/// `/metrics` alone, open, for a listener of its own (`--metrics-bind`).
pub fn metrics_router(state: AppState) -> Router {
    let app = Router::new()
        .route("/metrics", get(metrics::scrape))
        .fallback(not_found);
    observed(app, state.scheduler.metrics()).with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}
