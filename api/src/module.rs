use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An uploaded WebAssembly module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ModuleInfo {
    /// Lower-case hex sha256 of the module's bytes: its identity.
    pub hash: String,
    pub size: u64,
    /// RFC 3339.
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ModuleList {
    pub modules: Vec<ModuleInfo>,
}
