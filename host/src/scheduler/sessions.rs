//! The ends of sessions: deleted on request, and ended (kept, as `ended`,
//! until retention prunes them) when idle past their timeout or past their
//! lifetime, which one loop looks for.

use std::sync::Arc;
use std::time::Duration;

use super::Scheduler;
use crate::storage::{SessionChange, StorageError, now_ms};

/// How often sessions are checked for their end.
const EXPIRY_CHECK: Duration = Duration::from_secs(1);

impl Scheduler {
    /// Delete session `id` and its state: its queued runs end cancelled,
    /// and a running one is stopped (at once if it runs here).
    pub async fn delete_session(&self, id: &str) -> Result<SessionChange, StorageError> {
        let (change, runs) = self.storage.sessions().delete_session(id).await?;
        for run in runs {
            self.cancel_local(&run);
            self.notifier.notify(&run);
        }
        Ok(change)
    }

    /// End sessions whose idle timeout or lifetime has passed.
    pub(super) async fn end_expired_sessions(self: Arc<Self>) {
        loop {
            tokio::time::sleep(EXPIRY_CHECK).await;
            match self.storage.sessions().end_expired_sessions(now_ms()).await {
                Ok(ended) if ended.is_empty() => {}
                Ok(ended) => tracing::info!(sessions = ended.len(), "ended expired sessions"),
                Err(e) => tracing::warn!(error = %e, "ending expired sessions failed"),
            }
        }
    }
}
