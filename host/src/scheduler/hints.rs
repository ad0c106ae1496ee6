//! Acting on other nodes' hints: claim at once when work was queued, stop
//! a task at once when its cancel was requested elsewhere. Both would
//! happen anyway at the next poll or lease renewal; hints make it sooner.

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedReceiver;

use super::Scheduler;
use crate::storage::Hint;

impl Scheduler {
    pub(super) async fn follow_hints(self: Arc<Self>, mut hints: UnboundedReceiver<Hint>) {
        while let Some(hint) = hints.recv().await {
            match hint {
                Hint::Queued | Hint::Missed => self.wake(),
                Hint::Cancel(id) => {
                    self.cancel_local(&id);
                }
            }
        }
    }
}
