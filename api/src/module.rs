use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An uploaded WebAssembly module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ModuleInfo {
    /// Lower-case hex sha256 of the module's bytes: its identity.
    pub hash: String,
    pub size: u64,
    /// Its names, `name@version`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// RFC 3339.
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ModuleList {
    pub modules: Vec<ModuleInfo>,
}
