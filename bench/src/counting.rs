//! `session x += 1` and `session resume`: each client opens sessions of its
//! own and runs `x = 0` in each (uncounted); each task is one run of
//! `x += 1\nx`, whose value must be the session's next integer.
//!
//! For `session x += 1` a client has one session, which its previous task
//! just ran in: the case a cache of live sessions would serve from memory.
//! For `session resume` a client cycles through `RESUME_SESSIONS` sessions,
//! so each run's session sat idle through that client's other
//! `RESUME_SESSIONS - 1` runs (and `RESUME_SESSIONS` × clients - 1 runs in
//! all): more than the server keeps live by default (`--live-sessions`
//! 16), so it has let the session go, and the run restores it from the
//! database. Each row counts where its runs found their sessions (the
//! result's `session_start`) and prints it, so a row that did not measure
//! what it says shows it.

use sandrun_api::SessionStart;

use crate::load::{self, Plan, drive_clients};
use crate::sandrun;
use crate::sessions::{Measured, Session};

/// Run once in each session before the cell.
pub const SETUP: &str = "x = 0";
/// Each task's run.
pub const INCREMENT: &str = "x += 1\nx";
/// Sessions each client of `session resume` cycles through.
pub const RESUME_SESSIONS: usize = 40;

/// One client's sessions, each with the `x` it holds.
#[derive(Debug)]
struct Counting<'a> {
    sessions: Vec<(Session<'a>, u64)>,
    next: usize,
    /// Runs that found their session live, and all runs.
    live: usize,
    runs: usize,
}

impl load::Client for Counting<'_> {
    async fn task(&mut self) -> anyhow::Result<()> {
        let (session, x) = &mut self.sessions[self.next];
        *x += 1;
        let start = session.run(INCREMENT, Some(&x.to_string())).await?;
        self.live += usize::from(start == Some(SessionStart::Live));
        self.runs += 1;
        self.next = (self.next + 1) % self.sessions.len();
        Ok(())
    }
}

/// Measures the runs with `per_client` sessions for each client.
pub async fn measure(
    client: &sandrun::Client,
    per_client: usize,
    plan: Plan,
) -> anyhow::Result<Measured> {
    let mut clients = Vec::new();
    for _ in 0..plan.concurrency {
        let mut sessions = Vec::new();
        for _ in 0..per_client {
            let session = Session::open(client).await?;
            session.run(SETUP, None).await?;
            sessions.push((session, 0));
        }
        clients.push(Counting {
            sessions,
            next: 0,
            live: 0,
            runs: 0,
        });
    }
    let sample = drive_clients(plan.budget, &mut clients).await?;
    let live: usize = clients.iter().map(|c| c.live).sum();
    let runs: usize = clients.iter().map(|c| c.runs).sum();
    eprintln!("  {live} of {runs} runs found their session live");
    let state = clients[0].sessions[0].0.stored().await?;
    for (session, _) in clients.into_iter().flat_map(|c| c.sessions) {
        session.delete().await?;
    }
    Ok(Measured { sample, state })
}
