//! The composition root: the one place the server is put together from its
//! settings (sandbox, storage, executor, scheduler, submission, HTTP) and
//! the one place it is stopped. One [`CancellationToken`] reaches
//! everything that must stop: the HTTP server stops accepting, long
//! requests (waits, event streams) end, and the scheduler lets running
//! tasks finish for the grace period before interrupting them.
//!
//! Each connection is served under its limits by `connections`, on the
//! API's listener and, with `--metrics-bind`, on the metrics' own.
//!
//! Tests build the same application on port 0 with their own database and
//! a shared, already loaded sandbox.

mod connections;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::configuration::{Database, Settings};
use crate::home::Home;
use crate::metrics::Metrics;
use crate::progress::Progress;
use crate::runtime;
use crate::sandbox::{LiveSessions, Sandbox};
use crate::scheduler::{
    Notifier, Scheduler, SchedulerConfig, SubmitPolicy, Submitter, new_node_id,
};
use crate::server::{self, AppState};
use crate::storage::{PostgresStorage, SqliteStorage, Storage};
use crate::worker::{Executor, TaskThreads, WorkerPool};
pub use connections::ConnectionLimits;

/// The sandbox `settings` call for, with the Python runtime installed on
/// first use and loaded. With worker processes it only makes the snapshot
/// and checks uploaded modules; without, it runs every slot's task.
pub fn load_sandbox(
    settings: &Settings,
    home: &Home,
    progress: &dyn Progress,
) -> anyhow::Result<Sandbox> {
    // With workers, the server's own sandbox runs no task.
    let (tasks_at_once, live) = if settings.workers.is_some() {
        (1, LiveSessions::NONE)
    } else {
        (settings.slots, settings.live)
    };
    let sandbox = Sandbox::new(home, settings.limits, tasks_at_once, live)?;
    let installed = runtime::ensure(home, "python", progress)?;
    sandbox.load_python(&installed, settings.pre_import.as_deref(), progress)?;
    Ok(sandbox)
}

/// Open the configured database, bringing its schema up to date.
pub async fn open_storage(database: &Database) -> anyhow::Result<Arc<dyn Storage>> {
    match database {
        Database::Sqlite(path) => {
            let storage = SqliteStorage::open(path)
                .await
                .with_context(|| format!("opening {}", path.display()))?;
            Ok(Arc::new(storage))
        }
        Database::Postgres(options) => {
            let storage = PostgresStorage::open(options)
                .await
                .context("opening the Postgres database")?;
            Ok(Arc::new(storage))
        }
    }
}

async fn bind(address: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .with_context(|| format!("binding {address}"))
}

/// The server, built and bound, not yet serving.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    /// `--metrics-bind`'s, serving `/metrics` alone.
    metrics_listener: Option<TcpListener>,
    state: AppState,
    shutdown: CancellationToken,
    grace: Duration,
    connections: ConnectionLimits,
}

impl Application {
    pub async fn build(settings: &Settings, sandbox: Arc<Sandbox>) -> anyhow::Result<Self> {
        let node_id = new_node_id();
        let metrics = Metrics::new(&node_id);
        let storage = open_storage(&settings.database).await?;
        // On SQLite the file is locked to this server, so anything marked
        // running was left by a previous run of it that died.
        let reclaimed = storage.reclaim_all_running().await?;
        if reclaimed > 0 {
            tracing::warn!(
                tasks = reclaimed,
                "requeued tasks left running by a previous run"
            );
            metrics.leases_reclaimed(reclaimed);
        }
        let listener = bind(settings.bind).await?;
        let metrics_listener = match settings.metrics_bind {
            Some(address) => Some(bind(address).await?),
            None => None,
        };
        let notifier = Arc::new(Notifier::new());
        let executor = match &settings.workers {
            Some(spawn) => Executor::Workers(WorkerPool::start(
                spawn.clone(),
                settings.limits,
                metrics.clone(),
            )),
            None => Executor::InProcess(
                TaskThreads::start(sandbox.clone(), settings.slots)
                    .context("cannot start the task threads")?,
            ),
        };
        let scheduler = Arc::new(Scheduler::new(
            storage.clone(),
            Arc::new(executor),
            notifier.clone(),
            metrics,
            SchedulerConfig {
                slots: settings.slots,
                lease: settings.lease,
                poll_interval: Duration::from_millis(500),
                retry_base: Duration::from_secs(1),
                retention: settings.retention,
                address: listener.local_addr()?.to_string(),
                node_id,
            },
        ));
        let shutdown = CancellationToken::new();
        let submitter = Arc::new(Submitter::new(
            scheduler.clone(),
            sandbox.clone(),
            SubmitPolicy {
                max_queue_depth: settings.api.max_queue_depth,
                default_max_attempts: settings.api.default_max_attempts,
                max_waits: settings.api.max_waits,
                sessions: settings.sessions,
            },
            shutdown.clone(),
        ));
        let state = AppState {
            storage,
            sandbox,
            scheduler,
            submitter,
            notifier,
            event_streams: Arc::new(server::EventStreams::new(&settings.api)),
            overview: Arc::default(),
            limits: settings.api.clone(),
            api_keys: Arc::new(
                settings
                    .api_keys
                    .iter()
                    .map(|k| server::auth_digest(k))
                    .collect(),
            ),
            shutdown: shutdown.clone(),
            metrics_on_api: metrics_listener.is_none(),
        };
        Ok(Application {
            listener,
            metrics_listener,
            state,
            shutdown,
            grace: settings.grace,
            connections: settings.connections,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where `/metrics` is served apart from the API, if it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        let listener = self.metrics_listener.as_ref()?;
        Some(
            listener
                .local_addr()
                .expect("a bound listener has an address"),
        )
    }

    /// Serve and run the scheduler until `signal` resolves; then stop
    /// accepting, let running tasks finish for up to the grace period, and
    /// interrupt the rest so they are retried.
    pub async fn run_until(self, signal: impl Future<Output = ()> + Send + 'static) {
        let Application {
            listener,
            metrics_listener,
            state,
            shutdown,
            grace,
            connections,
        } = self;
        let on_signal = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = signal => on_signal.cancel(),
                () = on_signal.cancelled() => {}
            }
        });
        let scheduler = tokio::spawn(state.scheduler.clone().run(shutdown.clone(), grace));
        tokio::spawn(state.scheduler.metrics().clone().keep_up(shutdown.clone()));
        let metrics = metrics_listener.map(|listener| {
            let router = server::metrics_router(state.clone());
            tokio::spawn(connections::serve(
                listener,
                router,
                connections,
                shutdown.clone(),
            ))
        });
        connections::serve(
            listener,
            server::router(state),
            connections,
            shutdown.clone(),
        )
        .await;
        if let Some(metrics) = metrics {
            let _ = metrics.await;
        }
        let _ = scheduler.await;
    }
}
