//! What every request passes through on its way in and out.
//!
//! Each request gets an id (`x-request-id`: the client's, or a new UUID),
//! carried in its trace span so that every log line of the request names
//! it, and echoed in the response so that a client can quote it. A handler
//! that panics despite everything answers a 500 problem, logged under that
//! id, instead of the connection being dropped with no answer.

use std::any::Any;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

use super::ApiError;

/// `router` with request ids, a trace span per request and panics turned
/// into problems; the layer added last is the outermost.
pub fn observed<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(CatchPanicLayer::custom(panicked))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
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
