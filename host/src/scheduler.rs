//! Puts queued tasks on the sandbox's execution slots.
//!
//! The database is the queue: a slot claims a task with a lease, runs it on
//! a worker (no transaction open meanwhile), and records the
//! result fenced on attempt and owner. One loop renews every lease this node
//! holds in a single update, which also carries cancel requests from other
//! nodes; another gives back leases whose node died. Guest faults are
//! results; only infrastructure failures are retried, with backoff.

mod event_writer;
mod heartbeat;
mod hints;
mod module_bytes;
mod notifier;
mod run;
mod sessions;
mod submit;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use tokio::sync::{Mutex, Notify, OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use notifier::{Notifier, Subscription};
pub use submit::{SessionPolicy, SubmitError, SubmitPolicy, Submitter};

use crate::metrics::Metrics;
use crate::sandbox::CancelHandle;
use crate::storage::{Cancelled, ClaimFor, Claimed, Storage, StorageError};
use crate::worker::Executor;

/// How the scheduler behaves; see the server's configuration.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// Tasks run at once on this node.
    pub slots: usize,
    /// How long a claim lasts without renewal.
    pub lease: Duration,
    /// How often the queue is polled when nothing wakes the scheduler.
    pub poll_interval: Duration,
    /// First retry delay after an infrastructure failure; doubles per attempt.
    pub retry_base: Duration,
    /// How long ended tasks are kept.
    pub retention: Duration,
    /// Where this node's API listens, for the node registry.
    pub address: String,
    /// This boot of this node: the owner of its leases, and the `node`
    /// label of its metrics; see [`new_node_id`].
    pub node_id: String,
}

/// A new node id, different at every boot.
pub fn new_node_id() -> String {
    format!("node-{}", uuid::Uuid::now_v7())
}

/// A task running on this node.
#[derive(Debug)]
struct LocalRun {
    attempt: u32,
    cancel: CancelHandle,
    /// Stopped by this node's shutdown, not by a user: give it back.
    interrupted: AtomicBool,
}

pub struct Scheduler {
    storage: Arc<dyn Storage>,
    executor: Arc<Executor>,
    notifier: Arc<Notifier>,
    config: SchedulerConfig,
    metrics: Metrics,
    running: DashMap<String, Arc<LocalRun>>,
    module_bytes: module_bytes::ModuleBytes,
    /// One permit per slot: held by each task running here.
    slots: Arc<Semaphore>,
    /// Tasks the API inserted already claimed, each with its slot.
    admitted: mpsc::UnboundedSender<Admitted>,
    admissions: Mutex<mpsc::UnboundedReceiver<Admitted>>,
    wake: Notify,
    stopping: AtomicBool,
}

