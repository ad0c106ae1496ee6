use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{Blob, Limits, Runtime, StatusCounts, TaskResult, constraints};

/// A task to run, as submitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskRequest {
    pub runtime: Runtime,
    /// Python source, for `runtime: python` (and only for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^[^\u0000]*$")]
    pub code: Option<String>,
    /// For `runtime: wasm`, an uploaded module: its sha256, `name@version`,
    /// or `name` for the highest version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = constraints::module_reference)]
    pub module: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<Blob>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = constraints::args)]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(schema_with = constraints::env)]
    pub env: BTreeMap<String, String>,
    /// Files the guest finds read-only under `/input`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(schema_with = constraints::files)]
    pub files: BTreeMap<String, Blob>,
    #[serde(default, deserialize_with = "crate::de::object")]
    pub limits: Limits,
    /// Higher runs first; equal priorities run in submission order.
    #[serde(default, deserialize_with = "crate::de::integer")]
    #[schema(minimum = -2147483648, maximum = 2147483647)]
    pub priority: i32,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(schema_with = constraints::labels)]
    pub labels: BTreeMap<String, String>,
    /// The same key with the same body returns the same task; with a
    /// different body it is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 256)]
    pub idempotency_key: Option<String>,
    /// JSON the guest reads with the `input` host call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<serde_json::Value>,
    /// The key-value namespace the guest's `kv` host calls use; without one,
    /// `kv` calls fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,128}$")]
    pub kv_namespace: Option<String>,
    /// Runs allowed when the infrastructure fails (a crashed node, say).
    /// Guest faults are results and never retried.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::de::optional_integer"
    )]
    #[schema(minimum = 1, maximum = 10)]
    pub max_attempts: Option<u32>,
    /// Tasks this one waits for (`status: waiting`): it is queued once all
    /// of them succeeded, and cancelled, naming the one at fault, once one
    /// of them failed or was cancelled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 100)]
    pub depends_on: Vec<String>,
    /// Queued once every dependency ended, however it ended.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub run_on_failure: bool,
}

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Waiting for the tasks it depends on.
    Waiting,
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 6] = [
        TaskStatus::Waiting,
        TaskStatus::Queued,
        TaskStatus::Running,
        TaskStatus::Succeeded,
        TaskStatus::Failed,
        TaskStatus::Cancelled,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TaskStatus::Waiting => "waiting",
            TaskStatus::Queued => "queued",
            TaskStatus::Running => "running",
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(name: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskStatus::Succeeded | TaskStatus::Failed | TaskStatus::Cancelled
        )
    }
}

/// A task as the server reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Task {
    pub id: String,
    pub status: TaskStatus,
    pub runtime: Runtime,
    pub priority: i32,
    pub labels: BTreeMap<String, String>,
    /// Runs started so far (1 for the first).
    pub attempt: u32,
    pub max_attempts: u32,
    /// RFC 3339 times.
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// The guest's result, once it ran to an outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<TaskResult>,
    /// Why a task failed without a result (attempts used up by infrastructure
    /// failures) or was refused when it came to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The guest's last reported progress, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<f64>,
    /// For a session's run: the session, and the run's place in it (1 for
    /// its first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_run: Option<u64>,
    /// The batch it was submitted in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<String>,
}

/// One page of tasks, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskPage {
    pub tasks: Vec<Task>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Filters for listing tasks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    pub status: Option<TaskStatus>,
    pub runtime: Option<Runtime>,
    /// `key=value`: only tasks with this label.
    #[param(pattern = "=")]
    pub label: Option<String>,
    /// Only the tasks of this batch.
    pub batch: Option<String>,
    /// RFC 3339 in UTC, from 1970: only tasks created at or after.
    #[param(schema_with = constraints::utc_time)]
    pub created_after: Option<String>,
    /// RFC 3339 in UTC, from 1970: only tasks created before.
    #[param(schema_with = constraints::utc_time)]
    pub created_before: Option<String>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// Up to 1,000 tasks queued together: all of them or none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    #[schema(min_items = 1, max_items = 1000)]
    #[serde(deserialize_with = "crate::de::objects")]
    pub tasks: Vec<TaskRequest>,
}

/// The batch queued, and its tasks in the order they were given. A task
/// whose idempotency key named an earlier task is that task, with the
/// batch it came in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BatchResponse {
    pub id: String,
    pub tasks: Vec<Task>,
}

/// A batch and where its tasks are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Batch {
    pub id: String,
    /// When it was submitted (RFC 3339).
    pub created_at: String,
    /// Its tasks still kept (ended tasks are pruned after the retention).
    pub tasks: u64,
    pub counts: StatusCounts,
}

/// One page of batches, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BatchPage {
    pub batches: Vec<Batch>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Paging through batches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BatchQuery {
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}
