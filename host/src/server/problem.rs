//! The one mapping from everything that can go wrong in a request to an
//! RFC 9457 problem response, with a stable `type` per kind of problem.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sandrun_api::Problem;
use tower_http::timeout::TimeoutError;

use crate::scheduler::SubmitError;
use crate::storage::StorageError;
use crate::task_request::RequestError;

/// When a client refused for a full queue or too many requests at once
/// is told to retry.
pub const RETRY_AFTER_SECS: u64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Validation(RequestError),
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("the request body stalled: {0}")]
    BodyTimeout(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Gone(String),
    #[error("the range asked for is malformed or lies past the end of the {size} bytes")]
    RangeNotSatisfiable { size: u64 },
    #[error("the queue holds {depth} tasks, its configured maximum; retry later")]
    QueueFull { depth: u64, retry_after_secs: u64 },
    #[error("{detail}; retry later")]
    TooMany {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("a valid API key is required (Authorization: Bearer KEY)")]
    Unauthorized,
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// A kind of problem: its status and its stable `type`, `urn:sandrun:problem:SLUG`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Validation,
    Malformed,
    TooLarge,
    BodyTimeout,
    UnsupportedMediaType,
    NotFound,
    Conflict,
    Gone,
    RangeNotSatisfiable,
    QueueFull,
    TooMany,
    Unauthorized,
    Unavailable,
    Internal,
}

impl Kind {
    pub const ALL: [Kind; 14] = [
        Kind::Validation,
        Kind::Malformed,
        Kind::TooLarge,
        Kind::BodyTimeout,
        Kind::UnsupportedMediaType,
        Kind::NotFound,
        Kind::Conflict,
        Kind::Gone,
        Kind::RangeNotSatisfiable,
        Kind::QueueFull,
        Kind::TooMany,
        Kind::Unauthorized,
        Kind::Unavailable,
        Kind::Internal,
    ];

    fn parts(self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Kind::Validation => (StatusCode::BAD_REQUEST, "validation", "Invalid request"),
            Kind::Malformed => (StatusCode::BAD_REQUEST, "malformed", "Malformed request"),
            Kind::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Request too large",
            ),
            Kind::BodyTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "body-timeout",
                "Request body timed out",
            ),
            Kind::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            Kind::NotFound => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            Kind::Conflict => (StatusCode::CONFLICT, "conflict", "Conflict"),
            Kind::Gone => (StatusCode::GONE, "gone", "Gone"),
            Kind::RangeNotSatisfiable => (
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range-not-satisfiable",
                "Range not satisfiable",
            ),
            Kind::QueueFull => (StatusCode::TOO_MANY_REQUESTS, "queue-full", "Queue full"),
            Kind::TooMany => (
                StatusCode::TOO_MANY_REQUESTS,
                "too-many",
                "Too many at once",
            ),
            Kind::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            Kind::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
            ),
            Kind::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        }
    }

    pub fn status(self) -> StatusCode {
        self.parts().0
    }

    pub fn uri(self) -> String {
        format!("urn:sandrun:problem:{}", self.parts().1)
    }

    pub fn title(self) -> &'static str {
        self.parts().2
    }
}

impl ApiError {
    fn kind(&self) -> Kind {
        match self {
            ApiError::Validation(_) => Kind::Validation,
            ApiError::Malformed(_) => Kind::Malformed,
            ApiError::TooLarge(_) => Kind::TooLarge,
            ApiError::BodyTimeout(_) => Kind::BodyTimeout,
            ApiError::UnsupportedMediaType(_) => Kind::UnsupportedMediaType,
            ApiError::NotFound(_) => Kind::NotFound,
            ApiError::Conflict(_) => Kind::Conflict,
            ApiError::Gone(_) => Kind::Gone,
            ApiError::RangeNotSatisfiable { .. } => Kind::RangeNotSatisfiable,
            ApiError::QueueFull { .. } => Kind::QueueFull,
            ApiError::TooMany { .. } => Kind::TooMany,
            ApiError::Unauthorized => Kind::Unauthorized,
            ApiError::Unavailable(_) => Kind::Unavailable,
            ApiError::Internal(_) => Kind::Internal,
        }
    }

    pub fn problem(&self) -> Problem {
        let kind = self.kind();
        Problem {
            kind: kind.uri(),
            title: kind.title().to_owned(),
            status: kind.status().as_u16(),
            detail: self.to_string(),
            field: match self {
                ApiError::Validation(e) => Some(e.field.clone()),
                _ => None,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.kind().status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let body = serde_json::to_vec(&self.problem()).expect("problems serialise");
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self {
            ApiError::QueueFull {
                retry_after_secs, ..
            }
            | ApiError::TooMany {
                retry_after_secs, ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            ApiError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::RangeNotSatisfiable { size } => {
                let range =
                    HeaderValue::from_str(&format!("bytes */{size}")).expect("a number is ASCII");
                headers.insert(header::CONTENT_RANGE, range);
            }
            _ => {}
        }
        response
    }
}

impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> Self {
        ApiError::Validation(e)
    }
}

impl ApiError {
    /// A validation problem with `field` at fault.
    pub fn invalid(field: &str, detail: impl Into<String>) -> ApiError {
        ApiError::Validation(crate::task_request::bad(field, detail))
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::IdempotencyConflict(_) => ApiError::Conflict(e.to_string()),
            StorageError::SessionClosed(_) => ApiError::Gone(e.to_string()),
            StorageError::Database(_) => ApiError::Unavailable(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::Invalid(e) => ApiError::Validation(e),
            SubmitError::QueueFull { depth } => ApiError::QueueFull {
                depth,
                retry_after_secs: RETRY_AFTER_SECS,
            },
            SubmitError::TooManyWaits { .. } | SubmitError::TooManySessions { .. } => {
                ApiError::TooMany {
                    detail: e.to_string(),
                    retry_after_secs: RETRY_AFTER_SECS,
                }
            }
            SubmitError::SessionNotFound(_) => ApiError::NotFound(e.to_string()),
            SubmitError::SessionEnded(_) => ApiError::Gone(e.to_string()),
            SubmitError::Storage(e) => e.into(),
        }
    }
}

impl ApiError {
    /// A body that could not be read or parsed: its status says which,
    /// and the body read timeout is found under the rejection's own error.
    fn rejected(
        rejection: &(dyn std::error::Error + 'static),
        status: StatusCode,
        detail: String,
    ) -> Self {
        let mut causes = std::iter::successors(Some(rejection), |e| e.source());
        if let Some(timeout) = causes.find(|e| e.is::<TimeoutError>()) {
            return ApiError::BodyTimeout(timeout.to_string());
        }
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(detail),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(detail),
            _ => ApiError::Malformed(detail),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::rejected(&rejection, rejection.status(), rejection.body_text())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        ApiError::rejected(&rejection, rejection.status(), rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::Malformed(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::Malformed(rejection.body_text())
    }
}
