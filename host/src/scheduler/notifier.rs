use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use tokio::sync::Notify;

/// In-process wake-ups for whoever waits on a task (`?wait=`, SSE). A hint
/// only: waiters also re-read the database at a short interval, which is
/// what carries changes made by other nodes.
#[derive(Debug, Default)]
pub struct Notifier {
    waiters: DashMap<String, Arc<Notify>>,
    /// Woken by a change to any task (the dashboard's overview).
    any: Notify,
}

/// How often a waiter re-reads the database when nothing woke it.
pub const RECHECK: Duration = Duration::from_millis(200);

impl Notifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Something about task `id` changed.
    pub fn notify(&self, id: &str) {
        if let Some(waiters) = self.waiters.get(id) {
            waiters.notify_waiters();
        }
        self.any.notify_waiters();
    }

    /// The next change to any task on this node.
    pub fn any_change(&self) -> tokio::sync::futures::Notified<'_> {
        self.any.notified()
    }

    /// Watch task `id` until the subscription is dropped.
    pub fn subscribe(self: &Arc<Self>, id: &str) -> Subscription {
        let notify = self.waiters.entry(id.to_owned()).or_default().clone();
        Subscription {
            notifier: self.clone(),
            id: id.to_owned(),
            notify,
        }
    }
}

#[derive(Debug)]
pub struct Subscription {
    notifier: Arc<Notifier>,
    id: String,
    notify: Arc<Notify>,
}

impl Subscription {
    /// The next change to the task, or [`RECHECK`] passing, whichever comes
    /// first; armed now, so a change made after this call is not missed
    /// however late the answer is awaited.
    pub fn next_change(&self) -> impl Future<Output = ()> + '_ {
        let mut notified = Box::pin(self.notify.notified());
        notified.as_mut().enable();
        async move {
            let _ = tokio::time::timeout(RECHECK, notified).await;
        }
    }

    /// Run `check` until it answers `Some`, re-running it whenever the task
    /// changes and at least every [`RECHECK`]. No change is missed: the
    /// wake-up is armed before each check.
    pub async fn until<T, E, F>(&self, mut check: impl FnMut() -> F) -> Result<T, E>
    where
        F: Future<Output = Result<Option<T>, E>>,
    {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(value) = check().await? {
                return Ok(value);
            }
            let _ = tokio::time::timeout(RECHECK, notified).await;
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // The map's copy and ours: the last subscriber removes the entry.
        self.notifier
            .waiters
            .remove_if(&self.id, |_, n| Arc::strong_count(n) <= 2);
    }
}
