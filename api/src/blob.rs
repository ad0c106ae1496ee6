use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::fmt;

use serde::de::{Error, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// Bytes in a JSON request: a plain string for text, or `{"base64": "..."}`
/// for anything else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
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

/// A string, or an object with exactly one field, `base64`: nothing else
/// (serde's untagged enums would also take `["..."]`).
impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct BlobVisitor;
        impl<'de> Visitor<'de> for BlobVisitor {
            type Value = Blob;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a string or {"base64": "..."}"#)
            }
            fn visit_str<E: Error>(self, text: &str) -> Result<Blob, E> {
                Ok(Blob::Text(text.to_owned()))
            }
            fn visit_string<E: Error>(self, text: String) -> Result<Blob, E> {
                Ok(Blob::Text(text))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Blob, A::Error> {
                let mut base64 = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key != "base64" {
                        return Err(A::Error::unknown_field(&key, &["base64"]));
                    }
                    if base64.replace(map.next_value::<String>()?).is_some() {
                        return Err(A::Error::duplicate_field("base64"));
                    }
                }
                let base64 = base64.ok_or_else(|| A::Error::missing_field("base64"))?;
                Ok(Blob::Base64 { base64 })
            }
        }
        d.deserialize_any(BlobVisitor)
    }
}
