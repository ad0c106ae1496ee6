use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Whether a node still heartbeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    Alive,
    /// Silent past the timeout; its tasks are rerun elsewhere once their
    /// leases expire.
    Dead,
}

/// One boot of a `sandrun serve` sharing the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Node {
    pub id: String,
    pub status: NodeStatus,
    /// Where its API listens.
    pub address: String,
    /// Tasks it runs at once.
    pub slots: u32,
    /// Tasks it was running at its last heartbeat.
    pub running: u32,
    pub started_at: String,
    pub last_heartbeat: String,
}

/// `GET /v1/nodes`, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NodeList {
    pub nodes: Vec<Node>,
}
