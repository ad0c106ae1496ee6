//! The sandbox engine: one wasmtime engine per process, compiled modules
//! shared by every task, and a fresh instance for each task so that nothing
//! one task does is visible to the next.
//!
//! A guest gets only what it was given: its arguments, environment and
//! stdin, its input files read-only under `/input`, a private `/tmp`, and
//! for Python the standard library. No host files, network or processes.
//! Every limit is enforced by the host, not by the guest's cooperation.
//!
//! The code is grouped by concern:
//! - `engine`: what every task shares (the wasmtime engine, the instance
//!   slots of its pool, compiled modules kept on disk);
//! - `run`: one task, from its request to its result;
//! - `wasi`: WASI preview1, answered by the host itself where wasmtime-wasi
//!   would not keep a limit;
//! - `host_call`: the `host.call` import and the services behind it;
//! - `python`: what a Python task needs beyond a module (the runtime's
//!   snapshot, the `sandrun` helper, the way code enters the interpreter);
//! - `session`: Python whose state outlives a run, kept as data;
//!
//! with `error` and `guest_memory` shared by all of them.

mod engine;
mod error;
mod guest_memory;
mod host_call;
mod python;
mod run;
mod session;
mod wasi;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use wasmtime::{Engine, InstancePre, Linker, Module};
use wasmtime_wasi::p1::WasiP1Ctx;

pub use error::{SandboxError, TaskError};
pub use host_call::hooks::{KvError, KvStore, NoHooks, Stream, TaskHooks};
pub use host_call::services::HostCalls;
pub use run::execute::{NewState, Ran};
pub use run::limits::{LimitError, LimitField, LimitPolicy};
pub use run::stop::CancelHandle;
pub use run::task::{SessionInput, Source, StoredState, Task, WasmModule};
pub use run::task_thread;
pub use session::{LiveSessions, SessionState, StateError};

use crate::home::Home;
use engine::EpochTicker;
use engine::instance_gate::InstanceGate;
use engine::module_cache::ModuleCache;
use host_call::services::Services;
use python::PythonRuntime;
use run::execute::TaskClock;
use run::limits::MemoryLimiter;
use run::stop::StopSignal;
use run::workspace::Workspaces;
use session::LiveCache;
use wasi::disk_quota::DiskQuota;
use wasi::open_files::OpenFiles;

/// Everything the host keeps for one running task.
struct TaskState {
    wasi: WasiP1Ctx,
    limiter: MemoryLimiter,
    stop: StopSignal,
    clock: TaskClock,
    open_files: OpenFiles,
    disk_quota: DiskQuota,
    services: Services,
}

impl TaskState {
    /// A state holding nothing of any run, for a live session's store
    /// between its runs (so the last run's hooks and output are let go).
    fn idle() -> TaskState {
        let now = std::time::Instant::now();
        TaskState {
            wasi: wasmtime_wasi::WasiCtxBuilder::new().build_p1(),
            limiter: MemoryLimiter::new(0),
            stop: StopSignal::new(CancelHandle::new(), now),
            clock: TaskClock::starting(now),
            open_files: OpenFiles::new(0),
            disk_quota: DiskQuota::new(0, Vec::new()),
            services: Services::new(Arc::new(NoHooks), None, None, 0, 0),
        }
    }
}

/// How a module is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// A WASI command: `_start()`, exit code through `proc_exit`.
    Start,
    /// A reactor: `_initialize()` if present, then `run() -> i32`.
    Run,
    /// The Python runtime: `turn(ptr, len) -> i32` with the task's source.
    Turn,
}

/// A module linked against the sandbox's imports, ready to instantiate.
struct Prepared {
    pre: InstancePre<TaskState>,
    entry: Entry,
}

