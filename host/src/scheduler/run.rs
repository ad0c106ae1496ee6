//! One claimed task, from its lease to its recorded end.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sandrun_api::{Outcome, Runtime};
use tracing::Instrument;

use super::event_writer::{EventWriter, RunId};
use super::{LocalRun, Scheduler};
use crate::sandbox::{SessionInput, StoredState, Task};
use crate::storage::{
    ArtifactWrite, Claimed, RunEnd, SessionWrite, StateWrite, StorageError, now_ms, status_for,
};
use crate::task_request::to_task;
use crate::worker::RunError;

/// Why a claimed task did not reach the sandbox.
enum Unrunnable {
    /// The request itself can never run: fail it.
    Invalid(String),
    /// The database failed: give it back for a retry.
    Storage(StorageError),
    /// Its session's state changed while it was being read (a restart):
    /// give it back, to start from what the session is now.
    Changed,
}

impl From<Unrunnable> for RunError {
    fn from(unrunnable: Unrunnable) -> Self {
        match unrunnable {
            Unrunnable::Invalid(error) => RunError::Refused(error),
            Unrunnable::Storage(error) => RunError::Infrastructure(error.to_string()),
            Unrunnable::Changed => RunError::Infrastructure(CHANGED.into()),
        }
    }
}

const CHANGED: &str = "the session changed as its run began";

/// A claimed task, and when this node started it.
struct Run<'a> {
    claimed: &'a Claimed,
    started: Instant,
}

impl Run<'_> {
    /// How long ago its task was submitted.
    fn since_created(&self) -> Duration {
        let ms = now_ms().saturating_sub(self.claimed.created_at);
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }
}

/// The longest wait before a retry.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

impl Scheduler {
    pub(super) async fn run_one(&self, claimed: Claimed, running: &LocalRun) {
        let span = tracing::info_span!(
            "task",
            task_id = %claimed.id,
            attempt = claimed.attempt,
            session_id = claimed.session_id.as_deref(),
        );
        let run = Run {
            claimed: &claimed,
            started: Instant::now(),
        };
        self.metrics
            .run_started(claimed.request.runtime, run.since_created());
        self.run_claimed(&run, running).instrument(span).await;
        self.notifier.notify(&claimed.id);
    }

    async fn run_claimed(&self, run: &Run<'_>, running: &LocalRun) {
        let claimed = run.claimed;
        let (id, attempt) = (claimed.id.as_str(), claimed.attempt);
        let (task, generation) = match self.sandbox_task(claimed, false).await {
            Ok(task) => task,
            Err(Unrunnable::Invalid(error)) => {
                return self.record(run, RunEnd::failed(&error, &[])).await;
            }
            Err(Unrunnable::Storage(e)) => return self.retry(run, &e.to_string()).await,
            Err(Unrunnable::Changed) => return self.retry(run, CHANGED).await,
        };
        tracing::debug!("running");
        let events = EventWriter::start(
            self.storage.clone(),
            self.notifier.clone(),
            RunId {
                task: id.to_owned(),
                attempt,
            },
        );
        let run_task = |task: Task| {
            self.executor
                .run(task, running.cancel.clone(), events.writer.clone())
        };
        let ran = match run_task(task).await {
            // Sent without its state to where its session was held live, but
            // it was not: again, with the state's bytes.
            Err(RunError::StateNotHeld) => match self.sandbox_task(claimed, true).await {
                Ok((task, again)) if again == generation => run_task(task).await,
                Ok(_) => Err(Unrunnable::Changed.into()),
                Err(unrunnable) => Err(unrunnable.into()),
            },
            ran => ran,
        };
        let unwritten = events.finish().await;
        if let Ok(ran) = &ran {
            self.metrics.host_calls(&ran.host_calls);
        }
        match ran {
            Ok(ran)
                if ran.result.outcome == Outcome::Cancelled
                    && running.interrupted.load(Ordering::SeqCst) =>
            {
                self.append(id, &unwritten).await;
                self.give_back(id, attempt).await;
            }
            Ok(ran) => {
                let result = ran.result;
                tracing::info!(
                    outcome = result.outcome.name(),
                    fuel = result.fuel_used,
                    "ran"
                );
                let session = claimed
                    .session_id
                    .as_deref()
                    .map(|session_id| SessionWrite {
                        session_id,
                        generation,
                        state: ran.state.as_ref().map(|state| StateWrite {
                            token: &state.token,
                            bytes: &state.bytes,
                        }),
                    });
                let artifacts: Vec<ArtifactWrite> = result
                    .artifacts
                    .iter()
                    .zip(&ran.artifacts)
                    .map(|(info, bytes)| ArtifactWrite { info, bytes })
                    .collect();
                let end = RunEnd {
                    status: status_for(&result),
                    result: Some(&result),
                    error: None,
                    events: &unwritten,
                    session,
                    artifacts: &artifacts,
                };
                self.record(run, end).await;
            }
            Err(error @ (RunError::Infrastructure(_) | RunError::StateNotHeld)) => {
                self.append(id, &unwritten).await;
                self.retry(run, &error.to_string()).await
            }
            Err(RunError::Refused(error)) => {
                self.record(run, RunEnd::failed(&error, &unwritten)).await
            }
        }
    }

