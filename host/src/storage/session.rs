//! Sessions in the database: their settings, their stored state, and how
//! they end. A session's runs are tasks (see [`super::NewTask::session`]);
//! what is here is the session's own row, reached through
//! [`Storage::sessions`](super::Storage::sessions).

use std::time::Duration;

use async_trait::async_trait;
use sandrun_api::{Session, SessionRequest, SessionStatus};

use super::StorageError;
use super::labels::{Labelled, push_page};
use super::record::rfc3339;
use super::sql::Sql;

/// A session about to be opened; `settings` has its defaults applied.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: String,
    pub settings: SessionRequest,
    pub created_at: i64,
}

impl NewSession {
    fn seconds(value: Option<u64>) -> i64 {
        Duration::from_secs(value.unwrap_or(0)).as_millis() as i64
    }

    pub(super) fn ttl_ms(&self) -> i64 {
        Self::seconds(self.settings.ttl)
    }

    pub(super) fn idle_timeout_ms(&self) -> i64 {
        Self::seconds(self.settings.idle_timeout)
    }

    /// When it ends if no run comes: its idle timeout or its lifetime.
    pub(super) fn expires_at(&self) -> i64 {
        (self.created_at + self.idle_timeout_ms()).min(self.created_at + self.ttl_ms())
    }
}

/// A session row, decoded.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id: String,
    pub settings: SessionRequest,
    pub created_at: i64,
    pub expires_at: i64,
    /// Its lifetime's end.
    pub ends_by: i64,
    pub last_run_at: Option<i64>,
    pub runs: u64,
    pub state_bytes: u64,
    pub forked_from: Option<String>,
    pub ended_at: Option<i64>,
    pub end_reason: Option<String>,
    /// A run of it is queued or running.
    pub active: bool,
}

impl SessionRecord {
    /// Why a run, fork or restart of this ended session is refused.
    pub fn gone(&self) -> String {
        format!(
            "session {} has ended ({}); its state is gone",
            self.id,
            self.end_reason.as_deref().unwrap_or("ended")
        )
    }

    /// This session as it is once ended for `reason` at `at`.
    pub(crate) fn ended(mut self, reason: EndReason, at: i64) -> SessionRecord {
        if self.ended_at.is_none() {
            self.ended_at = Some(at);
            self.end_reason = Some(reason.name().to_owned());
        }
        self.state_bytes = 0;
        self.active = false;
        self
    }

    pub fn status(&self) -> SessionStatus {
        if self.ended_at.is_some() {
            SessionStatus::Ended
        } else if self.active {
            SessionStatus::Running
        } else {
            SessionStatus::Idle
        }
    }

    /// Whether a run may still be added: not ended, not past its lifetime,
    /// and not idle past its timeout (a session with a run pending is not
    /// idle).
    pub fn takes_runs(&self, now: i64) -> bool {
        self.ended_at.is_none() && now < self.ends_by && (self.active || now < self.expires_at)
    }

    /// The session as the API shows it.
    pub fn to_api(&self) -> Session {
        let s = &self.settings;
        Session {
            id: self.id.clone(),
            status: self.status(),
            runtime: s.runtime,
            labels: s.labels.clone(),
            kv_namespace: s.kv_namespace.clone(),
            limits: s.limits,
            memory_bytes: s.memory_bytes.unwrap_or(0),
            max_state_bytes: s.max_state_bytes.unwrap_or(0),
            idle_timeout: s.idle_timeout.unwrap_or(0),
            ttl: s.ttl.unwrap_or(0),
            created_at: rfc3339(self.created_at),
            last_run_at: self.last_run_at.map(rfc3339),
            expires_at: rfc3339(self.expires_at),
            ended_at: self.ended_at.map(rfc3339),
            end_reason: self.end_reason.clone(),
            state_bytes: self.state_bytes,
            runs: self.runs,
            forked_from: self.forked_from.clone(),
        }
    }
}

/// A session row as stored, before its JSON is decoded.
#[derive(Debug, sqlx::FromRow)]
pub struct SessionRow {
    id: String,
    settings: String,
    created_at: i64,
    expires_at: i64,
    ends_by: i64,
    last_run_at: Option<i64>,
    runs: i64,
    state_bytes: i64,
    forked_from: Option<String>,
    ended_at: Option<i64>,
    end_reason: Option<String>,
    active: bool,
}

/// The columns a [`SessionRow`] is read from, for a query on `sessions`.
pub(super) const SESSION_COLUMNS: &str = "id, settings, created_at, expires_at, ends_by, \
     last_run_at, runs, state_bytes, forked_from, ended_at, end_reason, \
     EXISTS (SELECT 1 FROM tasks t WHERE t.session_id = sessions.id \
     AND t.status IN ('queued', 'running')) AS active";

impl TryFrom<SessionRow> for SessionRecord {
    type Error = StorageError;

