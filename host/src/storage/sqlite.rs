//! The embedded default: one SQLite file in WAL mode.
//!
//! SQLite serves one server process: the file is locked while a server
//! runs, so a second one refuses to start instead of silently sharing the
//! queue. Several nodes share a queue through Postgres.
//!
//! SQLite has one writer at a time, so there are no rows to skip. What it
//! needs instead is that every transaction that reads and then writes
//! writes first: a transaction that has read cannot become the writer once
//! another connection has committed ("database is locked", whatever the
//! busy timeout). Taking hold of a row is therefore an update that changes
//! nothing.

use std::fs::File;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sandrun_api::TaskEvent;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, QueryBuilder, Sqlite};
use tokio::sync::mpsc::UnboundedReceiver;

use super::dialect::{Conn, Dialect};
use super::store::Store;
use super::{Hint, StorageError, now_ms};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// The queue in one SQLite file.
pub type SqliteStorage = Store<SqliteDialect>;

/// SQLite's side of the [`Dialect`]; holds the file's lock.
#[derive(Debug)]
pub struct SqliteDialect {
    /// Held for the life of the storage: the file's one server.
    _lock: Arc<File>,
}

impl Store<SqliteDialect> {
    /// Open (creating if needed) the database at `path` and bring its
    /// schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StorageError> {
        let io = |e| StorageError::Database(sqlx::Error::Io(e));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path.with_extension("lock"))
            .map_err(io)?;
        if lock.try_lock().is_err() {
            return Err(StorageError::Locked(path.to_owned()));
        }
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Store::new(
            pool,
            SqliteDialect {
                _lock: Arc::new(lock),
            },
        ))
    }
}

#[async_trait]
impl Dialect for SqliteDialect {
    type Db = Sqlite;

    const SKIP_LOCKED: &'static str = "";
    /// Event ids come from one AUTOINCREMENT sequence: with one writer at
    /// a time they commit in order.
    const EVENT_NUMBER: &'static str = "id";
    const ONE_NODE: bool = true;
    const LOCK_TASK: &'static str = "UPDATE tasks SET status = status WHERE id = $1 RETURNING id";
    const LOCK_SESSION: &'static str = "UPDATE sessions SET id = id WHERE id = $1 RETURNING id";
    const LOCK_EXPIRED: &'static str = "UPDATE tasks SET status = status \
        WHERE status = 'running' AND lease_expires_at < $1 RETURNING id, attempt";

    async fn append_events(
        conn: &mut Conn<Self>,
        task_id: &str,
        events: &[TaskEvent],
    ) -> Result<(), StorageError> {
        if events.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let rows = events
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()?;
        QueryBuilder::<Sqlite>::new("INSERT INTO task_events (task_id, data, created_at) ")
            .push_values(rows, |mut row, data| {
                row.push_bind(task_id).push_bind(data).push_bind(now);
            })
            .build()
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// One node: nobody to tell.
    async fn hint(&self, _conn: &mut Conn<Self>, _hint: &Hint) -> Result<(), StorageError> {
        Ok(())
    }

    fn listen(&self, _pool: &Pool<Sqlite>) -> Option<UnboundedReceiver<Hint>> {
        None
    }
}
