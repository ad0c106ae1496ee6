//! `session x += 1` and `session resume`: each client opens sessions of its
//! own and runs `x = 0` in each (uncounted); each task is one run of
//! `x += 1\nx`, whose value must be the session's next integer.
//!
//! For `session x += 1` a client has one session, which its previous task
//! just ran in: the case a cache of live sessions would serve from memory.
//! For `session resume` a client cycles through `RESUME_SESSIONS` sessions,
//! so each run's session sat idle through that client's other
//! `RESUME_SESSIONS - 1` runs (and `RESUME_SESSIONS` × clients - 1 runs in
//! all): a cache holding fewer sessions than that has let it go, and the run
//! restores it from the database. Today sandrun keeps no live session, so
//! both rows take the same path; the row stays meaningful as long as any
//! cache that lands holds fewer sessions than that (raise it otherwise).

use crate::load::{self, Plan, drive_clients};
use crate::sandrun;
use crate::sessions::{Measured, Session};

/// Run once in each session before the cell.
pub const SETUP: &str = "x = 0";
/// Each task's run.
pub const INCREMENT: &str = "x += 1\nx";
/// Sessions each client of `session resume` cycles through.
pub const RESUME_SESSIONS: usize = 16;

/// One client's sessions, each with the `x` it holds.
#[derive(Debug)]
struct Counting<'a> {
    sessions: Vec<(Session<'a>, u64)>,
    next: usize,
}

impl load::Client for Counting<'_> {
    async fn task(&mut self) -> anyhow::Result<()> {
        let (session, x) = &mut self.sessions[self.next];
        *x += 1;
        session.run(INCREMENT, Some(&x.to_string())).await?;
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
        clients.push(Counting { sessions, next: 0 });
    }
    let sample = drive_clients(plan.budget, &mut clients).await?;
    let state = clients[0].sessions[0].0.stored().await?;
    for (session, _) in clients.into_iter().flat_map(|c| c.sessions) {
        session.delete().await?;
    }
    Ok(Measured { sample, state })
}
