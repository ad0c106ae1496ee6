//! The nodes sharing a queue, as their heartbeats recorded them. A node is
//! one boot of `sandrun serve`: a restarted server is a new node.

/// A node's last heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NodeRecord {
    pub id: String,
    /// Where its API listens.
    pub address: String,
    pub slots: i64,
    /// Tasks it was running at its last heartbeat.
    pub running: i64,
    pub started_at: i64,
    pub last_heartbeat: i64,
}
