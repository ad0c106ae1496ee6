//! This node's entry in the node registry, kept fresh so that every node
//! can list who shares the queue and tell a silent node from a live one.

use std::sync::Arc;
use std::time::Duration;

use super::Scheduler;
use crate::storage::{NodeRecord, now_ms};

impl Scheduler {
    /// How often this node says it is alive.
    fn heartbeat_every(&self) -> Duration {
        (self.config.lease / 3).min(Duration::from_secs(2))
    }

    /// A node silent for this long is dead: its leases have expired too.
    pub fn node_timeout(&self) -> Duration {
        self.config.lease.max(self.heartbeat_every() * 3)
    }

    pub(super) async fn heartbeat(self: Arc<Self>) {
        let started_at = now_ms();
        loop {
            let node = NodeRecord {
                id: self.config.node_id.clone(),
                address: self.config.address.clone(),
                slots: self.config.slots as i64,
                running: self.running.len() as i64,
                started_at,
                last_heartbeat: now_ms(),
            };
            if let Err(e) = self.storage.registry().heartbeat(&node).await {
                tracing::warn!(error = %e, "heartbeat failed");
            }
            tokio::time::sleep(self.heartbeat_every()).await;
        }
    }
}
