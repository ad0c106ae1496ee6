//! Sessions entering the queue: opening one (its settings checked as a
//! task's would be, with the session's own limits), forking one, and each
//! run, which becomes a task made from the session's settings and the
//! run's code, input and limits, queued behind the session's earlier runs.

use std::time::Duration;

use sandrun_api::{RunRequest, Runtime, SessionRequest, TaskRequest};

use super::{SubmitError, Submitter};
use crate::storage::{NewSession, SessionChange, SessionRecord, TaskRecord, now_ms};
use crate::task_request::{RequestError, bad, validate};

/// What sessions get by default and may ask for at most.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// Sessions open at once.
    pub max_sessions: u64,
    pub default_idle_timeout: Duration,
    pub max_idle_timeout: Duration,
    pub default_ttl: Duration,
    pub max_ttl: Duration,
    pub default_max_state_bytes: u64,
    pub max_state_bytes: u64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        const HOUR: u64 = 3600;
        SessionPolicy {
            max_sessions: 1000,
            default_idle_timeout: Duration::from_secs(600),
            max_idle_timeout: Duration::from_secs(7 * 24 * HOUR),
            default_ttl: Duration::from_secs(24 * HOUR),
            max_ttl: Duration::from_secs(30 * 24 * HOUR),
            default_max_state_bytes: 256 << 20,
            max_state_bytes: 1 << 30,
        }
    }
}

impl Submitter {
    /// What sessions may ask for on this server.
    pub fn session_policy(&self) -> SessionPolicy {
        self.policy.sessions
    }

    /// Open a session: its settings checked, its defaults filled in.
    pub async fn open_session(
        &self,
        request: SessionRequest,
    ) -> Result<SessionRecord, SubmitError> {
        let settings = self.session_settings(request)?;
        self.room_for_session().await?;
        let new = NewSession {
            id: uuid::Uuid::now_v7().to_string(),
            settings,
            created_at: now_ms(),
        };
        Ok(self
            .scheduler
            .storage
            .sessions()
            .create_session(&new)
            .await?)
    }

    /// A new session from a copy of session `id`'s settings and state.
    pub async fn fork_session(&self, id: &str) -> Result<SessionRecord, SubmitError> {
        self.room_for_session().await?;
        let new = NewSession {
            id: uuid::Uuid::now_v7().to_string(),
            settings: SessionRequest::default(),
            created_at: now_ms(),
        };
        match self
            .scheduler
            .storage
            .sessions()
            .fork_session(id, &new)
            .await?
        {
            SessionChange::Done(forked) => Ok(forked),
            SessionChange::Ended(ended) => Err(SubmitError::SessionEnded(ended.gone())),
            SessionChange::NotFound => Err(SubmitError::SessionNotFound(id.to_owned())),
        }
    }

    /// Queue `run` as session `session_id`'s next run; `wait` as for a task.
    pub async fn submit_run(
        &self,
        session_id: &str,
        run: RunRequest,
        wait: Option<Duration>,
    ) -> Result<TaskRecord, SubmitError> {
        let session = self
            .scheduler
            .storage
            .sessions()
            .session(session_id)
            .await?
            .ok_or_else(|| SubmitError::SessionNotFound(session_id.to_owned()))?;
        // A bad run is refused as bad even when the session has ended.
        let request = run_request(&session.settings, run)?;
        let mut task = self.prepare(request).await?;
        if !session.takes_runs(now_ms()) {
            return Err(SubmitError::SessionEnded(session.gone()));
        }
        task.session_id = Some(session_id.to_owned());
        self.submit_prepared(task, wait).await
    }

    /// Refused when the sessions open are at the configured maximum.
    async fn room_for_session(&self) -> Result<(), SubmitError> {
        let max = self.policy.sessions.max_sessions;
        if self.scheduler.storage.sessions().open_sessions().await? >= max {
            return Err(SubmitError::TooManySessions { max });
        }
        Ok(())
    }

    /// `request` checked, with every default filled in.
    fn session_settings(&self, mut request: SessionRequest) -> Result<SessionRequest, SubmitError> {
        let policy = self.policy.sessions;
        if request.runtime != Runtime::Python {
            return Err(bad(
                "runtime",
                "sessions keep Python's state; `wasm` tasks have none",
            )
            .into());
        }
        if request.limits.memory_bytes.is_some() {
            return Err(bad(
                "limits.memory_bytes",
                "a session's memory is its `memory_bytes`, for all its runs",
            )
            .into());
        }
        request.memory_bytes = Some(
            request
                .memory_bytes
                .unwrap_or(self.sandbox.policy().defaults.memory_bytes),
        );
        let probe = run_request(&request, RunRequest::default())?;
        validate(&probe, &self.sandbox).map_err(|e| match e.field.as_str() {
            "limits.memory_bytes" => bad("memory_bytes", e.detail),
            _ => e,
        })?;
        let seconds = |field: &str, value: Option<u64>, default: Duration, max: Duration| {
            let value = value.unwrap_or(default.as_secs());
            if value == 0 || value > max.as_secs() {
                return Err(bad(
                    field,
                    format!("must be from 1 to {} seconds", max.as_secs()),
                ));
            }
            Ok(Some(value))
        };
        request.idle_timeout = seconds(
            "idle_timeout",
            request.idle_timeout,
            policy.default_idle_timeout,
            policy.max_idle_timeout,
        )?;
        request.ttl = seconds("ttl", request.ttl, policy.default_ttl, policy.max_ttl)?;
        let state = request
            .max_state_bytes
            .unwrap_or(policy.default_max_state_bytes);
        if state == 0 || state > policy.max_state_bytes {
            return Err(bad(
                "max_state_bytes",
                format!("must be from 1 to {}", policy.max_state_bytes),
            )
            .into());
        }
        request.max_state_bytes = Some(state);
        Ok(request)
    }
}

/// The task a run of a session with `settings` is: the session's
/// environment, files, namespace, labels and memory, the run's code and
/// input, and the run's limits over the session's.
fn run_request(settings: &SessionRequest, run: RunRequest) -> Result<TaskRequest, RequestError> {
    if run.limits.memory_bytes.is_some() {
        return Err(bad(
            "limits.memory_bytes",
            "a session's memory is the session's `memory_bytes`, not a run's limit",
        ));
    }
    let mut limits = run.limits.over(settings.limits);
    limits.memory_bytes = settings.memory_bytes;
    Ok(TaskRequest {
        runtime: Runtime::Python,
        code: Some(run.code),
        module: None,
        stdin: None,
        args: Vec::new(),
        env: settings.env.clone(),
        files: settings.files.clone(),
        limits,
        priority: 0,
        labels: settings.labels.clone(),
        idempotency_key: run.idempotency_key,
        input: run.input,
        kv_namespace: settings.kv_namespace.clone(),
        max_attempts: None,
        depends_on: Vec::new(),
        run_on_failure: false,
    })
}
