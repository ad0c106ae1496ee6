//! The storage both backends share word for word: key-value data, task
//! progress and module names. The SQL uses `$n` placeholders in order,
//! which SQLite and Postgres both read, so one generic implementation
//! serves both pools.

use async_trait::async_trait;
use serde_json::Value;
use sqlx::{Database, Decode, Encode, Executor, IntoArguments, Pool, Type};

use super::{NameOutcome, StorageError, now_ms};

/// What task modules keep and report: key-value data, progress, module
/// names. Reached through [`super::Storage::guest`].
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
}

/// The queries, over either backend's pool.
#[derive(Debug)]
pub(super) struct GuestData<DB: Database>(pub Pool<DB>);

impl<DB: Database> Clone for GuestData<DB> {
    fn clone(&self) -> Self {
        GuestData(self.0.clone())
    }
}

#[async_trait]
impl<DB> GuestStore for GuestData<DB>
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
