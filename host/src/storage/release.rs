//! What giving a held task back does, decided in one place: retried while
//! attempts remain, failed once they are used up, and cancelled whatever
//! its attempts if a user asked for that while it ran (a cancelled task is
//! never run again, even when its node stops before the guest does).

use std::time::Duration;

use sandrun_api::{TaskEvent, TaskStatus};

use super::{now_ms, status_event};

/// The new state of a task given back after an infrastructure failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Release {
    /// No attempts left: it fails with this error.
    Fail { error: String },
    /// A cancel was requested while it ran: it ends cancelled.
    Cancel { error: String },
    /// Queued again as `attempt` (attempts used so far), runnable from `run_after`.
    Requeue {
        attempt: u32,
        run_after: i64,
        error: String,
    },
}

impl Release {
    /// See [`super::Storage::release`].
    pub(super) fn plan(
        attempt: u32,
        max_attempts: u32,
        cancel_requested: bool,
        retry_after: Duration,
        error: &str,
        counts: bool,
    ) -> Release {
        if cancel_requested {
            Release::Cancel {
                error: format!("cancelled; the run stopped without a result: {error}"),
            }
        } else if counts && attempt >= max_attempts {
            Release::Fail {
                error: format!("{error} (attempt {attempt} of {max_attempts}; no attempts left)"),
            }
        } else {
            Release::Requeue {
                attempt: if counts { attempt } else { attempt - 1 },
                run_after: now_ms() + retry_after.as_millis() as i64,
                error: error.to_owned(),
            }
        }
    }

    /// The status event it records.
    pub(super) fn event(&self, attempt: u32) -> TaskEvent {
        let now = now_ms();
        match self {
            Release::Fail { .. } => status_event(TaskStatus::Failed, attempt, now),
            Release::Cancel { .. } => status_event(TaskStatus::Cancelled, attempt, now),
            Release::Requeue { attempt, .. } => status_event(TaskStatus::Queued, *attempt, now),
        }
    }
}

/// Why an expired lease is given back.
pub(super) const NODE_STOPPED: &str = "the node running it stopped";
