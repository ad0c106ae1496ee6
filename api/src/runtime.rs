use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a task's source is run by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Runtime {
    /// Python source code, run by the pinned CPython runtime.
    #[default]
    Python,
    /// A WebAssembly module for wasm32-wasip1, run as it is.
    Wasm,
}

impl Runtime {
    pub const ALL: [Runtime; 2] = [Runtime::Python, Runtime::Wasm];

    pub fn name(self) -> &'static str {
        match self {
            Runtime::Python => "python",
            Runtime::Wasm => "wasm",
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A runtime name that sandrun does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRuntime(pub String);

impl fmt::Display for UnknownRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<&str> = Runtime::ALL.iter().map(|r| r.name()).collect();
        write!(
            f,
            "unknown runtime `{}` (known: {})",
            self.0,
            known.join(", ")
        )
    }
}

impl std::error::Error for UnknownRuntime {}

impl FromStr for Runtime {
    type Err = UnknownRuntime;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Runtime::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| UnknownRuntime(s.to_owned()))
    }
}
