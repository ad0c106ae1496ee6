//! Running one task: a fresh store and instance, the limits armed, the guest
//! run on a thread with room for its stack, and whatever stopped it turned
//! into an outcome.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sandrun_api::{AppliedLimits, Outcome, Output, Runtime, SessionStart, TaskResult};
use wasmtime::{Engine, Instance, Store, Trap, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{FsPerms, HostMonotonicClock, I32Exit, WasiCtxBuilder};

use super::artifacts;
use super::limits::MemoryLimiter;
use super::output::CappedOutput;
use super::stop::{CancelHandle, StopReason, StopSignal, Stopped};
use super::task::{SessionInput, Source, StoredState, Task};
use super::task_thread;
use super::workspace::{GUEST_DIRS, Workspace};
use crate::sandbox::engine::HOST_THREAD_STACK;
use crate::sandbox::host_call::display::Displayed;
use crate::sandbox::host_call::hooks::{NoHooks, Stream, TaskHooks};
use crate::sandbox::host_call::services::{HostCalls, Services};
use crate::sandbox::python::turn::{call_turn, session_source, task_source};
use crate::sandbox::session::{Held, Live, SessionState, SessionTurn};
use crate::sandbox::wasi::disk_quota::DiskQuota;
use crate::sandbox::wasi::open_files::OpenFiles;
use crate::sandbox::{Entry, Prepared, Sandbox, SandboxError, TaskError, TaskState};

/// The guest's monotonic clock, counting from the task's start; the host's
/// `poll_oneoff` reads the same origin for absolute waits.
#[derive(Debug, Clone, Copy)]
pub struct TaskClock {
    origin: Instant,
}

impl TaskClock {
    pub fn starting(origin: Instant) -> Self {
        TaskClock { origin }
    }

    pub fn elapsed_nanos(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }
}

impl HostMonotonicClock for TaskClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        self.elapsed_nanos()
    }
}

/// What one run is held to and watched by.
struct Armed<'a> {
    limits: AppliedLimits,
    cancel: &'a CancelHandle,
    hooks: Arc<dyn TaskHooks>,
    started: Instant,
}

/// Whether a run is a task's, from the snapshot and then thrown away, or a
/// session's, from its state (none for its first run) and kept.
#[derive(Clone, Copy)]
enum Mode<'a> {
    Task,
    Session {
        id: &'a str,
        /// The state the run starts from: read from the stored bytes, or
        /// the one the live instance holds.
        stored: Option<&'a SessionState>,
        /// The most the new state may take, stored.
        max_state_bytes: u64,
    },
}

impl<'a> Mode<'a> {
    fn session_state(self) -> Option<&'a SessionState> {
        match self {
            Mode::Session { stored, .. } => stored,
            Mode::Task => None,
        }
    }
}

/// A session run's new state, as stored, and the token naming it.
#[derive(Debug, Clone)]
pub struct NewState {
    pub token: String,
    pub bytes: Vec<u8>,
}

impl From<NewState> for StoredState {
    fn from(state: NewState) -> Self {
        StoredState {
            token: state.token,
            bytes: Some(state.bytes.into()),
        }
    }
}

/// A run's result, for a session run that ended well its new state, and
/// the bytes of its artifacts.
#[derive(Debug)]
pub struct Ran {
    pub result: TaskResult,
    pub state: Option<NewState>,
    /// The bytes of each of `result.artifacts`, in the same order.
    pub artifacts: Vec<Vec<u8>>,
    pub host_calls: HostCalls,
}

/// How the guest ended, before the bookkeeping is added.
pub(in crate::sandbox) struct Ending {
    pub outcome: Outcome,
    pub exit_code: Option<i32>,
    pub message: Option<String>,
}

impl Sandbox {
    /// Run `task` to its end. Errors mean the task was refused before its
    /// guest started; everything a guest does, including faults, is a result.
    pub fn run(&self, task: &Task, cancel: &CancelHandle) -> Result<TaskResult, TaskError> {
        Ok(self.run_with(task, cancel, Arc::new(NoHooks))?.result)
    }

