use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{LogLine, Task, TaskStatus};

/// What `GET /v1/tasks/{id}/events` streams, one Server-Sent Event each;
/// the SSE `event:` name is the variant's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TaskEvent {
    /// The task moved to `status`.
    Status {
        status: TaskStatus,
        attempt: u32,
        /// When it moved (RFC 3339); absent in events recorded before
        /// sandrun kept it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<String>,
    },
    /// Output the guest produced, in order.
    Stdout {
        text: String,
    },
    Stderr {
        text: String,
    },
    /// A message the guest logged.
    Log {
        line: LogLine,
    },
    /// Progress the guest reported, 0 to 1.
    Progress {
        value: f64,
    },
    /// The last event: the task as it ended.
    End {
        task: Box<Task>,
    },
}

impl TaskEvent {
    pub fn name(&self) -> &'static str {
        match self {
            TaskEvent::Status { .. } => "status",
            TaskEvent::Stdout { .. } => "stdout",
            TaskEvent::Stderr { .. } => "stderr",
            TaskEvent::Log { .. } => "log",
            TaskEvent::Progress { .. } => "progress",
            TaskEvent::End { .. } => "end",
        }
    }
}
