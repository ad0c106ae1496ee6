//! The storage both backends share word for word: key-value data and task
//! progress for task modules; uploaded modules, their names and the nodes
//! for the registry. The SQL uses `$n` placeholders in order, which SQLite
//! and Postgres both read, so one generic implementation serves both pools.

use async_trait::async_trait;
use serde_json::Value;
use sqlx::{Database, Decode, Encode, Executor, IntoArguments, Pool, Type};

use sandrun_api::ModuleInfo;

use super::node::NodeRecord;
use super::record::ModuleRow;
use super::{NameOutcome, StorageError, now_ms};

/// What task modules keep and report: key-value data and progress.
/// Reached through [`super::Storage::guest`].
#[async_trait]
pub trait GuestStore: Send + Sync {
    /// The JSON value under `key` in `namespace`.
    async fn kv_get(&self, namespace: &str, key: &str) -> Result<Option<Value>, StorageError>;
    async fn kv_put(&self, namespace: &str, key: &str, value: &Value) -> Result<(), StorageError>;
    /// Whether the key existed.
    async fn kv_delete(&self, namespace: &str, key: &str) -> Result<bool, StorageError>;
    /// Record a running task's last progress (0 to 1), fenced on its attempt.
    async fn set_progress(&self, id: &str, attempt: u32, progress: f64)
    -> Result<(), StorageError>;
}

/// Uploaded modules, their names, and the nodes sharing the queue.
/// Reached through [`super::Storage::registry`].
#[async_trait]
pub trait Registry: Send + Sync {
    async fn put_module(&self, hash: &str, bytes: &[u8]) -> Result<ModuleInfo, StorageError>;
    async fn module(&self, hash: &str) -> Result<Option<Vec<u8>>, StorageError>;
    async fn module_info(&self, hash: &str) -> Result<Option<ModuleInfo>, StorageError>;
    /// Newest first.
    async fn list_modules(&self) -> Result<Vec<ModuleInfo>, StorageError>;
    /// Give an uploaded module the name `name@version`; a name once given
    /// never moves to another module.
    async fn name_module(
        &self,
        name: &str,
        version: &str,
        hash: &str,
    ) -> Result<NameOutcome, StorageError>;
    /// `name@version` for each name module `hash` has.
    async fn module_names(&self, hash: &str) -> Result<Vec<String>, StorageError>;
    /// (version, hash) for each version of the module called `name`.
    async fn module_versions(&self, name: &str) -> Result<Vec<(String, String)>, StorageError>;
    /// Record a node's heartbeat (inserting the node the first time).
    async fn heartbeat(&self, node: &NodeRecord) -> Result<(), StorageError>;
    /// Every node not yet forgotten, oldest first.
    async fn nodes(&self) -> Result<Vec<NodeRecord>, StorageError>;
    /// Forget the nodes silent since before `silent_before` (ms).
    async fn forget_nodes(&self, silent_before: i64) -> Result<u64, StorageError>;
}

/// Both traits' queries, over either backend's pool.
#[derive(Debug)]
pub(super) struct Shared<DB: Database>(pub Pool<DB>);

impl<DB: Database> Clone for Shared<DB> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

#[async_trait]
impl<DB> GuestStore for Shared<DB>
where
    DB: Database,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> f64: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB>,
    (String,): for<'r> sqlx::FromRow<'r, DB::Row>,
    (String, String): for<'r> sqlx::FromRow<'r, DB::Row>,
    for<'q> Vec<u8>: Encode<'q, DB> + Type<DB>,
    for<'r> Vec<u8>: Decode<'r, DB>,
    (Vec<u8>,): for<'r> sqlx::FromRow<'r, DB::Row>,
    ModuleRow: for<'r> sqlx::FromRow<'r, DB::Row>,
    NodeRecord: for<'r> sqlx::FromRow<'r, DB::Row>,
{
    async fn kv_get(&self, namespace: &str, key: &str) -> Result<Option<Value>, StorageError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT value FROM kv WHERE namespace = $1 AND key = $2")
                .bind(namespace.to_owned())
                .bind(key.to_owned())
                .fetch_optional(&self.0)
                .await?;
        row.map(|(text,)| serde_json::from_str(&text).map_err(StorageError::from))
            .transpose()
    }

    async fn kv_put(&self, namespace: &str, key: &str, value: &Value) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO kv (namespace, key, value, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(namespace.to_owned())
        .bind(key.to_owned())
        .bind(value.to_string())
        .bind(now_ms())
        .execute(&self.0)
        .await?;
        Ok(())
    }

    async fn kv_delete(&self, namespace: &str, key: &str) -> Result<bool, StorageError> {
        let gone: Option<(String,)> =
            sqlx::query_as("DELETE FROM kv WHERE namespace = $1 AND key = $2 RETURNING key")
                .bind(namespace.to_owned())
                .bind(key.to_owned())
                .fetch_optional(&self.0)
                .await?;
        Ok(gone.is_some())
    }

    async fn set_progress(
        &self,
        id: &str,
        attempt: u32,
        progress: f64,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE tasks SET progress = $1 WHERE id = $2 AND attempt = $3 AND status = 'running'",
        )
        .bind(progress)
        .bind(id.to_owned())
        .bind(i64::from(attempt))
        .execute(&self.0)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl<DB> Registry for Shared<DB>
