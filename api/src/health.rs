use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A runtime the server can run tasks with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RuntimeInfo {
    pub name: String,
    pub description: String,
    /// Whether tasks for it can run now.
    pub ready: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RuntimeList {
    pub runtimes: Vec<RuntimeInfo>,
}

/// `GET /readyz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Readiness {
    pub database: bool,
    pub runtimes: bool,
}