/// A task inserted already running on this node, and the slot it holds.
type Admitted = (Claimed, OwnedSemaphorePermit);

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("node_id", &self.config.node_id)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    pub fn new(
        storage: Arc<dyn Storage>,
        executor: Arc<Executor>,
        notifier: Arc<Notifier>,
        metrics: Metrics,
        config: SchedulerConfig,
    ) -> Self {
        let (admitted, admissions) = mpsc::unbounded_channel();
        Scheduler {
            storage,
            executor,
            notifier,
            slots: Arc::new(Semaphore::new(config.slots)),
            admitted,
            admissions: Mutex::new(admissions),
            config,
            metrics,
            running: DashMap::new(),
            module_bytes: module_bytes::ModuleBytes::default(),
            wake: Notify::new(),
            stopping: AtomicBool::new(false),
        }
    }

    /// What this node records as it works.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Tasks running on this node now.
    pub fn running_here(&self) -> usize {
        self.running.len()
    }

    /// New work was queued: look now rather than at the next poll.
    fn wake(&self) {
        self.wake.notify_one();
    }

    /// A free slot for a task about to be inserted, if there is one and
    /// this node is not stopping; with it, the claim to insert the task
    /// under. Hand the inserted task to [`Scheduler::start_admitted`].
    fn try_admit(&self) -> Option<(OwnedSemaphorePermit, ClaimFor)> {
        if self.stopping.load(Ordering::SeqCst) {
            return None;
        }
        let permit = self.slots.clone().try_acquire_owned().ok()?;
        let claim = ClaimFor {
            owner: self.config.node_id.clone(),
            lease: self.config.lease,
        };
        Some((permit, claim))
    }

    /// Run a task that was inserted already claimed by this node.
    fn start_admitted(&self, task: Claimed, permit: OwnedSemaphorePermit) {
        if self.admitted.send((task, permit)).is_err() {
            // The scheduler has stopped; the lease expires (or, on SQLite,
            // the next start gives the task back) and it runs again.
            tracing::warn!("a task was admitted as the scheduler stopped");
        }
    }

    /// Cancel task `id`: a queued one at once; a running one is stopped
    /// at once if it runs here, else by its node within a lease renewal.
    /// A task whose cancel was requested never runs again, even if its
    /// node stops before the guest does.
    pub async fn cancel(&self, id: &str) -> Result<Cancelled, StorageError> {
        let cancelled = self.storage.cancel(id).await?;
        match &cancelled {
            Cancelled::Now(task) => {
                let runtime = task.request.runtime;
                self.metrics
                    .task_ended(runtime, sandrun_api::TaskStatus::Cancelled, None);
                self.notifier.notify(id);
            }
            Cancelled::Requested(_) => {
                self.cancel_local(id);
            }
            Cancelled::AlreadyEnded(_) | Cancelled::NotFound => {}
        }
        Ok(cancelled)
    }

    /// Stop a task this node is running, at once. Answers whether it runs here.
    fn cancel_local(&self, id: &str) -> bool {
        match self.running.get(id) {
            Some(running) => {
                running.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Run until `shutdown` is cancelled; then stop claiming, let running
    /// tasks finish for up to `grace`, and interrupt the rest so that they
    /// are retried later.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken, grace: Duration) {
        let mut loops = JoinSet::new();
        loops.spawn(self.clone().renew_leases());
        loops.spawn(self.clone().reclaim_expired());
        loops.spawn(self.clone().prune_old_tasks());
        loops.spawn(self.clone().end_expired_sessions());
        loops.spawn(self.clone().heartbeat());
        if let Some(hints) = self.storage.listen() {
            loops.spawn(self.clone().follow_hints(hints));
        }
        let mut admissions = self.admissions.lock().await;
        let mut runs = JoinSet::new();
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = self.clone().dispatch(&mut admissions, &mut runs) => {}
        }
        self.stopping.store(true, Ordering::SeqCst);
        // Admitted but never started: give them back at once.
        admissions.close();
        while let Some((task, _permit)) = admissions.recv().await {
            self.give_back(&task.id, task.attempt).await;
        }
        tracing::info!(running = self.running.len(), "scheduler stopping");
        if tokio::time::timeout(grace, wait_all(&mut runs))
            .await
            .is_err()
        {
            for entry in self.running.iter() {
                entry.interrupted.store(true, Ordering::SeqCst);
                entry.cancel.cancel();
            }
            wait_all(&mut runs).await;
        }
        loops.abort_all();
        // Wait for them to go, so nothing of this scheduler (its database
        // handle included) outlives `run`.
        while loops.join_next().await.is_some() {}
    }

    /// Claim work whenever a slot is free, and start admitted tasks.
    async fn dispatch(
        self: Arc<Self>,
        admissions: &mut mpsc::UnboundedReceiver<Admitted>,
        runs: &mut JoinSet<()>,
    ) {
        loop {
            while runs.try_join_next().is_some() {}
            let permit = tokio::select! {
                Some((task, permit)) = admissions.recv() => {
                    self.start(task, permit, runs);
                    continue;
                }
                permit = self.slots.clone().acquire_owned() => permit.expect("never closed"),
            };
            let wanted = 1 + self.slots.available_permits();
            let claimed = match self
                .storage
                .claim(&self.config.node_id, wanted, self.config.lease)
                .await
            {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming tasks failed; retrying");
                    Vec::new()
                }
            };
            if claimed.is_empty() {
                drop(permit);
                tokio::select! {
                    Some((task, permit)) = admissions.recv() => self.start(task, permit, runs),
                    _ = tokio::time::timeout(self.config.poll_interval, self.wake.notified()) => {}
                }
                continue;
            }
            let mut permit = Some(permit);
            for task in claimed {
                let permit = match permit.take() {
                    Some(p) => p,
                    None => self
                        .slots
                        .clone()
                        .acquire_owned()
                        .await
                        .expect("never closed"),
                };
                self.start(task, permit, runs);
            }
        }
    }

    /// Run `task` in the slot `permit` holds.
    fn start(
        self: &Arc<Self>,
        task: Claimed,
        permit: OwnedSemaphorePermit,
        runs: &mut JoinSet<()>,
    ) {
        let running = Arc::new(LocalRun {
            attempt: task.attempt,
            cancel: CancelHandle::new(),
            interrupted: AtomicBool::new(false),
        });
        self.running.insert(task.id.clone(), running.clone());
        let scheduler = self.clone();
        // The run leaves `running` as its end is written (`let_go`).
        runs.spawn(async move {
            scheduler.run_one(task, &running).await;
            drop(permit);
        });
    }

    /// Renew every lease this node holds in one update; stop tasks whose
    /// lease was lost or whose cancel was requested on another node.
    async fn renew_leases(self: Arc<Self>) {
        let every = (self.config.lease / 3).min(Duration::from_secs(1));
        loop {
            tokio::time::sleep(every).await;
            let held: Vec<(String, u32)> = self
                .running
                .iter()
                .map(|e| (e.key().clone(), e.attempt))
                .collect();
            if held.is_empty() {
                continue;
            }
            let renewed = match self
                .storage
                .renew(&self.config.node_id, &held, self.config.lease)
                .await
            {
                Ok(renewed) => renewed,
                Err(e) => {
                    tracing::warn!(error = %e, "renewing leases failed");
                    continue;
                }
            };
            for (id, _) in &held {
                match renewed.iter().find(|r| &r.id == id) {
                    // It ended meanwhile: its lease was released, not lost.
                    None if !self.running.contains_key(id) => {}
                    None => {
                        tracing::warn!(task_id = %id, "lease lost; stopping the local run");
                        self.cancel_local(id);
                    }
                    Some(r) if r.cancel_requested => {
                        self.cancel_local(id);
                    }
                    Some(_) => {}
                }
            }
        }
    }

    /// Give back tasks whose node stopped renewing their lease.
    async fn reclaim_expired(self: Arc<Self>) {
        loop {
            tokio::time::sleep(self.config.lease / 2).await;
            match self.storage.reclaim_expired().await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(tasks = n, "reclaimed tasks with expired leases");
                    self.metrics.leases_reclaimed(n);
                    self.wake();
                }
                Err(e) => tracing::warn!(error = %e, "reclaiming expired leases failed"),
            }
        }
    }

    /// Delete ended tasks and sessions, and nodes silent for longer than
    /// the retention period, in batches.
    async fn prune_old_tasks(self: Arc<Self>) {
        const BATCH: u32 = 500;
        loop {
            let cutoff = crate::storage::now_ms() - self.config.retention.as_millis() as i64;
            loop {
                match self.storage.prune(cutoff, BATCH).await {
                    Ok(n) if n == u64::from(BATCH) => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "pruning old tasks failed");
                        break;
                    }
                }
            }
            loop {
                match self.storage.sessions().prune_sessions(cutoff, BATCH).await {
                    Ok(n) if n == u64::from(BATCH) => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "pruning old sessions failed");
                        break;
                    }
                }
            }
            if let Err(e) = self.storage.registry().forget_nodes(cutoff).await {
                tracing::warn!(error = %e, "forgetting old nodes failed");
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }
}

async fn wait_all(runs: &mut JoinSet<()>) {
    while runs.join_next().await.is_some() {}
}
