//! The queue at a glance: what the dashboard's overview shows, read by
//! `GET /v1/overview` and pushed by `GET /v1/overview/events` whenever it
//! changes.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{Node, Outcome, Runtime, TaskStatus};

/// Tasks in each status, across every node sharing the queue. In an
/// overview, `waiting`, `queued` and `running` are now, and the ended ones are those
/// that ended within its window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatusCounts {
    pub waiting: u64,
    pub queued: u64,
    pub running: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub cancelled: u64,
}

impl StatusCounts {
    /// The count of `status`.
    pub fn get_mut(&mut self, status: TaskStatus) -> &mut u64 {
        match status {
            TaskStatus::Waiting => &mut self.waiting,
            TaskStatus::Queued => &mut self.queued,
            TaskStatus::Running => &mut self.running,
            TaskStatus::Succeeded => &mut self.succeeded,
            TaskStatus::Failed => &mut self.failed,
            TaskStatus::Cancelled => &mut self.cancelled,
        }
    }
}

/// The tasks that ended in one interval of the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EndedInterval {
    /// When the interval began.
    pub start: String,
    pub succeeded: u64,
    pub failed: u64,
    pub cancelled: u64,
}

/// A task that failed lately.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecentFailure {
    pub id: String,
    pub runtime: Runtime,
    pub finished_at: String,
    /// Why its run stopped, when it has a result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The result's message or the task's error, shortened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `GET /v1/overview`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Overview {
    /// When it was read.
    pub at: String,
    /// Queued and running now; succeeded, failed and cancelled within the
    /// window.
    pub counts: StatusCounts,
    /// Tasks ended per interval over the window, oldest first; an interval
    /// where none ended is there with zeros.
    pub ended: Vec<EndedInterval>,
    pub interval_seconds: u32,
    /// The nodes sharing the queue, with what each runs.
    pub nodes: Vec<Node>,
    /// The last few failed tasks, newest first.
    pub recent_failures: Vec<RecentFailure>,
    /// The task submitted last. A page listing tasks reads them again when
    /// this or a count differs from what it last saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_task_id: Option<String>,
}

/// The window of an overview.
#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OverviewQuery {
    /// How far back `ended` reaches, in seconds (15 minutes unless given);
    /// it is cut into 30 intervals.
    #[param(minimum = 60, maximum = 86400)]
    pub window: Option<u32>,
}