    /// [`Sandbox::run`], with `hooks` seeing the task's output as it is
    /// produced and serving its host calls. A session's run (`task.session`)
    /// starts from the session's state and hands back the new one when it
    /// ended well: its code ran, whether or not it raised. After a limit or
    /// a fault it does not, and the result says the run was rolled back.
    pub fn run_with(
        &self,
        task: &Task,
        cancel: &CancelHandle,
        hooks: Arc<dyn TaskHooks>,
    ) -> Result<Ran, TaskError> {
        // A live instance holding the very state given is taken as it is;
        // else the state is read from its bytes.
        let (live, state) = match &task.session {
            Some(SessionInput {
                id,
                state: Some(stored),
                ..
            }) => match self.live.take(id, &stored.token) {
                Some(live) => (Some(live.held), Some(live.state)),
                None => match &stored.bytes {
                    Some(bytes) => (None, Some(SessionState::from_bytes(bytes)?)),
                    None => return Err(TaskError::StateNotHeld),
                },
            },
            _ => (None, None),
        };
        let mode = match &task.session {
            None => Mode::Task,
            Some(session) => Mode::Session {
                id: &session.id,
                stored: state.as_ref(),
                max_state_bytes: session.max_state_bytes,
            },
        };
        self.run_in(task, mode, live, cancel, hooks)
    }

