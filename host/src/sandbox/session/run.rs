//! One run of a session: its state put into a fresh instance (or its live
//! instance taken as it is), its code run through the session runner, and,
//! if it ended well, its new state read.

use std::path::Path;
use std::time::{Duration, Instant};

use sandrun_api::{AppliedLimits, Outcome};
use wasmtime::{Instance, Store};

use super::{Capture, SessionState, StateError, TmpFiles, WriteTracker, guest_memory};
use crate::sandbox::run::execute::{Ending, classify, enter, exited, instantiate};
use crate::sandbox::{Prepared, Sandbox, TaskError, TaskState};

/// What a session's turn needs beyond a task's.
pub(in crate::sandbox) struct SessionTurn<'a> {
    pub state: Option<&'a SessionState>,
    /// The session's live instance, already holding `state`.
    pub live: Option<LiveInstance>,
    /// Whether the instance may be kept live after the run (so its writes
    /// are worth tracking).
    pub keep: bool,
    pub max_state_bytes: u64,
    pub source: &'a str,
    /// The run's `/tmp` on the host.
    pub tmp: &'a Path,
}

/// An instance holding a session's state, with, when the kernel tracks
/// them, the writes to it since it did.
pub(in crate::sandbox) struct LiveInstance {
    pub instance: Instance,
    pub tracker: Option<WriteTracker>,
}

/// A run that ended well: its new state, as stored and as read, and the
/// instance that holds it.
pub(in crate::sandbox) struct Kept {
    pub bytes: Vec<u8>,
    pub state: SessionState,
    pub live: LiveInstance,
}

impl Sandbox {
    /// Instantiate and restore (unless the session is live), run and read
    /// back; the ending, and when the run is kept the new state as stored
    /// with the instance that now holds it.
    pub(in crate::sandbox) fn session_turn(
        &self,
        store: &mut Store<TaskState>,
        prepared: &Prepared,
        turn: SessionTurn<'_>,
        limits: &AppliedLimits,
    ) -> Result<(Ending, Option<Kept>), TaskError> {
        let python = self
            .python
            .get()
            .ok_or(TaskError::RuntimeNotLoaded(sandrun_api::Runtime::Python))?;
        let restore = turn.live.is_none();
        let began = Instant::now();
        let (instance, tracker) = match turn.live {
            Some(live) => {
                let memory = guest_memory(store, &live.instance)?;
                let size = memory.data_size(&*store);
                store.data_mut().limiter.note_size(size);
                (live.instance, live.tracker)
            }
            None => match instantiate(store, prepared) {
                Ok(instance) => (instance, None),
                Err(error) => return Ok((classify(error, limits), None)),
            },
        };
        let base = python.base_memory.get_or_init(|| {
            let memory = instance
                .get_memory(&mut *store, "memory")
                .expect("the runtime exports its memory");
            memory.data(&*store).into()
        });
        if let Some(state) = turn.state.filter(|_| restore) {
            state.restore(store, &instance, &python.snapshot_hash)?;
        }
        let restored = began.elapsed();
        let code = match enter(store, prepared, &instance, turn.source) {
            Ok(code) => code,
            Err(error) => return Ok((classify(error, limits), None)),
        };
        let Some(end) = store.data().services.session_end.clone() else {
            let ending = Ending {
                outcome: Outcome::Trapped,
                exit_code: Some(code),
                message: Some("the session's runner did not finish the run".into()),
            };
            return Ok((ending, None));
        };
        let too_large = |e: StateError| {
            let ending = Ending {
                outcome: Outcome::StateExceeded,
                exit_code: None,
                message: Some(e.0),
            };
            Ok((ending, None))
        };
        let ran = began.elapsed();
        let tmp = match TmpFiles::read(turn.tmp, turn.max_state_bytes) {
            Ok(tmp) => tmp,
            Err(e) => return too_large(e),
        };
        let capture = Capture {
            base,
            snapshot: &python.snapshot_hash,
            tmp,
            clock_ns: store.data().clock.elapsed_nanos(),
            runs: turn.state.map_or(0, SessionState::runs) + 1,
            known: turn.state.map(|state| &state.memory),
            written: tracker.as_ref().and_then(WriteTracker::take_written),
        };
        let tracking = capture.written.is_some();
        let state = capture.read(store, &instance)?;
        // Go on tracking the same memory, or start (again) on what it is now.
        let memory = guest_memory(store, &instance)?.data(&*store);
        let tracker = match tracker {
            Some(tracker) if tracking && tracker.tracks(memory) => Some(tracker),
            stale => {
                drop(stale);
                turn.keep.then(|| WriteTracker::start(memory)).flatten()
            }
        };
        let captured = began.elapsed();
        let bytes = state.to_bytes();
        let stored = bytes.len() as u64;
        tracing::debug!(
            live = !restore,
            tracked = tracking,
            start_ms = ms(restored),
            run_ms = ms(ran - restored),
            capture_ms = ms(captured - ran),
            encode_ms = ms(began.elapsed() - captured),
            state_bytes = stored,
            "session turn"
        );
        if stored > turn.max_state_bytes {
            return too_large(StateError(format!(
                "the session's state would take {}; its limit is {}",
                bytesize::ByteSize(stored).display().iec(),
                bytesize::ByteSize(turn.max_state_bytes).display().iec()
            )));
        }
        let kept = Kept {
            bytes,
            state,
            live: LiveInstance { instance, tracker },
        };
        Ok((exited(end.status), Some(kept)))
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
