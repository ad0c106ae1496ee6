use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bytes a guest wrote to one of its streams.
///
/// The bytes are kept exactly; on the wire they travel as a string, with any
/// invalid UTF-8 replaced, because that is what every client wants to show.
#[derive(Clone, Default, PartialEq, Eq, utoipa::ToSchema)]
#[schema(value_type = String)]
pub struct Output(pub Vec<u8>);

impl Output {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&String::from_utf8_lossy(&self.0), f)
    }
}

impl Serialize for Output {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&String::from_utf8_lossy(&self.0))
    }
}

impl<'de> Deserialize<'de> for Output {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| Output(s.into_bytes()))
    }
}
