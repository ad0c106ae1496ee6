//! Artifacts in the database: the files a run left under `/output`, written
//! with its result (see [`super::RunEnd::artifacts`]) and deleted with its
//! task, reached through [`Storage::artifacts`](super::Storage::artifacts).
//!
//! An artifact's bytes are stored in chunks of [`CHUNK_BYTES`], so a reader
//! streams a large file, or serves a range of it, holding one chunk at a
//! time, on either database.

use async_trait::async_trait;
use sandrun_api::ArtifactInfo;
use sqlx::FromRow;

use super::StorageError;

/// The bytes of an artifact's chunk; the last one may be shorter.
pub const CHUNK_BYTES: usize = 1 << 20;

/// An artifact to store: what the result says of it, and its bytes.
#[derive(Debug, Clone, Copy)]
pub struct ArtifactWrite<'a> {
    pub info: &'a ArtifactInfo,
    pub bytes: &'a [u8],
}

/// The artifacts of ended tasks. Reached through
/// [`super::Storage::artifacts`].
#[async_trait]
pub trait ArtifactStore: Send + Sync {
    /// Task `task_id`'s artifacts, by path.
    async fn artifacts(&self, task_id: &str) -> Result<Vec<ArtifactInfo>, StorageError>;
    async fn artifact(
        &self,
        task_id: &str,
        path: &str,
    ) -> Result<Option<ArtifactInfo>, StorageError>;
    /// Chunk `chunk` (from 0) of an artifact's bytes.
    async fn artifact_chunk(
        &self,
        task_id: &str,
        path: &str,
        chunk: u64,
    ) -> Result<Option<Vec<u8>>, StorageError>;
}

/// An artifact's row, decoded.
#[derive(Debug, FromRow)]
pub struct ArtifactRow {
    path: String,
    size: i64,
    sha256: String,
    media_type: String,
}

impl From<ArtifactRow> for ArtifactInfo {
    fn from(row: ArtifactRow) -> Self {
        ArtifactInfo {
            path: row.path,
            size: row.size as u64,
            sha256: row.sha256,
            media_type: row.media_type,
        }
    }
}
