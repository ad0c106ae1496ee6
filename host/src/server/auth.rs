//! Bearer API keys. Keys are compared by their sha256 digests in constant
//! time, so neither a key's content nor its length leaks through timing.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{ApiError, AppState};

pub fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

pub async fn require_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if state.api_keys.is_empty() {
        return Ok(next.run(request).await);
    }
    let offered = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|key| digest(key.trim()));
    let Some(offered) = offered else {
        return Err(ApiError::Unauthorized);
    };
    // Check every key, so the time taken does not say which one matched.
    let accepted = state
        .api_keys
        .iter()
        .fold(0u8, |found, key| found | key.ct_eq(&offered).unwrap_u8());
    if accepted == 1 {
        Ok(next.run(request).await)
    } else {
        Err(ApiError::Unauthorized)
    }
}
