//! `session fork (pandas)` and `session fork request (pandas)`: a base
//! session imports pandas and builds a DataFrame (uncounted); each task
//! forks it, which copies its stored state into a new session, and for
//! `session fork (pandas)` runs once in the fork, whose value must be the
//! DataFrame's sum. Deleting the fork comes after the task, outside its
//! latency (the cell's throughput still counts it). Every client forks the
//! same base, as users would a prepared notebook.

use crate::load::{self, Plan, drive_clients};
use crate::sandrun;
use crate::sessions::{Measured, Session};

const BASE: &str = "import pandas as pd\ndf = pd.DataFrame({'v': range(1000)})";
const SUM: &str = "int(df.v.sum())";
const SUM_VALUE: &str = "499500";

#[derive(Debug)]
struct Forking<'a> {
    base: &'a Session<'a>,
    /// Whether each task runs in its fork too.
    run: bool,
    /// The last task's fork, until it is deleted.
    fork: Option<Session<'a>>,
}

impl load::Client for Forking<'_> {
    async fn task(&mut self) -> anyhow::Result<()> {
        let fork = self.fork.insert(self.base.fork().await?);
        if self.run {
            fork.run(SUM, Some(SUM_VALUE)).await?;
        }
        Ok(())
    }

    async fn tidy(&mut self) -> anyhow::Result<()> {
        match self.fork.take() {
            Some(fork) => fork.delete().await,
            None => Ok(()),
        }
    }
}

/// Measures the forks, with a run in each if `run`.
pub async fn measure(client: &sandrun::Client, run: bool, plan: Plan) -> anyhow::Result<Measured> {
    let base = Session::open(client).await?;
    base.run(BASE, None).await?;
    let mut clients: Vec<_> = (0..plan.concurrency)
        .map(|_| Forking {
            base: &base,
            run,
            fork: None,
        })
        .collect();
    let sample = drive_clients(plan.budget, &mut clients).await?;
    let state = base.stored().await?;
    drop(clients);
    base.delete().await?;
    Ok(Measured { sample, state })
}
