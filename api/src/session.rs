//! Sessions: Python whose variables, imports and `/tmp` files outlive a
//! run. A session's runs are tasks (the same record, events and cancel),
//! queued one after another in the order they were submitted.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{Blob, Limits, Runtime, constraints};

/// A session to open, as submitted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    /// `python`, the only runtime whose state a session can keep.
    #[serde(default)]
    #[schema(schema_with = constraints::session_runtime)]
    pub runtime: Runtime,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(schema_with = constraints::env)]
    pub env: BTreeMap<String, String>,
    /// Files every run finds read-only under `/input`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(schema_with = constraints::files)]
    pub files: BTreeMap<String, Blob>,
    /// The key-value namespace the runs' `kv` host calls use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,128}$")]
    pub kv_namespace: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(schema_with = constraints::labels)]
    pub labels: BTreeMap<String, String>,
    /// Each run's limits unless the run sets its own; `memory_bytes` is the
    /// session's, below, and may not be set here.
    #[serde(default, deserialize_with = "crate::de::object")]
    pub limits: Limits,
    /// Linear memory of the session's interpreter, which its state keeps
    /// from run to run.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::de::optional_integer"
    )]
    #[schema(minimum = 1)]
    pub memory_bytes: Option<u64>,
    /// The most the session's stored state may take; a run that would
    /// leave more ends `state_exceeded` and is rolled back.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::de::optional_integer"
    )]
    #[schema(minimum = 1)]
    pub max_state_bytes: Option<u64>,
    /// Seconds without a run after which the session ends (default 600).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::de::optional_integer"
    )]
    #[schema(minimum = 1)]
    pub idle_timeout: Option<u64>,
    /// Seconds the session lives at most (default 86400).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::de::optional_integer"
    )]
    #[schema(minimum = 1)]
    pub ttl: Option<u64>,
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// No run queued or running.
    Idle,
    /// A run is queued or running.
    Running,
    /// Idle too long or past its lifetime (or, in the answer to its
    /// DELETE, deleted); its state is gone.
    Ended,
}

impl SessionStatus {
    pub const ALL: [SessionStatus; 3] = [
        SessionStatus::Idle,
        SessionStatus::Running,
        SessionStatus::Ended,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SessionStatus::Idle => "idle",
            SessionStatus::Running => "running",
            SessionStatus::Ended => "ended",
        }
    }

    pub fn parse(name: &str) -> Option<SessionStatus> {
        SessionStatus::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// A session as the server reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Session {
    pub id: String,
    pub status: SessionStatus,
    pub runtime: Runtime,
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_namespace: Option<String>,
    /// The runs' default limits, as given.
    pub limits: Limits,
    pub memory_bytes: u64,
    pub max_state_bytes: u64,
    /// Seconds.
    pub idle_timeout: u64,
    /// Seconds.
    pub ttl: u64,
    /// RFC 3339 times.
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_at: Option<String>,
    /// When it ends if no run comes first (its idle timeout or its
    /// lifetime, whichever is sooner).
    pub expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Why it ended: `deleted`, `idle` or `expired`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    /// Bytes its stored state takes.
    pub state_bytes: u64,
    /// Runs submitted so far.
    pub runs: u64,
    /// The session this one was forked from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forked_from: Option<String>,
}

/// One run of a session's code.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// Python source. Its trailing expression's `repr` is the result's
    /// `value`, as a REPL shows it.
    #[schema(pattern = r"^[^\u0000]*$")]
    pub code: String,
    /// JSON the guest reads with the `input` host call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<serde_json::Value>,
    /// This run's limits, over the session's; not `memory_bytes`.
    #[serde(default, deserialize_with = "crate::de::object")]
    pub limits: Limits,
    /// The same key with the same body returns the same run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 256)]
    pub idempotency_key: Option<String>,
}

/// One page of sessions, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionPage {
    pub sessions: Vec<Session>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Filters for listing sessions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SessionQuery {
    pub status: Option<SessionStatus>,
    /// `key=value`: only sessions with this label.
    #[param(pattern = "=")]
    pub label: Option<String>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}
