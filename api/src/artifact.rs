//! Artifacts: the files a run left under `/output`, kept with its task.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One file a run left under `/output`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "path": "charts/line.png",
    "size": 21342,
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "media_type": "image/png"
}))]
pub struct ArtifactInfo {
    /// Its path under `/output`, with `/` between folders.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// Lower-case hex sha256 of its bytes.
    pub sha256: String,
    /// Guessed from its name's extension; `application/octet-stream` when
    /// there is none sandrun knows.
    pub media_type: String,
}

/// A task's artifacts, by path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ArtifactList {
    pub artifacts: Vec<ArtifactInfo>,
}