/// Runs tasks. Cheap to share between threads; each `run` uses its own store.
pub struct Sandbox {
    engine: Engine,
    linker: Linker<TaskState>,
    cache: ModuleCache,
    policy: LimitPolicy,
    guest_sdk_dir: PathBuf,
    snapshot_dir: PathBuf,
    python: OnceLock<PythonRuntime>,
    modules: Mutex<HashMap<String, Arc<Prepared>>>,
    gate: InstanceGate,
    live: Arc<LiveCache>,
    workspaces: Workspaces,
    _ticker: EpochTicker,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// A sandbox running up to `tasks_at_once` tasks at the same time (more
    /// wait for a free instance slot), keeping up to `live.capacity`
    /// sessions live between their runs.
    pub fn new(
        home: &Home,
        policy: LimitPolicy,
        tasks_at_once: usize,
        live: LiveSessions,
    ) -> Result<Self, SandboxError> {
        let slots = u32::try_from(tasks_at_once.max(1)).unwrap_or(u32::MAX);
        let live_slots = u32::try_from(live.capacity).unwrap_or(u32::MAX);
        let max_memory = policy
            .maximum
            .memory_bytes
            .max(python::snapshot::SNAPSHOT_MEMORY);
        let engine = engine::new_engine(slots.saturating_add(live_slots), max_memory)
            .map_err(|e| SandboxError::Engine(format!("{e:#}")))?;
        let linker = link(&engine).map_err(|e| SandboxError::Engine(format!("{e:#}")))?;
        let ticker = EpochTicker::start(engine.clone()).map_err(SandboxError::Thread)?;
        Ok(Sandbox {
            cache: ModuleCache::new(&engine, home.module_cache()),
            engine,
            linker,
            policy,
            guest_sdk_dir: home.guest_sdk(),
            snapshot_dir: home.snapshots(),
            python: OnceLock::new(),
            modules: Mutex::new(HashMap::new()),
            gate: InstanceGate::new(slots),
            live: LiveCache::start(live).map_err(SandboxError::Thread)?,
            workspaces: Workspaces::default(),
            _ticker: ticker,
        })
    }

    pub fn policy(&self) -> &LimitPolicy {
        &self.policy
    }

    /// Compile and link `wasm` now (or find it already done), so that a
    /// module that cannot run is refused before any task uses it.
    pub fn load_module(&self, wasm: &[u8]) -> Result<(), SandboxError> {
        self.wasm_module(&WasmModule::new(wasm)).map(|_| ())
    }

    /// A wasm task's module, compiled and linked once per distinct module.
    fn wasm_module(&self, wasm: &WasmModule) -> Result<Arc<Prepared>, SandboxError> {
        let WasmModule { hash, bytes } = wasm;
        if let Some(found) = self
            .modules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(hash)
        {
            return Ok(found.clone());
        }
        let module = self
            .cache
            .load(bytes, hash, "the module", &crate::progress::Silent)?;
        let prepared = Arc::new(self.prepare(&module)?);
        self.modules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(hash.clone(), prepared.clone());
        Ok(prepared)
    }

    fn prepare(&self, module: &Module) -> Result<Prepared, SandboxError> {
        let entry = if module.get_export("_start").is_some() {
            Entry::Start
        } else if module.get_export("run").is_some() {
            Entry::Run
        } else {
            return Err(SandboxError::InvalidModule(
                "the module exports neither `_start` (a WASI command) nor `run`".into(),
            ));
        };
        self.prepare_as(module, entry)
    }

    fn prepare_as(&self, module: &Module, entry: Entry) -> Result<Prepared, SandboxError> {
        let pre = self
            .linker
            .instantiate_pre(module)
            .map_err(|e| SandboxError::InvalidModule(format!("{e:#}")))?;
        Ok(Prepared { pre, entry })
    }
}

/// The imports every guest may use: WASI preview1, with the host's own
/// `poll_oneoff` and open-file accounting, and `host.call`.
fn link(engine: &Engine) -> wasmtime::Result<Linker<TaskState>> {
    let mut linker = Linker::new(engine);
    wasi::define(&mut linker)?;
    host_call::define(&mut linker)?;
    Ok(linker)
}