    /// The sandbox's task for `claimed`; for a session's run, with the
    /// session's state (its bytes only `with_bytes`: without, the run is
    /// for the live instance holding that state) and the generation it is
    /// of.
    async fn sandbox_task(
        &self,
        claimed: &Claimed,
        with_bytes: bool,
    ) -> Result<(Task, i64), Unrunnable> {
        let module: Arc<[u8]> = match (claimed.request.runtime, &claimed.request.module) {
            (Runtime::Wasm, Some(hash)) => match self.module_bytes.get(hash) {
                Some(bytes) => bytes,
                None => match self.storage.registry().module(hash).await {
                    Ok(Some(bytes)) => {
                        let bytes: Arc<[u8]> = bytes.into();
                        self.module_bytes.insert(hash, bytes.clone());
                        bytes
                    }
                    Ok(None) => {
                        return Err(Unrunnable::Invalid(format!(
                            "module {hash} is not uploaded"
                        )));
                    }
                    Err(e) => return Err(Unrunnable::Storage(e)),
                },
            },
            _ => Arc::from(Vec::new()),
        };
        let mut task =
            to_task(&claimed.request, module).map_err(|e| Unrunnable::Invalid(e.to_string()))?;
        let Some(session_id) = &claimed.session_id else {
            return Ok((task, 0));
        };
        let stored = match self.storage.sessions().run_state(session_id).await {
            Ok(Some(stored)) => stored,
            Ok(None) => return Err(Unrunnable::Invalid("the session has ended".into())),
            Err(e) => return Err(Unrunnable::Storage(e)),
        };
        let state = match stored.token {
            None => None,
            Some(token) if !with_bytes => Some(StoredState { token, bytes: None }),
            Some(token) => match self.storage.sessions().state(session_id).await {
                Ok(Some((read, bytes))) if read == token => Some(StoredState {
                    token,
                    bytes: Some(bytes.into()),
                }),
                Ok(_) => return Err(Unrunnable::Changed),
                Err(e) => return Err(Unrunnable::Storage(e)),
            },
        };
        task.session = Some(SessionInput {
            id: session_id.clone(),
            state,
            max_state_bytes: stored.max_state_bytes,
        });
        Ok((task, stored.generation))
    }

    async fn record(&self, run: &Run<'_>, end: RunEnd<'_>) {
        let (id, attempt) = (run.claimed.id.as_str(), run.claimed.attempt);
        self.let_go(id);
        match self
            .storage
            .finish(id, attempt, &self.config.node_id, end)
            .await
        {
            Ok(true) => {
                let runtime = run.claimed.request.runtime;
                self.metrics.task_ended(runtime, end.status, end.result);
                if let Some(result) = end.result {
                    let took = run.started.elapsed();
                    self.metrics
                        .run_ended(runtime, result, took, run.since_created());
                }
            }
            Ok(false) => tracing::warn!("result discarded: the task was reclaimed while it ran"),
            // The lease will expire and the task will run again.
            Err(e) => tracing::error!(error = %e, "could not record the result"),
        }
    }

    /// The run is over and its end is about to release the lease: this node
    /// no longer holds the task, so a renewal that misses it is not a lost
    /// lease, and a cancel has nothing left to stop.
    fn let_go(&self, id: &str) {
        self.running.remove(id);
    }

    /// Write output the run produced before it was given back.
    async fn append(&self, id: &str, events: &[sandrun_api::TaskEvent]) {
        if events.is_empty() {
            return;
        }
        if let Err(e) = self.storage.append_events(id, events).await {
            tracing::warn!(error = %e, "could not record output events");
        }
    }

    /// An infrastructure failure: queue it again after a backoff, or fail
    /// it when its attempts are used up.
    async fn retry(&self, run: &Run<'_>, error: &str) {
        let (id, attempt) = (run.claimed.id.as_str(), run.claimed.attempt);
        self.let_go(id);
        tracing::warn!(error, "infrastructure failure");
        self.metrics.run_retried(run.claimed.request.runtime);
        let delay = backoff(self.config.retry_base, attempt);
        if let Err(e) = self
            .storage
            .release(id, attempt, &self.config.node_id, delay, error, true)
            .await
        {
            tracing::error!(error = %e, "could not give the task back");
        }
    }

    /// Interrupted by this node's shutdown: queue it again, attempt unused.
    pub(super) async fn give_back(&self, id: &str, attempt: u32) {
        self.let_go(id);
        let error = "interrupted by a server shutdown";
        if let Err(e) = self
            .storage
            .release(
                id,
                attempt,
                &self.config.node_id,
                Duration::ZERO,
                error,
                false,
            )
            .await
        {
            tracing::error!(error = %e, "could not give the task back");
        }
    }
}

/// Exponential backoff with jitter: `base × 2^(attempt-1)`, times 0.5 to 1.5.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let exponential = base.saturating_mul(1 << attempt.saturating_sub(1).min(16));
    exponential.min(MAX_BACKOFF).mul_f64(0.5 + fastrand::f64())
}
