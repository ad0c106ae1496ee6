//! What task modules keep and report (key-value data, progress), and the
//! registry of uploaded modules, their names and the nodes sharing the
//! queue: the parts of storage beside the task queue, reached through
//! [`Storage::guest`](super::Storage::guest) and
//! [`Storage::registry`](super::Storage::registry).

use async_trait::async_trait;
use serde_json::Value;

use sandrun_api::ModuleInfo;

use super::node::NodeRecord;
use super::{NameOutcome, StorageError};

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
