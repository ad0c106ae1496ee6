//! Reading artifacts. They are written in [`Storage::finish`]'s transaction,
//! with the result that lists them.
//!
//! [`Storage::finish`]: crate::storage::Storage::finish

use async_trait::async_trait;
use sandrun_api::ArtifactInfo;

use super::Store;
use crate::storage::dialect::{Conn, Dialect};
use crate::storage::statements::Statements;
use crate::storage::{ArtifactStore, ArtifactWrite, CHUNK_BYTES, StorageError};

impl<D: Dialect> Store<D> {
    /// Store task `task_id`'s `artifacts`, each one's bytes in chunks.
    pub(super) async fn insert_artifacts(
        conn: &mut Conn<D>,
        task_id: &str,
        artifacts: &[ArtifactWrite<'_>],
    ) -> Result<(), StorageError> {
        for artifact in artifacts {
            D::Db::insert_artifact(conn, task_id, artifact.info).await?;
            for (n, chunk) in artifact.bytes.chunks(CHUNK_BYTES).enumerate() {
                let path = &artifact.info.path;
                D::Db::insert_artifact_chunk(conn, task_id, path, n as i64, chunk).await?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl<D: Dialect> ArtifactStore for Store<D> {
    async fn artifacts(&self, task_id: &str) -> Result<Vec<ArtifactInfo>, StorageError> {
        D::Db::artifacts(&mut *self.conn().await?, task_id).await
    }

    async fn artifact(
        &self,
        task_id: &str,
        path: &str,
    ) -> Result<Option<ArtifactInfo>, StorageError> {
        D::Db::artifact(&mut *self.conn().await?, task_id, path).await
    }

    async fn artifact_chunk(
        &self,
        task_id: &str,
        path: &str,
        chunk: u64,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        let chunk = i64::try_from(chunk).unwrap_or(i64::MAX);
        D::Db::artifact_chunk(&mut *self.conn().await?, task_id, path, chunk).await
    }
}