    fn run_in(
        &self,
        task: &Task,
        mode: Mode<'_>,
        live: Option<Held>,
        cancel: &CancelHandle,
        hooks: Arc<dyn TaskHooks>,
    ) -> Result<Ran, TaskError> {
        let limits = self.check(task)?;
        let started = Instant::now();
        let prepared = match &task.source {
            Source::Python { .. } => None,
            Source::Wasm { module } => match self.wasm_module(module) {
                Ok(p) => Some(p),
                Err(SandboxError::InvalidModule(reason)) => {
                    let ending = Ending {
                        outcome: Outcome::InvalidModule,
                        exit_code: None,
                        message: Some(reason),
                    };
                    let result = unrun(ending, limits, started);
                    return Ok(Ran {
                        result,
                        state: None,
                        artifacts: Vec::new(),
                        host_calls: HostCalls::new(),
                    });
                }
                Err(e) => return Err(e.into()),
            },
        };
        let workspace = self.workspaces.take(&task.files)?;
        let armed = Armed {
            limits,
            cancel,
            hooks,
            started,
        };
        let execute = || self.execute(task, mode, live, prepared.as_deref(), &workspace, armed);
        // The guest's wasm stack lives on the native stack of the thread that
        // calls into it: a task thread has room for it, any other thread
        // hands the guest to a new thread that has.
        let ran = if task_thread::is_current() {
            execute()
        } else {
            std::thread::scope(|scope| {
                std::thread::Builder::new()
                    .name("sandrun-task".into())
                    .stack_size(HOST_THREAD_STACK)
                    .spawn_scoped(scope, execute)
                    .map_err(TaskError::Thread)?
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
        };
        self.workspaces.give_back(workspace);
        ran
    }

    fn execute(
        &self,
        task: &Task,
        mode: Mode<'_>,
        live: Option<Held>,
        wasm: Option<&Prepared>,
        workspace: &Workspace,
        armed: Armed<'_>,
    ) -> Result<Ran, TaskError> {
        let Armed {
            limits,
            cancel,
            hooks,
            started,
        } = armed;
        let stdout = CappedOutput::new(limits.stdout_bytes, Stream::Stdout, hooks.clone());
        let stderr = CappedOutput::new(limits.stderr_bytes, Stream::Stderr, hooks.clone());
        let session_state = mode.session_state();
        if let Some(state) = session_state {
            state.tmp_files().write(&workspace.tmp())?;
        }
        // A session's clock carries on from where its last run left it.
        let resumed_at = session_state.map_or(Duration::ZERO, SessionState::clock);
        let clock = TaskClock::starting(started.checked_sub(resumed_at).unwrap_or(started));
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdin(MemoryInputPipe::new(task.stdin.clone()))
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .monotonic_clock(clock);
        let preopen_err =
            |e: wasmtime::Error| TaskError::Workspace(std::io::Error::other(e.to_string()));
        let (prepared, read_only_dirs, turn) = match &task.source {
            Source::Python { code } => {
                let python = self
                    .python
                    .get()
                    .ok_or(TaskError::RuntimeNotLoaded(Runtime::Python))?;
                let guest = &python.installed.manifest.guest;
                let mut env: BTreeMap<&str, &str> = guest
                    .env
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                env.extend(task.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                wasi.arg(&guest.argv0).envs(&env.iter().collect::<Vec<_>>());
                let turn = match mode {
                    Mode::Task => task_source(code, &task.args, &env),
                    Mode::Session { stored, .. } => {
                        session_source(code, &task.args, &env, stored.is_none())
                    }
                };
                (&python.prepared, python.read_only_dirs.as_slice(), turn)
            }
            Source::Wasm { .. } if matches!(mode, Mode::Session { .. }) => {
                return Err(TaskError::SessionNotPython);
            }
            Source::Wasm { .. } => {
                wasi.arg("main.wasm")
                    .args(&task.args)
                    .envs(&task.env.iter().collect::<Vec<_>>());
                let wasm = wasm.expect("wasm tasks are prepared before they run");
                (wasm, &[][..], String::new())
            }
        };
        preopen(&mut wasi, read_only_dirs, workspace).map_err(preopen_err)?;

        let deadline = started + Duration::from_millis(limits.timeout_ms);
        let mut services = Services::new(
            hooks,
            task.input.clone(),
            task.kv_namespace.clone(),
            limits.host_calls,
            limits.host_call_bytes,
        );
        services.displayed = Displayed::capped(limits.results, limits.result_bytes);
        if let Mode::Session { .. } = mode {
            services.allow_session_end();
        }
        let state = TaskState {
            wasi: wasi.build_p1(),
            limiter: MemoryLimiter::new(limits.memory_bytes),
            stop: StopSignal::new(cancel.clone(), deadline),
            clock,
            open_files: OpenFiles::new(limits.open_files),
            disk_quota: DiskQuota::new(limits.disk_bytes, workspace.writable()),
            services,
        };
        // Declared before the store, so dropped after it: the slot is free
        // once the instance is gone (or kept live).
        let _slot = self.gate.enter();
        let session_start = match (mode, &live) {
            (Mode::Task, _) => None,
            (_, Some(_)) => Some(SessionStart::Live),
            (Mode::Session { stored: None, .. }, None) => Some(SessionStart::New),
            (Mode::Session { .. }, None) => Some(SessionStart::Stored),
        };
        let (mut store, live_instance) = match live {
            Some(live) => {
                let mut store = live.store;
                *store.data_mut() = state;
                arm(&mut store, limits.fuel);
                (store, Some(live.instance))
            }
            None => (armed_store(&self.engine, state, limits.fuel), None),
        };

        let (mut ending, kept) = match mode {
            Mode::Task => {
                let ending = match call_guest(&mut store, prepared, &turn) {
                    Ok(code) => exited(code),
                    Err(error) => classify(error, &limits),
                };
                (ending, None)
            }
            Mode::Session {
                max_state_bytes, ..
            } => {
                let turn = SessionTurn {
                    state: session_state,
                    live: live_instance,
                    keep: self.live.keeps(),
                    max_state_bytes,
                    source: &turn,
                    tmp: &workspace.tmp(),
                };
                self.session_turn(&mut store, prepared, turn, &limits)?
            }
        };
        let fuel_left = store.get_fuel().unwrap_or(0);
        let peak = store.data().limiter.peak();
        let disk_exceeded = store.data().disk_quota.exceeded();
        let services = std::mem::replace(store.data_mut(), TaskState::idle()).services;
        let kept = kept.map(|kept| {
            let token = uuid::Uuid::now_v7().simple().to_string();
            if let Mode::Session { id, .. } = mode {
                self.live.keep(Live {
                    session: id.to_owned(),
                    token: token.clone(),
                    state: kept.state,
                    held: Held {
                        instance: kept.live,
                        store,
                    },
                });
            }
            NewState {
                token,
                bytes: kept.bytes,
            }
        });
        let value = services.session_end.as_ref().and_then(|e| e.value.clone());
        let rolled_back = matches!(mode, Mode::Session { .. }) && kept.is_none();
        if rolled_back {
            let why = ending
                .message
                .take()
                .unwrap_or_else(|| ending.outcome.name().into());
            ending.message = Some(format!("{why}; the session is as it was before this run"));
        }
        let (out, out_truncated) = stdout.take();
        let (err, err_truncated) = stderr.take();
        let collected =
            artifacts::collect(&workspace.output(), limits.artifacts, limits.artifact_bytes);
        let result = TaskResult {
            outcome: ending.outcome,
            message: ending.message,
            exit_code: ending.exit_code,
            stdout: Output(out),
            stderr: Output(err),
            stdout_truncated: out_truncated,
            stderr_truncated: err_truncated,
            fuel_used: limits.fuel - fuel_left,
            wall_time_ms: started.elapsed().as_secs_f64() * 1e3,
            peak_memory_bytes: peak,
            limits,
            output: services.output,
            logs: services.logs,
            progress: services.progress,
            value,
            rolled_back,
            session_start,
            disk_exceeded,
            results: services.displayed.results,
            results_truncated: services.displayed.truncated,
            artifacts: collected.infos,
            artifacts_truncated: collected.truncated,
        };
        Ok(Ran {
            result,
            state: kept,
            artifacts: collected.contents,
            host_calls: services.calls,
        })
    }
}

/// Every guest's preopens: the runtime's read-only directories first when
/// there are any (for Python, its standard library and the data beside it),
/// then the workspace's (`/input`, `/tmp`, `/output`). A Python snapshot's
/// libc recorded this table, so the snapshot is made with the same one.
pub(in crate::sandbox) fn preopen(
    wasi: &mut WasiCtxBuilder,
    read_only_dirs: &[(PathBuf, String)],
    workspace: &Workspace,
) -> wasmtime::Result<()> {
    for (host, guest) in read_only_dirs {
        wasi.preopened_dir(host, guest, FsPerms::ReadOnly)?;
    }
    for ((guest, writable), host) in GUEST_DIRS.into_iter().zip(workspace.host_dirs()) {
        let perms = if writable {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        wasi.preopened_dir(host, guest, perms)?;
    }
    Ok(())
}

/// A store for `state` with its fuel, memory limit and stop checks armed.
pub(in crate::sandbox) fn armed_store(
    engine: &Engine,
    state: TaskState,
    fuel: u64,
) -> Store<TaskState> {
    let mut store = Store::new(engine, state);
    arm(&mut store, fuel);
    store
}

/// Arm `store`'s fuel, memory limit and stop checks for a run (again, for
/// a live session's store).
fn arm(store: &mut Store<TaskState>, fuel: u64) {
    store.limiter(|state| &mut state.limiter);
    store.set_fuel(fuel).expect("fuel metering is on");
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|ctx| {
        ctx.data().stop.check()?;
        Ok(UpdateDeadline::Continue(1))
    });
}

/// Instantiate and start the guest; its exit code on a normal return.
/// `turn` is the source a `turn` entry runs.
fn call_guest(
    store: &mut Store<TaskState>,
    prepared: &Prepared,
    turn: &str,
) -> wasmtime::Result<i32> {
    let instance = instantiate(store, prepared)?;
    enter(store, prepared, &instance, turn)
}

/// A fresh instance, initialised if it is a reactor.
pub(in crate::sandbox) fn instantiate(
    store: &mut Store<TaskState>,
    prepared: &Prepared,
) -> wasmtime::Result<Instance> {
    let instance = prepared.pre.instantiate(&mut *store)?;
    if let Ok(init) = instance.get_typed_func::<(), ()>(&mut *store, "_initialize") {
        init.call(&mut *store, ())?;
    }
    Ok(instance)
}

/// Call the instance's entry; its exit code on a normal return.
pub(in crate::sandbox) fn enter(
    store: &mut Store<TaskState>,
    prepared: &Prepared,
    instance: &Instance,
    turn: &str,
) -> wasmtime::Result<i32> {
    match prepared.entry {
        Entry::Start => {
            instance
                .get_typed_func::<(), ()>(&mut *store, "_start")?
                .call(&mut *store, ())?;
            Ok(0)
        }
        Entry::Run => instance
            .get_typed_func::<(), i32>(&mut *store, "run")?
            .call(&mut *store, ()),
        Entry::Turn => Ok(call_turn(store, instance, turn)? & 0xFF),
    }
}

pub(in crate::sandbox) fn exited(code: i32) -> Ending {
    let outcome = if code == 0 {
        Outcome::Succeeded
    } else {
        Outcome::Exited
    };
    Ending {
        outcome,
        exit_code: Some(code),
        message: None,
    }
}

/// Turn whatever unwound the guest into an outcome.
pub(in crate::sandbox) fn classify(error: wasmtime::Error, limits: &AppliedLimits) -> Ending {
    let stopped = |outcome, message: String| Ending {
        outcome,
        exit_code: None,
        message: Some(message),
    };
    if let Some(exit) = error.downcast_ref::<I32Exit>() {
        return exited(exit.0);
    }
    let timeout = humantime::format_duration(Duration::from_millis(limits.timeout_ms));
    if let Some(Stopped(reason)) = error.downcast_ref::<Stopped>() {
        return match reason {
            StopReason::TimedOut => stopped(
                Outcome::TimedOut,
                format!("wall-clock timeout of {timeout} reached"),
            ),
            StopReason::Cancelled => stopped(Outcome::Cancelled, "cancelled".into()),
            StopReason::MemoryExceeded => stopped(
                Outcome::MemoryExceeded,
                format!(
                    "memory limit of {} exceeded",
                    bytesize::ByteSize(limits.memory_bytes).display().iec()
                ),
            ),
            StopReason::HostCallsExceeded => stopped(
                Outcome::HostCallsExceeded,
                format!("host-call limit of {} reached", limits.host_calls),
            ),
        };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => stopped(
            Outcome::OutOfFuel,
            format!("all {} units of fuel used", limits.fuel),
        ),
        Some(Trap::Interrupt) => stopped(
            Outcome::TimedOut,
            format!("wall-clock timeout of {timeout} reached"),
        ),
        Some(trap) => stopped(Outcome::Trapped, trap.to_string()),
        None => stopped(Outcome::Trapped, format!("{error:#}")),
    }
}

/// The result of a task whose guest never started.
fn unrun(ending: Ending, limits: AppliedLimits, started: Instant) -> TaskResult {
    TaskResult {
        outcome: ending.outcome,
        message: ending.message,
        exit_code: ending.exit_code,
        stdout: Output::default(),
        stderr: Output::default(),
        stdout_truncated: false,
        stderr_truncated: false,
        fuel_used: 0,
        wall_time_ms: started.elapsed().as_secs_f64() * 1e3,
        peak_memory_bytes: 0,
        limits,
        output: None,
        logs: Vec::new(),
        progress: None,
        value: None,
        rolled_back: false,
        session_start: None,
        disk_exceeded: false,
        results: Vec::new(),
        results_truncated: false,
        artifacts: Vec::new(),
        artifacts_truncated: false,
    }
}