where
    DB: Database,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> f64: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB>,
    (String,): for<'r> sqlx::FromRow<'r, DB::Row>,
    (String, String): for<'r> sqlx::FromRow<'r, DB::Row>,
    for<'q> Vec<u8>: Encode<'q, DB> + Type<DB>,
    for<'r> Vec<u8>: Decode<'r, DB>,
    (Vec<u8>,): for<'r> sqlx::FromRow<'r, DB::Row>,
    ModuleRow: for<'r> sqlx::FromRow<'r, DB::Row>,
    NodeRecord: for<'r> sqlx::FromRow<'r, DB::Row>,
{
    async fn put_module(&self, hash: &str, bytes: &[u8]) -> Result<ModuleInfo, StorageError> {
        sqlx::query("INSERT INTO modules (hash, size, bytes, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(hash.to_owned())
            .bind(bytes.len() as i64)
            .bind(bytes.to_vec())
            .bind(now_ms())
            .execute(&self.0)
            .await?;
        self.module_info(hash)
            .await?
            .ok_or_else(|| StorageError::Corrupt("module vanished".into()))
    }

    async fn module(&self, hash: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as("SELECT bytes FROM modules WHERE hash = $1")
            .bind(hash.to_owned())
            .fetch_optional(&self.0)
            .await?;
        Ok(row.map(|(bytes,)| bytes))
    }

    async fn module_info(&self, hash: &str) -> Result<Option<ModuleInfo>, StorageError> {
        let row: Option<ModuleRow> =
            sqlx::query_as("SELECT hash, size, created_at FROM modules WHERE hash = $1")
                .bind(hash.to_owned())
                .fetch_optional(&self.0)
                .await?;
        Ok(row.map(ModuleInfo::from))
    }

    async fn list_modules(&self) -> Result<Vec<ModuleInfo>, StorageError> {
        let rows: Vec<ModuleRow> =
            sqlx::query_as("SELECT hash, size, created_at FROM modules ORDER BY created_at DESC")
                .fetch_all(&self.0)
                .await?;
        Ok(rows.into_iter().map(ModuleInfo::from).collect())
    }

    async fn heartbeat(&self, node: &NodeRecord) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO nodes (id, address, slots, running, started_at, last_heartbeat) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET \
             running = excluded.running, last_heartbeat = excluded.last_heartbeat",
        )
        .bind(node.id.clone())
        .bind(node.address.clone())
        .bind(node.slots)
        .bind(node.running)
        .bind(node.started_at)
        .bind(node.last_heartbeat)
        .execute(&self.0)
        .await?;
        Ok(())
    }

    async fn nodes(&self) -> Result<Vec<NodeRecord>, StorageError> {
        Ok(
            sqlx::query_as("SELECT * FROM nodes ORDER BY started_at, id")
                .fetch_all(&self.0)
                .await?,
        )
    }

    async fn forget_nodes(&self, silent_before: i64) -> Result<u64, StorageError> {
        let gone: Vec<(String,)> =
            sqlx::query_as("DELETE FROM nodes WHERE last_heartbeat < $1 RETURNING id")
                .bind(silent_before)
                .fetch_all(&self.0)
                .await?;
        Ok(gone.len() as u64)
    }

    async fn name_module(
        &self,
        name: &str,
        version: &str,
        hash: &str,
    ) -> Result<NameOutcome, StorageError> {
        sqlx::query(
            "INSERT INTO module_names (name, version, hash, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name, version) DO NOTHING",
        )
        .bind(name.to_owned())
        .bind(version.to_owned())
        .bind(hash.to_owned())
        .bind(now_ms())
        .execute(&self.0)
        .await?;
        let (holder,): (String,) =
            sqlx::query_as("SELECT hash FROM module_names WHERE name = $1 AND version = $2")
                .bind(name.to_owned())
                .bind(version.to_owned())
                .fetch_one(&self.0)
                .await?;
        Ok(if holder == hash {
            NameOutcome::Named
        } else {
            NameOutcome::Taken { hash: holder }
        })
    }

    async fn module_names(&self, hash: &str) -> Result<Vec<String>, StorageError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, version FROM module_names WHERE hash = $1 ORDER BY name, version",
        )
        .bind(hash.to_owned())
        .fetch_all(&self.0)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(name, version)| format!("{name}@{version}"))
            .collect())
    }

    async fn module_versions(&self, name: &str) -> Result<Vec<(String, String)>, StorageError> {
        Ok(
            sqlx::query_as("SELECT version, hash FROM module_names WHERE name = $1")
                .bind(name.to_owned())
                .fetch_all(&self.0)
                .await?,
        )
    }
}
