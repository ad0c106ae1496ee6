use std::collections::BTreeMap;

use sandrun_api::{ModuleInfo, Runtime, Task, TaskRequest, TaskResult, TaskStatus};

use super::StorageError;
use super::labels::{Labelled, push_page};
use super::sql::Sql;

/// A task row, decoded.
#[derive(Debug, Clone)]
pub struct TaskRecord {
    pub id: String,
    pub status: TaskStatus,
    pub request: TaskRequest,
    pub request_hash: String,
    pub attempt: u32,
    pub max_attempts: u32,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub result: Option<TaskResult>,
    pub error: Option<String>,
    pub cancel_requested: bool,
    /// The last progress the guest reported while running.
    pub progress: Option<f64>,
    /// For a session's run: the session, and the run's number in it.
    pub session_id: Option<String>,
    pub session_run: Option<i64>,
    /// The batch it was submitted in.
    pub batch_id: Option<String>,
}

impl TaskRecord {
    /// The task as the API shows it.
    pub fn to_api(&self) -> Task {
        Task {
            id: self.id.clone(),
            status: self.status,
            runtime: self.request.runtime,
            priority: self.request.priority,
            labels: self.request.labels.clone(),
            attempt: self.attempt,
            max_attempts: self.max_attempts,
            created_at: rfc3339(self.created_at),
            started_at: self.started_at.map(rfc3339),
            finished_at: self.finished_at.map(rfc3339),
            result: self.result.clone(),
            error: self.error.clone(),
            progress: self
                .result
                .as_ref()
                .and_then(|r| r.progress)
                .or(self.progress),
            session_id: self.session_id.clone(),
            session_run: self.session_run.map(|n| n as u64),
            batch_id: self.batch_id.clone(),
        }
    }
}

/// The columns both backends read a task from, in the types both store
/// them as (integers as 64-bit, JSON as text).
pub(super) const TASK_COLUMNS: &str = "id, status, request, request_hash, attempt, max_attempts, \
                                       created_at, started_at, finished_at, result, error, cancel_requested, progress, \
                                       session_id, session_run, batch_id";

/// A task row as stored, before its JSON is decoded.
#[derive(Debug, sqlx::FromRow)]
pub struct TaskRow {
    id: String,
    status: String,
    request: String,
    request_hash: String,
    attempt: i64,
    max_attempts: i64,
    created_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    result: Option<String>,
    error: Option<String>,
    cancel_requested: bool,
    progress: Option<f64>,
    session_id: Option<String>,
    session_run: Option<i64>,
    batch_id: Option<String>,
}

impl TryFrom<TaskRow> for TaskRecord {
    type Error = StorageError;

    fn try_from(row: TaskRow) -> Result<Self, StorageError> {
        Ok(TaskRecord {
            status: TaskStatus::parse(&row.status)
                .ok_or_else(|| StorageError::Corrupt(format!("status `{}`", row.status)))?,
            request: serde_json::from_str(&row.request)?,
            result: row.result.map(|r| serde_json::from_str(&r)).transpose()?,
            id: row.id,
            request_hash: row.request_hash,
            attempt: row.attempt as u32,
            max_attempts: row.max_attempts as u32,
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            error: row.error,
            cancel_requested: row.cancel_requested,
            progress: row.progress,
            session_id: row.session_id,
            session_run: row.session_run,
            batch_id: row.batch_id,
        })
    }
}

/// Milliseconds since the epoch as RFC 3339.
pub fn rfc3339(ms: i64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(time).to_string()
}

/// Which tasks to list, decoded from the query.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub status: Option<TaskStatus>,
    pub runtime: Option<Runtime>,
    pub label: Option<(String, String)>,
    /// Only the runs of this session.
    pub session_id: Option<String>,
    /// Only the tasks of this batch.
    pub batch_id: Option<String>,
    pub created_after: Option<i64>,
    pub created_before: Option<i64>,
    /// Only ids below this one (the previous page's last).
    pub before_id: Option<String>,
    pub limit: u32,
}

impl TaskFilter {
    /// Append the filter's conditions, order and limit to a query that
    /// selects from `tasks` and ends in a `WHERE` clause.
    pub(super) fn push_conditions(&self, q: &mut Sql) {
        if let Some(status) = self.status {
            q.push(" AND status = ").bind(status.name().to_owned());
        }
        if let Some(runtime) = self.runtime {
            q.push(" AND runtime = ").bind(runtime.name().to_owned());
        }
        if let Some(label) = &self.label {
            Labelled::Task.push_filter(q, label);
        }
        if let Some(session) = &self.session_id {
            q.push(" AND session_id = ").bind(session.clone());
        }
        if let Some(batch) = &self.batch_id {
            q.push(" AND batch_id = ").bind(batch.clone());
        }
        if let Some(after) = self.created_after {
            q.push(" AND created_at >= ").bind(after);
        }
        if let Some(before) = self.created_before {
            q.push(" AND created_at < ").bind(before);
        }
        push_page(q, self.before_id.as_ref(), self.limit);
    }
}

pub(super) fn labels_json(labels: &BTreeMap<String, String>) -> String {
    serde_json::to_string(labels).expect("string maps serialise")
}

/// A module row without its bytes.
#[derive(Debug, sqlx::FromRow)]
pub struct ModuleRow {
    hash: String,
    size: i64,
    created_at: i64,
}

impl From<ModuleRow> for ModuleInfo {
    fn from(row: ModuleRow) -> Self {
        ModuleInfo {
            hash: row.hash,
            size: row.size as u64,
            names: Vec::new(),
            created_at: rfc3339(row.created_at),
        }
    }
}
