//! The session workloads on sandrun. A session keeps Python's variables,
//! imports and `/tmp` files from run to run; each run is one
//! `POST /v1/sessions/{id}/runs?wait=60` round trip, answered once the run
//! had its session's state (live in a worker, or restored from the
//! database), ran, and stored the new state. `counting.rs` and `forking.rs` hold the clients; this module opens,
//! runs, forks and deletes the sessions they use.

use anyhow::bail;
use sandrun_api::{Outcome, RunRequest, SessionStart, Task, TaskStatus};
use serde::Serialize;
use serde_json::json;

use crate::load::{Plan, Sample};
use crate::sandrun::{self, reply};
use crate::workload::SessionOp;
use crate::{counting, forking};

/// A session cell's figures.
#[derive(Debug)]
pub struct Measured {
    pub sample: Sample,
    /// What one of the cell's sessions stores after it: for the forks,
    /// their base's, which every fork copies.
    pub state: Stored,
}

/// A session's stored state, which every run stores anew.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Stored {
    pub bytes: u64,
    /// The runs the session had, as the state grows with them.
    pub runs: u64,
}

/// Measures `op` under `plan`, each client with sessions of its own.
pub async fn measure(
    client: &sandrun::Client,
    op: SessionOp,
    plan: Plan,
) -> anyhow::Result<Measured> {
    match op {
        SessionOp::Increment => counting::measure(client, 1, plan).await,
        SessionOp::Resume => counting::measure(client, counting::RESUME_SESSIONS, plan).await,
        SessionOp::ForkAndRun => forking::measure(client, true, plan).await,
        SessionOp::Fork => forking::measure(client, false, plan).await,
    }
}

/// One open session on the server.
#[derive(Debug)]
pub struct Session<'a> {
    client: &'a sandrun::Client,
    id: String,
}

impl<'a> Session<'a> {
    /// Opens a session with the server's defaults.
    pub async fn open(client: &'a sandrun::Client) -> anyhow::Result<Session<'a>> {
        let request = client.post("/v1/sessions").json(&json!({}));
        Ok(Session::of(
            client,
            reply("opening a session", request).await?,
        ))
    }

    /// A new session from this one's state.
    pub async fn fork(&self) -> anyhow::Result<Session<'a>> {
        let request = self.client.post(&format!("/v1/sessions/{}/fork", self.id));
        Ok(Session::of(
            self.client,
            reply("forking a session", request).await?,
        ))
    }

    fn of(client: &'a sandrun::Client, session: sandrun_api::Session) -> Session<'a> {
        Session {
            client,
            id: session.id,
        }
    }

    /// Runs `code` to its end; an error unless it succeeded with `value`
    /// as the `repr` of its trailing expression (`None` for none).
    /// Runs `code`, which must answer `value`; where the run found the
    /// session.
    pub async fn run(
        &self,
        code: &str,
        value: Option<&str>,
    ) -> anyhow::Result<Option<SessionStart>> {
        let request = self
            .client
            .post(&format!("/v1/sessions/{}/runs?wait=60", self.id))
            .json(&RunRequest {
                code: code.to_owned(),
                ..RunRequest::default()
            });
        let task: Task = reply("a session run", request).await?;
        let result = task.result.as_ref();
        if task.status != TaskStatus::Succeeded
            || result.map(|r| r.outcome) != Some(Outcome::Succeeded)
            || result.and_then(|r| r.value.as_deref()) != value
        {
            bail!("the session run {code:?} did not answer {value:?}: {task:?}");
        }
        Ok(result.and_then(|r| r.session_start))
    }

    /// Its stored state now.
    pub async fn stored(&self) -> anyhow::Result<Stored> {
        let request = self.client.get(&format!("/v1/sessions/{}", self.id));
        let session: sandrun_api::Session = reply("reading a session", request).await?;
        Ok(Stored {
            bytes: session.state_bytes,
            runs: session.runs,
        })
    }

    /// Deletes it with its state.
    pub async fn delete(self) -> anyhow::Result<()> {
        let request = self.client.delete(&format!("/v1/sessions/{}", self.id));
        reply::<sandrun_api::Session>("deleting a session", request).await?;
        Ok(())
    }
}
