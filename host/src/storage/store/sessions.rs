//! A session's own transactions: open, fork, restart, end, and the ending
//! of sessions idle or past their lifetime. Each that reads before it
//! writes takes hold of the session first, as a task's do of the task.

use async_trait::async_trait;

use super::Store;
use crate::storage::dialect::{Conn, Dialect};
use crate::storage::labels::Labelled;
use crate::storage::statements::{SessionRows, Statements};
use crate::storage::{
    EndReason, NewSession, RunState, SessionChange, SessionFilter, SessionRecord, SessionStore,
    StorageError, now_ms,
};

/// Sessions ended by one look for expired ones, at most.
const EXPIRED_BATCH: u32 = 100;

impl<D: Dialect> Store<D> {
    /// The session `id`, which this transaction holds.
    async fn held_session(conn: &mut Conn<D>, id: &str) -> Result<SessionRecord, StorageError> {
        D::Db::session(conn, id)
            .await?
            .ok_or_else(|| StorageError::Corrupt("a held session vanished".into()))
    }

    /// Hold session `id` for the rest of the transaction: `Err` with the
    /// change to answer when it is missing or has ended.
    async fn hold_open_session(
        conn: &mut Conn<D>,
        id: &str,
    ) -> Result<Result<(), SessionChange>, StorageError> {
        if !D::Db::lock_row(conn, D::LOCK_SESSION, id).await? {
            return Ok(Err(SessionChange::NotFound));
        }
        let session = Self::held_session(conn, id).await?;
        if session.ended_at.is_some() {
            return Ok(Err(SessionChange::Ended(session)));
        }
        Ok(Ok(()))
    }
}

#[async_trait]
impl<D: Dialect> SessionStore for Store<D> {
    async fn create_session(&self, new: &NewSession) -> Result<SessionRecord, StorageError> {
        let mut tx = self.begin().await?;
        D::Db::insert_session(&mut tx, new).await?;
        D::Db::insert_labels(&mut tx, Labelled::Session, &new.id, &new.settings.labels).await?;
        let session = Self::held_session(&mut tx, &new.id).await?;
        tx.commit().await?;
        Ok(session)
    }

    async fn session(&self, id: &str) -> Result<Option<SessionRecord>, StorageError> {
        D::Db::session(&mut *self.conn().await?, id).await
    }

    async fn list_sessions(
        &self,
        filter: &SessionFilter,
    ) -> Result<Vec<SessionRecord>, StorageError> {
        D::Db::list_sessions(&mut *self.conn().await?, filter).await
    }

    async fn open_sessions(&self) -> Result<u64, StorageError> {
        D::Db::open_sessions(&mut *self.conn().await?).await
    }

    async fn run_state(&self, id: &str) -> Result<Option<RunState>, StorageError> {
        D::Db::run_state(&mut *self.conn().await?, id).await
    }

    async fn state(&self, id: &str) -> Result<Option<(String, Vec<u8>)>, StorageError> {
        D::Db::session_state(&mut *self.conn().await?, id).await
    }

    async fn fork_session(
        &self,
        from: &str,
        new: &NewSession,
    ) -> Result<SessionChange, StorageError> {
        let mut tx = self.begin().await?;
        if let Err(change) = Self::hold_open_session(&mut tx, from).await? {
            return Ok(change);
        }
        if !D::Db::copy_session(&mut tx, from, new).await? {
            return Err(StorageError::Corrupt("a held session vanished".into()));
        }
        D::Db::copy_session_rows(&mut tx, SessionRows::Labels, from, &new.id).await?;
        D::Db::copy_session_rows(&mut tx, SessionRows::State, from, &new.id).await?;
        let forked = Self::held_session(&mut tx, &new.id).await?;
        tx.commit().await?;
        Ok(SessionChange::Done(forked))
    }

    async fn restart_session(&self, id: &str) -> Result<SessionChange, StorageError> {
        let mut tx = self.begin().await?;
        if let Err(change) = Self::hold_open_session(&mut tx, id).await? {
            return Ok(change);
        }
        D::Db::forget_session_state(&mut tx, id).await?;
        D::Db::delete_session_state(&mut tx, id).await?;
        let session = Self::held_session(&mut tx, id).await?;
        tx.commit().await?;
        Ok(SessionChange::Done(session))
    }

    async fn delete_session(&self, id: &str) -> Result<(SessionChange, Vec<String>), StorageError> {
        let mut tx = self.begin().await?;
        if !D::Db::lock_row(&mut tx, D::LOCK_SESSION, id).await? {
            return Ok((SessionChange::NotFound, Vec::new()));
        }
        let session = Self::held_session(&mut tx, id).await?;
        let runs = D::Db::pending_runs(&mut tx, id).await?;
        for run in &runs {
            if D::Db::lock_row(&mut tx, D::LOCK_TASK, run).await? {
                self.cancel_in(&mut tx, run).await?;
            }
        }
        D::Db::delete_session(&mut tx, id).await?;
        tx.commit().await?;
        let deleted = session.ended(EndReason::Deleted, now_ms());
        Ok((SessionChange::Done(deleted), runs))
    }

    async fn end_expired_sessions(&self, now: i64) -> Result<Vec<String>, StorageError> {
        let expired = D::Db::expired_sessions(&mut *self.conn().await?, now, EXPIRED_BATCH).await?;
        let mut ended = Vec::with_capacity(expired.len());
        for (id, ends_by) in expired {
            let reason = if ends_by <= now {
                EndReason::Expired
            } else {
                EndReason::Idle
            };
            // A run may have come since the look: ending checks again.
            let mut tx = self.begin().await?;
            if Self::hold_open_session(&mut tx, &id).await?.is_err() {
                continue;
            }
            let session = Self::held_session(&mut tx, &id).await?;
            if session.takes_runs(now) {
                continue;
            }
            D::Db::end_session(&mut tx, &id, reason, now).await?;
            D::Db::delete_session_state(&mut tx, &id).await?;
            tx.commit().await?;
            ended.push(id);
        }
        Ok(ended)
    }

    async fn prune_sessions(&self, ended_before: i64, batch: u32) -> Result<u64, StorageError> {
        D::Db::prune_sessions(
            &mut *self.conn().await?,
            ended_before,
            batch,
            D::SKIP_LOCKED,
        )
        .await
    }
}
