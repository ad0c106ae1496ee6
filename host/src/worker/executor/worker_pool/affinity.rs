//! Which worker holds which session live, so that a session's next run
//! goes back to that worker (into its own inbox) while the worker is free,
//! and starts there at once, without the state's bytes. A busy or lost
//! worker costs only speed: the run is refused at once, and the scheduler
//! sends it again with the stored state, to the shared queue, where
//! whichever worker takes it resumes the session from those bytes.
//!
//! What it remembers mirrors each worker's own cache: at most as many
//! sessions per worker as the worker keeps, the least recently run going
//! first. A session the worker dropped for idleness is remembered until
//! then; its next run goes to that worker and resumes there from storage.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;

use crate::sandbox::Task;
use crate::worker::executor::slot_job::SlotJob;

/// Jobs waiting in one worker's inbox at most; a session has one run in
/// flight, so this is about the sessions the worker holds.
const INBOX: usize = 64;

/// One worker's own inbox, and whether it is running a job now.
#[derive(Debug)]
struct Inbox {
    jobs: mpsc::Sender<SlotJob>,
    busy: AtomicBool,
}

#[derive(Debug)]
pub struct Affinity {
    inboxes: Vec<Inbox>,
    /// Sessions each worker keeps live at most.
    capacity: usize,
    held: Mutex<Held>,
}

/// Session id to the worker holding it live, and when it last ran there.
#[derive(Debug, Default)]
struct Held {
    sessions: HashMap<String, (usize, u64)>,
    runs: u64,
}

impl Affinity {
    /// Inboxes for `workers` workers, each keeping up to `capacity`
    /// sessions live; each receiver goes to its worker.
    pub fn new(workers: usize, capacity: usize) -> (Affinity, Vec<mpsc::Receiver<SlotJob>>) {
        let (inboxes, receivers) = (0..workers)
            .map(|_| {
                let (jobs, receiver) = mpsc::channel(INBOX);
                let inbox = Inbox {
                    jobs,
                    busy: AtomicBool::new(false),
                };
                (inbox, receiver)
            })
            .unzip();
        let affinity = Affinity {
            inboxes,
            capacity,
            held: Mutex::new(Held::default()),
        };
        (affinity, receivers)
    }

    /// The inbox of the free worker holding `task`'s session, if any.
    pub fn inbox_for(&self, task: &Task) -> Option<&mpsc::Sender<SlotJob>> {
        let session = task.session.as_ref()?;
        let (worker, _) = *self.lock().sessions.get(&session.id)?;
        let inbox = &self.inboxes[worker];
        (!inbox.busy.load(Ordering::SeqCst)).then_some(&inbox.jobs)
    }

    /// `worker` took a job, or finished one.
    pub fn set_busy(&self, worker: usize, busy: bool) {
        self.inboxes[worker].busy.store(busy, Ordering::SeqCst);
    }

    /// A run of `session` ended on `worker`: the worker now holds it live
    /// if the run was kept, and holds it nowhere if not.
    pub fn ran(&self, worker: usize, session: &str, kept: bool) {
        let mut held = self.lock();
        let Held { sessions, runs } = &mut *held;
        if !kept || self.capacity == 0 {
            if sessions.get(session).is_some_and(|(w, _)| *w == worker) {
                sessions.remove(session);
            }
            return;
        }
        *runs += 1;
        sessions.insert(session.to_owned(), (worker, *runs));
        let on_worker = sessions.values().filter(|(w, _)| *w == worker).count();
        if on_worker > self.capacity {
            // The worker dropped its least recently run session for this one.
            let oldest = sessions
                .iter()
                .filter(|(_, (w, _))| *w == worker)
                .min_by_key(|(_, (_, run))| *run)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                sessions.remove(&oldest);
            }
        }
    }

    /// `worker`'s process is gone, and every session it held live with it.
    pub fn lost(&self, worker: usize) {
        self.lock().sessions.retain(|_, (w, _)| *w != worker);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}
