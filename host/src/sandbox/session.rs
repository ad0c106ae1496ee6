//! Sessions in the sandbox: Python whose state outlives one run, kept as
//! data rather than as a live process, so that any node holding the data
//! can run the next turn.
//!
//! A run starts from a fresh instance of the runtime's snapshot, as a
//! task does, and is given the session's state first: the memory pages
//! that differ from the snapshot's image, the instance's mutable globals
//! (the snapshot module exports them for this), and the files of its
//! `/tmp`. When the run ends well (the code ran, whether or not it raised)
//! the same three are read back as the new state. When a limit or a fault
//! stopped it, the interpreter may be half-way through anything, so no
//! state is read and the session stays as it was before the run.
//!
//! The instance a run ended well in may also be kept live (`live`), so
//! that the next run on this process, given the token of the very state
//! it holds, skips the fresh instance and the restore (and need not be
//! given the state's bytes).
//!
//! What does not survive between runs: open file descriptors (a file left
//! open is closed), and anything held by the host for one run (its host
//! calls' output, logs and progress). The monotonic clock carries on from
//! where the last run left it.

mod live;
mod memory;
mod run;
mod tmp_files;
mod write_tracking;
mod written_pages;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use wasmtime::{Instance, Store, Val};

use crate::sandbox::TaskState;
pub use live::LiveSessions;
pub(super) use live::{Held, Live, LiveCache};
use memory::MemoryDiff;
pub(super) use run::{LiveInstance, SessionTurn};
use tmp_files::TmpFiles;
pub(super) use write_tracking::WriteTracker;

/// The export names the snapshot module gives its mutable globals.
const GLOBAL_PREFIX: &str = "__wizer_global_";
/// Bumped when the stored layout changes; older states are refused (with
/// the reason, so the session can be restarted). Format 1 kept the
/// memory's pages as one compressed block; format 2 kept them as they
/// were, not as their difference from the snapshot's.
const FORMAT: u32 = 3;

/// A stored state that cannot be used: corrupt, from another format, or
/// made by another runtime snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the session's state cannot be used: {0}")]
pub struct StateError(pub String);

/// A mutable global's value, as its bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum GlobalValue {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
}

/// Everything a session keeps between runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionState {
    format: u32,
    /// The snapshot module the state belongs to (its sha256).
    snapshot: String,
    memory: MemoryDiff,
    globals: Vec<(String, GlobalValue)>,
    tmp: TmpFiles,
    /// The guest's monotonic clock when the last run ended.
    clock_ns: u64,
    /// Runs that ended well so far.
    runs: u64,
}

impl SessionState {
    /// The state as stored.
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("states serialise")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<SessionState, StateError> {
        let unreadable = |e: postcard::Error| StateError(e.to_string());
        let (format, _): (u32, _) = postcard::take_from_bytes(bytes).map_err(unreadable)?;
        if format != FORMAT {
            return Err(StateError(format!(
                "it has format {format}, this server reads {FORMAT}; restart the session"
            )));
        }
        postcard::from_bytes(bytes).map_err(unreadable)
    }

    /// The files of the session's `/tmp`.
    pub(super) fn tmp_files(&self) -> &TmpFiles {
        &self.tmp
    }

    /// Runs that ended well, and so made this state.
    pub fn runs(&self) -> u64 {
        self.runs
    }

    /// How long the session's guest has run, on its own clock.
    pub fn clock(&self) -> Duration {
        Duration::from_nanos(self.clock_ns)
    }

    /// Bytes of memory the state holds apart from the snapshot's, uncompressed.
    pub fn memory_bytes(&self) -> u64 {
        self.memory.page_bytes()
    }

    /// Put this state into a fresh `instance` of `snapshot`.
    pub(super) fn restore(
        &self,
        store: &mut Store<TaskState>,
        instance: &Instance,
        snapshot: &str,
    ) -> Result<(), StateError> {
        if self.snapshot != snapshot {
            return Err(StateError(
                "it was made by another runtime snapshot (the runtime or server changed)".into(),
            ));
        }
        let memory = guest_memory(store, instance)?;
        let grow = self
            .memory
            .len
            .saturating_sub(memory.data_size(&*store) as u64);
        if grow > 0 {
            memory
                .grow(&mut *store, grow.div_ceil(1 << 16))
                .map_err(|e| StateError(format!("growing the memory: {e:#}")))?;
        }
        self.memory.apply(memory.data_mut(&mut *store))?;
        for (name, value) in &self.globals {
            let global = instance
                .get_global(&mut *store, name)
                .ok_or_else(|| StateError(format!("the snapshot has no global `{name}`")))?;
            let value = match *value {
                GlobalValue::I32(v) => Val::I32(v),
                GlobalValue::I64(v) => Val::I64(v),
                GlobalValue::F32(v) => Val::F32(v),
                GlobalValue::F64(v) => Val::F64(v),
            };
            global
                .set(&mut *store, value)
                .map_err(|e| StateError(format!("global `{name}`: {e:#}")))?;
        }
        Ok(())
    }
}

/// What a run's instance leaves behind, read into a new state.
pub(super) struct Capture<'a> {
    /// The snapshot's memory image, as a fresh instance has it.
    pub base: &'a [u8],
    pub snapshot: &'a str,
    pub tmp: TmpFiles,
    pub clock_ns: u64,
    pub runs: u64,
    /// What the instance's memory held beyond the base before the run (the
    /// state it was given): none for a session's first.
    pub known: Option<&'a MemoryDiff>,
    /// For each page, whether the run wrote it, when the kernel tracked it.
    pub written: Option<Vec<bool>>,
}

impl Capture<'_> {
    /// The new state.
    pub(super) fn read(
        self,
        store: &mut Store<TaskState>,
        instance: &Instance,
    ) -> Result<SessionState, StateError> {
        let memory = guest_memory(store, instance)?;
        let data = memory.data(&*store);
        // Pages the run wrote; else every page the instance may ever have
        // written.
        let changed = match self.written {
            Some(written) if written.len() == data.len().div_ceil(memory::PAGE) => Some(written),
            _ => written_pages::written_pages(data),
        };
        let diff = MemoryDiff::between(self.base, data, changed.as_deref(), self.known);
        let globals: Vec<(String, wasmtime::Global)> = instance
            .exports(&mut *store)
            .filter(|e| e.name().starts_with(GLOBAL_PREFIX))
            .filter_map(|e| {
                let name = e.name().to_owned();
                e.into_global().map(|g| (name, g))
            })
            .collect();
        let mut values = Vec::with_capacity(globals.len());
        for (name, global) in globals {
            let value = match global.get(&mut *store) {
                Val::I32(v) => GlobalValue::I32(v),
                Val::I64(v) => GlobalValue::I64(v),
                Val::F32(v) => GlobalValue::F32(v),
                Val::F64(v) => GlobalValue::F64(v),
                other => {
                    return Err(StateError(format!(
                        "global `{name}` holds {other:?}, which is not kept"
                    )));
                }
            };
            values.push((name, value));
        }
        let state = SessionState {
            format: FORMAT,
            snapshot: self.snapshot.to_owned(),
            memory: diff,
            globals: values,
            tmp: self.tmp,
            clock_ns: self.clock_ns,
            runs: self.runs,
        };
        Ok(state)
    }
}

fn guest_memory(
    store: &mut Store<TaskState>,
    instance: &Instance,
) -> Result<wasmtime::Memory, StateError> {
    instance
        .get_memory(&mut *store, "memory")
        .ok_or_else(|| StateError("the runtime exports no `memory`".into()))
}
