//! Postgres: the queue several nodes share.
//!
//! Postgres is the whole distributed engine: claims lock rows with
//! `FOR UPDATE SKIP LOCKED`, so nodes never wait on each other's claims;
//! leases and fencing make a dead or late node harmless; `NOTIFY` carries
//! hints between nodes, and polling covers whatever a hint misses. Nothing
//! here assumes it is the only node: in particular, start-up never takes
//! back running tasks, because other nodes may be running them; expired
//! leases are reclaimed instead.

mod events;
mod listener;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sandrun_api::TaskEvent;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};
use tokio::sync::mpsc::UnboundedReceiver;

use super::dialect::{Conn, Dialect};
use super::store::Store;
use super::{Hint, StorageError};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// How to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    pub url: String,
    /// Connections in the pool.
    pub max_connections: u32,
    /// Do not LISTEN (a transaction-mode pooler cannot carry it): poll only.
    pub poll_only: bool,
}

/// The queue in a Postgres schema, shared by every node that opens it.
pub type PostgresStorage = Store<PostgresDialect>;

/// Postgres's side of the [`Dialect`]: where its hints go.
#[derive(Debug)]
pub struct PostgresDialect {
    /// The one NOTIFY channel of this schema, so that queues in different
    /// schemas of one database do not wake each other.
    channel: String,
    poll_only: bool,
}

impl Store<PostgresDialect> {
    /// Connect and bring the schema up to date. Several nodes may migrate
    /// at once: sqlx serialises migrations with an advisory lock.
    pub async fn open(options: &PostgresOptions) -> Result<Self, StorageError> {
        let connect = PgConnectOptions::from_str(&options.url)?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect)
            .await?;
        MIGRATOR.run(&pool).await?;
        let schema: String = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(&pool)
            .await?;
        let dialect = PostgresDialect {
            channel: format!("sandrun.{schema}"),
            poll_only: options.poll_only,
        };
        Ok(Store::new(pool, dialect))
    }
}

#[async_trait]
impl Dialect for PostgresDialect {
    type Db = Postgres;

    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    /// Numbered per task under its row lock: see `events`.
    const EVENT_NUMBER: &'static str = "seq";
    const ONE_NODE: bool = false;
    const LOCK_TASK: &'static str = "SELECT id FROM tasks WHERE id = $1 FOR UPDATE";
    const LOCK_SESSION: &'static str = "SELECT id FROM sessions WHERE id = $1 FOR UPDATE";
    const LOCK_EXPIRED: &'static str = "SELECT id, attempt FROM tasks \
        WHERE status = 'running' AND lease_expires_at < $1 FOR UPDATE SKIP LOCKED";

    async fn append_events(
        conn: &mut Conn<Self>,
        task_id: &str,
        events: &[TaskEvent],
    ) -> Result<(), StorageError> {
        events::append_in(conn, task_id, events).await
    }

    /// Sent when the transaction commits, once per transaction.
    async fn hint(&self, conn: &mut Conn<Self>, hint: &Hint) -> Result<(), StorageError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(&self.channel)
            .bind(listener::payload(hint))
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    fn listen(&self, pool: &PgPool) -> Option<UnboundedReceiver<Hint>> {
        (!self.poll_only).then(|| listener::spawn(pool.clone(), self.channel.clone()))
    }
}
