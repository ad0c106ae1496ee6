//! What truly differs between the backends, and nothing else: how a
//! transaction takes hold of rows before it reads them, how a task's events
//! are numbered, and whether the database carries hints between nodes.
//! Everything else is one body in [`Statements`] and one transaction in
//! [`Store`](super::store::Store).

use async_trait::async_trait;
use sandrun_api::TaskEvent;
use sqlx::{Database, Pool};
use tokio::sync::mpsc::UnboundedReceiver;

use super::statements::Statements;
use super::{Hint, StorageError};

/// A connection (or open transaction) of dialect `D`'s database.
pub type Conn<D> = <<D as Dialect>::Db as Database>::Connection;

#[async_trait]
pub trait Dialect: std::fmt::Debug + Send + Sync + 'static {
    type Db: Statements;

    /// Ends a sub-query that picks rows to change, so that nodes picking
    /// at once skip each other's rows instead of waiting for them.
    const SKIP_LOCKED: &'static str;
    /// The `task_events` column that numbers a task's events in order.
    const EVENT_NUMBER: &'static str;
    /// Whether one server owns the database, so that a task left running
    /// at start-up was left by a run of it that died.
    const ONE_NODE: bool;

    /// Takes hold of task `$1` for the rest of the transaction, before it
    /// is read, answering its id if it exists. Every read-then-write
    /// transaction starts here (on SQLite it is the write that makes the
    /// transaction the writer: one that read first could not become it
    /// once another connection had committed).
    const LOCK_TASK: &'static str;
    /// Takes hold of session `$1`, as [`Dialect::LOCK_TASK`] does of a task.
    const LOCK_SESSION: &'static str;
    /// Takes hold of every running task whose lease expires before `$1`,
    /// skipping those another transaction holds, answering id and attempt.
    const LOCK_EXPIRED: &'static str;

    /// Append `events` to task `task_id`'s, after its last one, so that a
    /// reader following with a cursor never skips one.
    async fn append_events(
        conn: &mut Conn<Self>,
        task_id: &str,
        events: &[TaskEvent],
    ) -> Result<(), StorageError>;
    /// Tell the other nodes, when the transaction commits.
    async fn hint(&self, conn: &mut Conn<Self>, hint: &Hint) -> Result<(), StorageError>;
    /// Start receiving other nodes' hints, if this database carries them.
    fn listen(&self, pool: &Pool<Self::Db>) -> Option<UnboundedReceiver<Hint>>;
}
