//! What every request passes through on its way in and out.
//!
//! Each request gets an id (`x-request-id`: the client's, or a new UUID),
//! carried in its trace span so that every log line of the request names
//! it, and echoed in the response so that a client can quote it. A handler
//! that panics despite everything answers a 500 problem, logged under that
//! id, instead of the connection being dropped with no answer.
//!
//! Every answer is counted in the node's metrics by its route's template
//! (`/v1/tasks/{id}`, never the path asked for, so that ids make no new
//! series), method and status, and timed until its headers are sent.

use std::any::Any;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::MatchedPath;
use axum::http::{Method, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

use super::ApiError;
use crate::metrics::Metrics;

/// The `route` of a request that no route took.
const UNMATCHED: &str = "unmatched";

/// The methods counted by name; any other token would make a new series.
const METHODS: [Method; 9] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::HEAD,
    Method::OPTIONS,
    Method::TRACE,
    Method::CONNECT,
];

/// `router` with request ids, a trace span per request, panics turned into
/// problems and answers counted in `metrics`; the layer added last is the
/// outermost.
pub fn observed<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    metrics: &Metrics,
) -> Router<S> {
    let metrics = metrics.clone();
    router
        .layer(CatchPanicLayer::custom(panicked))
        .layer(axum::middleware::from_fn(move |request, next| {
            counted(metrics.clone(), request, next)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Answer `request`, and count the answer.
async fn counted(metrics: Metrics, request: Request<Body>, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_owned();
    let method = match METHODS.contains(request.method()) {
        true => request.method().as_str().to_owned(),
        false => "other".to_owned(),
    };
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    metrics.http_request(&method, &route, status, started.elapsed());
    response
}

fn span(request: &Request<Body>) -> Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!("request", id, method = %request.method(), uri = %request.uri())
}

/// The answer for a handler that panicked; the panic is logged in the
/// request's span, so with its id.
fn panicked(payload: Box<dyn Any + Send + 'static>) -> Response {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "a request handler panicked");
    ApiError::Internal(
        "the request failed unexpectedly; the server's log has it under this response's x-request-id"
            .into(),
    )
    .into_response()
}
