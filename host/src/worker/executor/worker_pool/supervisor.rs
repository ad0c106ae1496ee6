//! Keeps one worker process alive for as long as the server runs.
//!
//! A process that dies mid-job fails that job as an infrastructure failure
//! (the scheduler retries it with its own backoff) and is replaced. A
//! replacement that dies again before finishing a job, or cannot start at
//! all, waits longer each time, so a broken installation logs an error a few
//! times a minute instead of spinning. While a worker cannot start, the jobs
//! it takes fail with the reason, so their tasks end with a clear error
//! rather than waiting forever.
//!
//! Besides the pool's queue, a worker takes jobs from its own inbox (runs
//! of sessions it holds live), those first.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::affinity::Affinity;
use super::child::{ChildError, WorkerChild, WorkerSpawn};
use crate::metrics::Metrics;
use crate::sandbox::LimitPolicy;
use crate::worker::executor::slot_job::{SlotJob, WaitingJobs};
use crate::worker::run_error::RunError;

/// One worker slot of the pool, as its supervisor keeps it.
pub struct Supervised {
    pub index: usize,
    pub spawn: Arc<WorkerSpawn>,
    pub policy: LimitPolicy,
    /// Runs of the sessions this worker holds live.
    pub inbox: mpsc::Receiver<SlotJob>,
    pub affinity: Arc<Affinity>,
    pub metrics: Metrics,
}

const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(30);

pub async fn supervise(mut worker: Supervised, waiting: WaitingJobs) {
    let index = worker.index;
    // Consecutive lives that ended without finishing a job.
    let mut failures = 0u32;
    for life in 0u64.. {
        if life > 0 {
            worker.metrics.worker_restarted();
        }
        let delay = match WorkerChild::start(&worker.spawn, &worker.policy).await {
            Ok(mut child) => {
                tracing::debug!(worker = index, pid = child.pid(), "worker process ready");
                let served = serve_jobs(&mut child, &mut worker, &waiting).await;
                // Whatever it held live died with it.
                worker.affinity.lost(index);
                let Some((error, finished_any)) = served else {
                    return;
                };
                failures = if finished_any { 0 } else { failures + 1 };
                tracing::warn!(worker = index, %error, "worker process lost; restarting it");
                restart_delay(failures)
            }
            Err(error) => {
                failures += 1;
                tracing::error!(worker = index, %error, "worker process failed to start");
                let delay = restart_delay(failures);
                if !fail_jobs_for(delay, &mut worker.inbox, &waiting, &error).await {
                    return;
                }
                continue;
            }
        };
        tokio::time::sleep(delay).await;
    }
}

/// Give `child` jobs until it is lost; answers why, and whether it finished
/// any job. `None` when the pool has closed.
async fn serve_jobs(
    child: &mut WorkerChild,
    worker: &mut Supervised,
    waiting: &WaitingJobs,
) -> Option<(ChildError, bool)> {
    let mut finished_any = false;
    loop {
        let job = tokio::select! {
            biased;
            error = child.idle_failure() => return Some((error, finished_any)),
            Some(job) = worker.inbox.recv() => job,
            job = waiting.next() => job?,
        };
        worker.affinity.set_busy(worker.index, true);
        let run = child.run(&job).await;
        if let (Some(session), Ok(outcome)) = (&job.task.session, &run) {
            let kept = outcome.as_ref().is_ok_and(|ran| ran.state.is_some());
            worker.affinity.ran(worker.index, &session.id, kept);
        }
        worker.affinity.set_busy(worker.index, false);
        match run {
            Ok(outcome) => {
                job.answer(outcome);
                finished_any = true;
            }
            Err(error) => {
                job.answer(Err(RunError::Infrastructure(error.to_string())));
                return Some((error, finished_any));
            }
        }
    }
}

/// Until `delay` passes, answer the jobs this worker would have run with
/// the reason it cannot. Answers whether the pool is still open.
async fn fail_jobs_for(
    delay: Duration,
    inbox: &mut mpsc::Receiver<SlotJob>,
    waiting: &WaitingJobs,
    error: &ChildError,
) -> bool {
    let deadline = tokio::time::sleep(delay);
    tokio::pin!(deadline);
    loop {
        let job = tokio::select! {
            () = &mut deadline => return true,
            Some(job) = inbox.recv() => Some(job),
            job = waiting.next() => job,
        };
        let Some(job) = job else { return false };
        job.answer(Err(RunError::Infrastructure(format!(
            "no worker process: {error}"
        ))));
    }
}

/// No wait after a worker that did some work; then 100 ms, doubling to 30 s.
fn restart_delay(failures: u32) -> Duration {
    match failures {
        0 => Duration::ZERO,
        n => FIRST_DELAY
            .saturating_mul(1 << (n - 1).min(16))
            .min(MAX_DELAY),
    }
}