    fn try_from(row: SessionRow) -> Result<Self, StorageError> {
        Ok(SessionRecord {
            settings: serde_json::from_str(&row.settings)?,
            id: row.id,
            created_at: row.created_at,
            expires_at: row.expires_at,
            ends_by: row.ends_by,
            last_run_at: row.last_run_at,
            runs: row.runs as u64,
            state_bytes: row.state_bytes as u64,
            forked_from: row.forked_from,
            ended_at: row.ended_at,
            end_reason: row.end_reason,
            active: row.active,
        })
    }
}

/// Which sessions to list.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub status: Option<SessionStatus>,
    pub label: Option<(String, String)>,
    /// Only ids below this one (the previous page's last).
    pub before_id: Option<String>,
    pub limit: u32,
}

impl SessionFilter {
    /// Append the filter's conditions, order and limit to a query that
    /// selects from `sessions` and ends in a `WHERE` clause.
    pub(super) fn push_conditions(&self, q: &mut Sql) {
        const PENDING: &str = "EXISTS (SELECT 1 FROM tasks t WHERE t.session_id = sessions.id \
                               AND t.status IN ('queued', 'running'))";
        match self.status {
            None => {}
            Some(SessionStatus::Ended) => {
                q.push(" AND ended_at IS NOT NULL");
            }
            Some(SessionStatus::Running) => {
                q.push(&format!(" AND ended_at IS NULL AND {PENDING}"));
            }
            Some(SessionStatus::Idle) => {
                q.push(&format!(" AND ended_at IS NULL AND NOT {PENDING}"));
            }
        }
        if let Some(label) = &self.label {
            Labelled::Session.push_filter(q, label);
        }
        push_page(q, self.before_id.as_ref(), self.limit);
    }
}

/// What a run of a session starts from.
#[derive(Debug, Clone)]
pub struct RunState {
    /// The token naming the stored state (read with
    /// [`SessionStore::state`] when the run needs its bytes); `None` before
    /// the session's first kept run, and after a restart.
    pub token: Option<String>,
    /// Which interpreter the state is of: a restart begins a new one.
    pub generation: i64,
    pub max_state_bytes: u64,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    Deleted,
    /// No run for its idle timeout.
    Idle,
    /// Past its lifetime.
    Expired,
}

impl EndReason {
    pub fn name(self) -> &'static str {
        match self {
            EndReason::Deleted => "deleted",
            EndReason::Idle => "idle",
            EndReason::Expired => "expired",
        }
    }
}

/// What ending, restarting or forking a session found.
#[derive(Debug, Clone)]
pub enum SessionChange {
    /// Done: the session as it is now (for a fork, the new one).
    Done(SessionRecord),
    /// It had already ended; nothing changed.
    Ended(SessionRecord),
    NotFound,
}

/// Sessions' own rows. Reached through [`super::Storage::sessions`].
#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, new: &NewSession) -> Result<SessionRecord, StorageError>;
    async fn session(&self, id: &str) -> Result<Option<SessionRecord>, StorageError>;
    /// Newest first.
    async fn list_sessions(
        &self,
        filter: &SessionFilter,
    ) -> Result<Vec<SessionRecord>, StorageError>;
    /// Sessions not ended.
    async fn open_sessions(&self) -> Result<u64, StorageError>;
    /// The state a run of session `id` starts from (`None`: no such
    /// session, or it ended).
    async fn run_state(&self, id: &str) -> Result<Option<RunState>, StorageError>;
    /// Session `id`'s stored state: the token naming it, and its bytes.
    async fn state(&self, id: &str) -> Result<Option<(String, Vec<u8>)>, StorageError>;
    /// A new session (`new`, whose settings are ignored) with a copy of
    /// `from`'s settings, labels and stored state.
    async fn fork_session(
        &self,
        from: &str,
        new: &NewSession,
    ) -> Result<SessionChange, StorageError>;
    /// Forget the state: the next run starts a fresh interpreter. A run
    /// going on meanwhile keeps nothing.
    async fn restart_session(&self, id: &str) -> Result<SessionChange, StorageError>;
    /// Delete it, open or ended, with its state and labels: its queued
    /// runs are cancelled, a running one is asked to stop (its runs stay,
    /// as tasks). Answers the session as it was, ended, and the runs it
    /// touched.
    async fn delete_session(&self, id: &str) -> Result<(SessionChange, Vec<String>), StorageError>;
    /// End every session idle past its timeout or past its lifetime at
    /// `now`; the ids ended.
    async fn end_expired_sessions(&self, now: i64) -> Result<Vec<String>, StorageError>;
    /// Delete up to `batch` sessions that ended before `ended_before`, with
    /// their labels; how many. Their runs are tasks, pruned as tasks are.
    async fn prune_sessions(&self, ended_before: i64, batch: u32) -> Result<u64, StorageError>;
}
