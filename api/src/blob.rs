use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Bytes in a JSON request: a plain string for text, or `{"base64": "..."}`
/// for anything else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Blob {
    Text(String),
    Base64 {
        /// Standard base64, padded, with no bits left over.
        #[schema(
            pattern = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$"
        )]
        base64: String,
    },
}

/// A `base64` field that is not valid base64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid base64: {0}")]
pub struct InvalidBase64(String);

impl Blob {
    pub fn to_bytes(&self) -> Result<Vec<u8>, InvalidBase64> {
        match self {
            Blob::Text(text) => Ok(text.as_bytes().to_vec()),
            Blob::Base64 { base64 } => STANDARD
                .decode(base64)
                .map_err(|e| InvalidBase64(e.to_string())),
        }
    }

    pub fn from_bytes(bytes: &[u8]) -> Blob {
        match std::str::from_utf8(bytes) {
            Ok(text) => Blob::Text(text.to_owned()),
            Err(_) => Blob::Base64 {
                base64: STANDARD.encode(bytes),
            },
        }
    }
}
