//! One reading of the overview shared by every open overview stream: the
//! database is read once per change however many dashboards watch, and not
//! at all while none do.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sandrun_api::Overview;
use tokio::sync::watch;

use super::{DEFAULT_WINDOW_SECS, read};
use crate::server::AppState;

/// Reads at most this often...
const MIN_GAP: Duration = Duration::from_millis(500);
/// ...and at least this often, for changes made on other nodes.
const MAX_GAP: Duration = Duration::from_secs(1);

/// The latest overview, for whoever subscribes.
#[derive(Debug)]
pub struct OverviewFeed {
    latest: watch::Sender<Option<Arc<Overview>>>,
    /// A loop is reading for the subscribers.
    reading: AtomicBool,
}

impl Default for OverviewFeed {
    fn default() -> Self {
        OverviewFeed {
            latest: watch::Sender::new(None),
            reading: AtomicBool::new(false),
        }
    }
}

impl OverviewFeed {
    /// The overview as it changes, from the next reading on; starts the
    /// reading loop if none runs.
    pub fn subscribe(self: &Arc<Self>, state: &AppState) -> watch::Receiver<Option<Arc<Overview>>> {
        let changes = self.latest.subscribe();
        if !self.reading.swap(true, Ordering::AcqRel) {
            tokio::spawn(self.clone().read_while_watched(state.clone()));
        }
        changes
    }

    async fn read_while_watched(self: Arc<Self>, state: AppState) {
        loop {
            if self.latest.receiver_count() == 0 {
                self.reading.store(false, Ordering::Release);
                // A subscriber that came meanwhile either saw `reading`
                // false and started a loop of its own, or this one goes on.
                if self.latest.receiver_count() == 0 || self.reading.swap(true, Ordering::AcqRel) {
                    return;
                }
            }
            match read(&state, DEFAULT_WINDOW_SECS).await {
                Ok(overview) => {
                    self.latest.send_if_modified(|latest| {
                        let changed = latest
                            .as_deref()
                            .is_none_or(|old| !same_but_for_time(old, &overview));
                        if changed {
                            *latest = Some(Arc::new(overview));
                        }
                        changed
                    });
                }
                Err(e) => tracing::warn!(error = %e, "reading the overview failed"),
            }
            let quiet = async {
                tokio::time::sleep(MIN_GAP).await;
                let _ = tokio::time::timeout(MAX_GAP - MIN_GAP, state.notifier.any_change()).await;
            };
            tokio::select! {
                () = quiet => {}
                () = state.shutdown.cancelled() => {
                    self.reading.store(false, Ordering::Release);
                    return;
                }
            }
        }
    }
}

fn same_but_for_time(old: &Overview, new: &Overview) -> bool {
    Overview {
        at: new.at.clone(),
        ..old.clone()
    } == *new
}
