//! `GET /v1/nodes`: who shares the queue, from the heartbeats in the
//! database, so every node gives the same answer.

use std::time::Duration;

use axum::extract::State;
use sandrun_api::{Node, NodeList, NodeStatus};

use super::extract::Json;
use super::{ApiError, AppState};
use crate::storage::{NodeRecord, now_ms, rfc3339};

/// The nodes sharing the queue, oldest first; silent ones are marked dead.
#[utoipa::path(get, path = "/v1/nodes", responses((status = 200, body = NodeList)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<NodeList>, ApiError> {
    let timeout = state.scheduler.node_timeout();
    let now = now_ms();
    let nodes = state.storage.registry().nodes().await?;
    Ok(Json(NodeList {
        nodes: nodes.iter().map(|n| to_api(n, now, timeout)).collect(),
    }))
}

pub(super) fn to_api(node: &NodeRecord, now: i64, timeout: Duration) -> Node {
    let silent_for = Duration::from_millis((now - node.last_heartbeat).max(0) as u64);
    Node {
        id: node.id.clone(),
        status: if silent_for > timeout {
            NodeStatus::Dead
        } else {
            NodeStatus::Alive
        },
        address: node.address.clone(),
        slots: node.slots as u32,
        running: node.running as u32,
        started_at: rfc3339(node.started_at),
        last_heartbeat: rfc3339(node.last_heartbeat),
    }
}
