use std::collections::BTreeMap;

use sandrun_api::{Runtime, Task, TaskRequest, TaskResult, TaskStatus};

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
        }
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
    pub created_after: Option<i64>,
    pub created_before: Option<i64>,
    /// Only ids below this one (the previous page's last).
    pub before_id: Option<String>,
    pub limit: u32,
}

pub(super) fn labels_json(labels: &BTreeMap<String, String>) -> String {
    serde_json::to_string(labels).expect("string maps serialise")
}
