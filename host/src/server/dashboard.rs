//! The dashboard at `/`: a page and its scripts, built into the binary
//! (`host/dashboard/`), plain ES modules a browser runs as they are, so
//! there is no build step and nothing is fetched from elsewhere. The
//! assets hold no data: everything the page shows it reads from `/v1` with
//! the key the user gives it, so they are served without one.

use std::sync::LazyLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::ApiError;
use super::extract::Path;

/// What a dashboard page may load and run: only its own scripts and
/// styles, images from itself or inline data, and frames with no origin
/// (a task's HTML is shown in a sandboxed one).
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                      img-src 'self' data: blob:; connect-src 'self'; frame-src 'self'; \
                      base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

struct Asset {
    name: &'static str,
    media_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $media_type:expr) => {
        Asset {
            name: $name,
            media_type: $media_type,
            body: include_bytes!(concat!("../../dashboard/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("actions.js", JS),
    asset!("format.js", JS),
    asset!("highlight.js", JS),
    asset!("chart.js", JS),
    asset!("pages/overview.js", JS),
    asset!("pages/tasks.js", JS),
    asset!("pages/task.js", JS),
    asset!("pages/run.js", JS),
    asset!("pages/sessions.js", JS),
    asset!("pages/session.js", JS),
    asset!("pages/batches.js", JS),
    asset!("pages/modules.js", JS),
    asset!("pages/nodes.js", JS),
];

/// Each asset's ETag, from its content.
static TAGS: LazyLock<Vec<HeaderValue>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let digest = Sha256::digest(a.body);
            HeaderValue::try_from(format!("\"{}\"", hex::encode(&digest[..12])))
                .expect("hex is a valid header")
        })
        .collect()
});

/// `GET /`: the dashboard's page.
pub async fn page(headers: HeaderMap) -> Response {
    serve(0, &headers)
}

/// `GET /assets/{*name}`: its scripts, style and icon.
pub async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    let index = ASSETS
        .iter()
        .position(|a| a.name == name && a.name != "index.html")
        .ok_or_else(|| ApiError::NotFound(format!("no dashboard asset {name}")))?;
    Ok(serve(index, &headers))
}

fn serve(index: usize, request: &HeaderMap) -> Response {
    let asset = &ASSETS[index];
    let tag = &TAGS[index];
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .is_some_and(|given| given.as_bytes() == tag.as_bytes());
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.media_type),
        ),
        (header::ETAG, tag.clone()),
        // Asked again each time, answered 304 while unchanged.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
    ];
    if fresh {
        (StatusCode::NOT_MODIFIED, headers).into_response()
    } else {
        (headers, asset.body).into_response()
    }
}
