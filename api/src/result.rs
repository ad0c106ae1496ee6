use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{AppliedLimits, ArtifactInfo, MimeBundle, Output};

/// Why a task stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The guest finished with exit code 0.
    Succeeded,
    /// The guest finished with a non-zero exit code.
    Exited,
    /// The guest used all the fuel it was given.
    OutOfFuel,
    /// The guest ran past its wall-clock timeout.
    TimedOut,
    /// The guest tried to grow its memory past its limit.
    MemoryExceeded,
    /// The guest faulted (unreachable, out-of-bounds access, stack overflow...).
    Trapped,
    /// Somebody cancelled the task.
    Cancelled,
    /// The module could not be compiled or linked.
    InvalidModule,
    /// The guest made more host calls than its limit allows.
    HostCallsExceeded,
    /// A session run's new state would pass the session's state limit; the
    /// run is rolled back.
    StateExceeded,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Exited => "exited",
            Outcome::OutOfFuel => "out_of_fuel",
            Outcome::TimedOut => "timed_out",
            Outcome::MemoryExceeded => "memory_exceeded",
            Outcome::Trapped => "trapped",
            Outcome::Cancelled => "cancelled",
            Outcome::InvalidModule => "invalid_module",
            Outcome::HostCallsExceeded => "host_calls_exceeded",
            Outcome::StateExceeded => "state_exceeded",
        }
    }
}

/// Everything sandrun records about one run of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskResult {
    pub outcome: Outcome,
    /// The trap message for `trapped`, the reason for `invalid_module`, what
    /// ran out for the other limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The guest's exit code, when it exited by itself.
    pub exit_code: Option<i32>,
    pub stdout: Output,
    pub stderr: Output,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    pub fuel_used: u64,
    pub wall_time_ms: f64,
    /// The largest linear memory the guest had, in bytes.
    pub peak_memory_bytes: u64,
    pub limits: AppliedLimits,
    /// The structured result the guest set with the `output` host call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<serde_json::Value>,
    /// Messages the guest logged with the `log` host call, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<LogLine>,
    /// The last progress (0 to 1) the guest reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<f64>,
    /// For a session run: the `repr` of its trailing expression's value, as
    /// Python's REPL shows it (absent when there is none, or it is `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// For a session run: a limit or fault stopped it, so the session was
    /// left exactly as it was before the run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rolled_back: bool,
    /// For a session run: where the run found the session's state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_start: Option<SessionStart>,
    /// A write was refused because the guest's files would have passed its
    /// `disk_bytes` limit (the guest saw `ENOSPC`: errno 51 in WASI).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disk_exceeded: bool,
    /// What the run displayed, in order: each `sandrun.display(obj)`, a
    /// session run's trailing expression, and the matplotlib figures still
    /// open when it ended.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<MimeBundle>,
    /// Some results were not kept: the run displayed more of them, or more
    /// bytes of them, than a run may keep.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub results_truncated: bool,
    /// The files the run left under `/output`, by path, whatever its
    /// outcome; `GET /v1/tasks/{id}/artifacts/{path}` serves each one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<ArtifactInfo>,
    /// Some files under `/output` were not kept: there were more of them,
    /// or more bytes of them, than a run may keep (or a name that is not
    /// UTF-8, or something other than a file or folder).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub artifacts_truncated: bool,
}

/// Where a session's run found the session's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStart {
    /// There was none yet: the session's first run, or its first after a
    /// restart, started from the runtime's snapshot.
    New,
    /// In memory: the node that ran the session's last run kept its
    /// interpreter live, so the run started at once.
    Live,
    /// In the database: the run resumed the session from its stored state
    /// (the node had none live, or another node ran the last run).
    Stored,
}

/// Severity of a guest's log message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// One message a guest logged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LogLine {
    pub level: LogLevel,
    pub message: String,
    /// Milliseconds since the task started.
    pub at_ms: f64,
}
