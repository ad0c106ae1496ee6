//! How a running task reaches the world outside its sandbox: live output
//! for watchers, and the host services behind `host.call`. The sandbox knows
//! nothing of servers or databases; whoever runs the task supplies these.

use sandrun_api::LogLine;
use serde_json::Value;

/// Which of the guest's output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Observers and services for one task. Every method has a default that
/// does nothing, so a caller implements only what it offers.
pub trait TaskHooks: Send + Sync {
    /// Bytes the guest wrote and the host kept (within the output cap), as
    /// they are produced.
    fn output(&self, _stream: Stream, _bytes: &[u8]) {}
    /// A message the guest logged.
    fn log(&self, _line: &LogLine) {}
    /// Progress the guest reported, from 0 to 1.
    fn progress(&self, _fraction: f64) {}
    /// The key-value store behind the guest's `kv` calls, if there is one.
    fn kv(&self) -> Option<&dyn KvStore> {
        None
    }
}

/// Hooks that observe nothing and offer no services.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl TaskHooks for NoHooks {}

/// Persistent key-value storage, scoped by namespace. Called from the
/// task's own thread, so implementations may block.
pub trait KvStore: Send + Sync {
    fn get(&self, namespace: &str, key: &str) -> Result<Option<Value>, KvError>;
    fn put(&self, namespace: &str, key: &str, value: &Value) -> Result<(), KvError>;
    /// Whether the key existed.
    fn delete(&self, namespace: &str, key: &str) -> Result<bool, KvError>;
}

/// A key-value operation that failed on the host's side.
#[derive(Debug, thiserror::Error)]
#[error("key-value store: {0}")]
pub struct KvError(pub String);
