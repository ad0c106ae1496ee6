//! Putting the server together from its settings: storage, workers,
//! scheduler, listener. Tests build the same application on port 0 with their own
//! database and a shared sandbox.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::configuration::{Database, Settings};
use crate::sandbox::Sandbox;
use crate::scheduler::{Notifier, Scheduler, SchedulerConfig};
use crate::server::{self, AppState};
use crate::storage::{PostgresStorage, SqliteStorage, Storage};
use crate::worker::{Executor, TaskThreads, WorkerPool};

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

#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    state: AppState,
    stop: watch::Sender<bool>,
    grace: Duration,
}

impl Application {
    pub async fn build(settings: &Settings, sandbox: Arc<Sandbox>) -> anyhow::Result<Self> {
        let storage = open_storage(&settings.database).await?;
        if let Database::Sqlite(_) = settings.database {
            // The file is locked to this server: anything marked running
            // was left by a previous run of it that died.
            let reclaimed = storage.reclaim_all_running().await?;
            if reclaimed > 0 {
                tracing::warn!(
                    tasks = reclaimed,
                    "requeued tasks left running by a previous run"
                );
            }
        }
        let listener = TcpListener::bind(settings.bind)
            .await
            .with_context(|| format!("binding {}", settings.bind))?;
        let notifier = Arc::new(Notifier::new());
        let executor = match &settings.workers {
            Some(spawn) => Executor::Workers(WorkerPool::start(spawn.clone(), settings.limits)),
            None => Executor::InProcess(
                TaskThreads::start(sandbox.clone(), settings.slots)
                    .context("cannot start the task threads")?,
            ),
        };
        let scheduler = Arc::new(Scheduler::new(
            storage.clone(),
            Arc::new(executor),
            notifier.clone(),
            SchedulerConfig {
                slots: settings.slots,
                lease: settings.lease,
                poll_interval: Duration::from_millis(500),
                retry_base: Duration::from_secs(1),
                retention: settings.retention,
                address: listener.local_addr()?.to_string(),
            },
        ));
        let (stop, shutdown) = watch::channel(false);
        let state = AppState {
            storage,
            sandbox,
            scheduler,
            notifier,
            limits: settings.api.clone(),
            api_keys: Arc::new(
                settings
                    .api_keys
                    .iter()
                    .map(|k| server::auth_digest(k))
                    .collect(),
            ),
            shutdown,
        };
        Ok(Application {
            listener,
            state,
            stop,
            grace: settings.grace,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serve until `shutdown` resolves, then shut down gracefully.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        server::run(self.listener, self.state, self.stop, shutdown, self.grace).await
    }
}
