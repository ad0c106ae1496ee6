//! Python snapshots: the interpreter started and the pre-import list
//! imported once, so that a task starts where that work ended instead of
//! paying seconds for `import pandas`.
//!
//! A snapshot is made with Wizer from the installed runtime: instrumented,
//! run through one `turn` in a store laid out exactly as a task's (same
//! preopens, same order, since the guest's libc keeps that table in
//! memory), and captured into a new module. It is keyed by everything that
//! changes its bytes (runtime pin, helper zip, boot code, pre-import list,
//! sandrun version), written atomically under the data directory, and then
//! compiled and cached like any module.
//!
//! The snapshot module exports its mutable globals (Wizer's instrumenting
//! pass, run again on the snapshot), which changes nothing for a task and
//! lets a session's state hold them.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::{Instance, Store, Val};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wizer::{InstanceState, SnapshotVal, ValType, Wizer};

use super::{guest_sdk, turn, unused};
use crate::progress::Progress;
use crate::runtime::Installed;
use crate::sandbox::engine::HOST_THREAD_STACK;
use crate::sandbox::engine::module_cache::{lock_file, sha256_hex, write_atomically};
use crate::sandbox::host_call::hooks::{NoHooks, Stream};
use crate::sandbox::host_call::services::Services;
use crate::sandbox::run::execute::{TaskClock, armed_store, preopen};
use crate::sandbox::run::limits::MemoryLimiter;
use crate::sandbox::run::output::CappedOutput;
use crate::sandbox::run::stop::{CancelHandle, StopSignal};
use crate::sandbox::run::workspace::{GUEST_DIRS, Workspace};
use crate::sandbox::wasi::disk_quota::DiskQuota;
use crate::sandbox::wasi::open_files::OpenFiles;
use crate::sandbox::{Sandbox, SandboxError, TaskState};

/// Bounds for the snapshot's one turn, far above what imports need.
const SNAPSHOT_FUEL: u64 = 5_000_000_000_000;
pub(in crate::sandbox) const SNAPSHOT_MEMORY: u64 = 4 << 30;
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(3600);
const SNAPSHOT_STDERR: u64 = 64 << 10;

impl Sandbox {
    /// The snapshot of `installed` with `pre_import` imported: found in the
    /// data directory, or made now (with progress) and stored there.
    pub fn python_snapshot(
        &self,
        installed: &Installed,
        pre_import: &[String],
        progress: &dyn Progress,
    ) -> Result<PathBuf, SandboxError> {
        let stdlib_dir = &guest_sdk::stdlib_with_helper(installed, &self.guest_sdk_dir)?;
        let key = snapshot_key(installed, stdlib_dir, pre_import);
        let manifest = &installed.manifest;
        let path = self.snapshot_dir.join(format!(
            "{}-{}-{key}.wasm",
            manifest.name,
            manifest.pin_id()
        ));
        if path.is_file() {
            unused::mark_used(&path);
            self.forget_unused_snapshots(&path);
            return Ok(path);
        }
        let failed = |e: std::io::Error| SandboxError::Snapshot(format!("{}: {e}", path.display()));
        fs::create_dir_all(&self.snapshot_dir).map_err(failed)?;
        // One process makes a given snapshot; the others wait for it.
        let _lock = lock_file(&path.with_extension("lock"));
        if path.is_file() {
            return Ok(path);
        }
        let module_path = installed.module_path();
        let wasm = fs::read(&module_path).map_err(|source| SandboxError::Read {
            path: module_path,
            source,
        })?;
        let what = if pre_import.is_empty() {
            String::new()
        } else {
            format!(" with {} imported", pre_import.join(", "))
        };
        let snapshot =
            self.make_snapshot(&wasm, installed, stdlib_dir, pre_import, progress, &what)?;
        let (_, snapshot) = Wizer::new()
            .instrument(&snapshot)
            .map_err(|e| SandboxError::Snapshot(format!("exporting its globals: {e:#}")))?;
        write_atomically(&path, &snapshot).map_err(failed)?;
        tracing::info!(path = %path.display(), "python snapshot made");
        self.forget_unused_snapshots(&path);
        Ok(path)
    }

    /// Delete snapshots other than `keep` left unused, with their compiled
    /// code and lock files.
    fn forget_unused_snapshots(&self, keep: &Path) {
        let is_snapshot = |p: &Path| p.extension().is_some_and(|e| e == "wasm");
        for path in unused::unused_entries(&self.snapshot_dir, keep, is_snapshot) {
            if let Ok(bytes) = fs::read(&path) {
                self.cache.forget(&sha256_hex(&bytes));
            }
            let _ = fs::remove_file(path.with_extension("lock"));
            unused::delete(&path, "snapshot");
        }
    }

    fn make_snapshot(
        &self,
        wasm: &[u8],
        installed: &Installed,
        stdlib_dir: &Path,
        pre_import: &[String],
        progress: &dyn Progress,
        what: &str,
    ) -> Result<Vec<u8>, SandboxError> {
        let failed = |e: wasmtime::Error| SandboxError::Snapshot(format!("{e:#}"));
        let wizer = Wizer::new();
        let (context, instrumented) = wizer.instrument(wasm).map_err(failed)?;
        let name = &installed.manifest.name;
        let module = self.cache.load(
            &instrumented,
            &sha256_hex(&instrumented),
            &format!("the {name} runtime for its snapshot"),
            progress,
        )?;
        let pre = self
            .linker
            .instantiate_pre(&module)
            .map_err(|e| SandboxError::InvalidModule(format!("{e:#}")))?;
        let workspace = Workspace::create(&BTreeMap::new())
            .map_err(|e| SandboxError::Snapshot(e.to_string()))?;
        let stderr = CappedOutput::new(SNAPSHOT_STDERR, Stream::Stderr, Arc::new(NoHooks));
        let mut wasi = WasiCtxBuilder::new();
        let guest = &installed.manifest.guest;
        wasi.stderr(stderr.clone())
            .arg(&guest.argv0)
            .envs(&guest.env.iter().collect::<Vec<_>>());
        let read_only_dirs = super::read_only_dirs(installed, stdlib_dir.to_owned());
        preopen(&mut wasi, &read_only_dirs, &workspace).map_err(failed)?;
        let started = Instant::now();
        let clock = TaskClock::starting(started);
        let state = TaskState {
            wasi: wasi.build_p1(),
            limiter: MemoryLimiter::new(SNAPSHOT_MEMORY),
            stop: StopSignal::new(CancelHandle::new(), started + SNAPSHOT_TIMEOUT),
            clock,
            open_files: OpenFiles::new(1024),
            disk_quota: DiskQuota::new(u64::MAX, Vec::new()),
            services: Services::new(Arc::new(NoHooks), None, None, u64::MAX, u64::MAX),
        };
        let _slot = self.gate.enter();
        let mut store = armed_store(&self.engine, state, SNAPSHOT_FUEL);
        progress.start(&format!("Snapshotting the {name} runtime{what}"), None);
        // Guest code needs the deep native stack tasks get.
        let made = std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("sandrun-snapshot".into())
                .stack_size(HOST_THREAD_STACK)
                .spawn_scoped(scope, || {
                    let instance = pre.instantiate(&mut store).map_err(failed)?;
                    let source = turn::snapshot_source(pre_import);
                    let status = turn::call_turn(&mut store, &instance, &source);
                    if !matches!(status, Ok(0)) {
                        let (err, _) = stderr.take();
                        return Err(SandboxError::Snapshot(format!(
                            "importing {} ended with {}: {}",
                            pre_import.join(", "),
                            match status {
                                Ok(code) => format!("status {code}"),
                                Err(e) => format!("{e:#}"),
                            },
                            String::from_utf8_lossy(&err).trim_end()
                        )));
                    }
                    let mut captured = Captured {
                        store: &mut store,
                        instance,
                    };
                    futures::executor::block_on(wizer.snapshot(&context, &mut captured))
                        .map_err(failed)
                })
                .map_err(|e| SandboxError::Snapshot(format!("cannot start a thread: {e}")))?
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        progress.finish();
        made
    }
}

/// Changes whenever the snapshot's bytes would.
fn snapshot_key(installed: &Installed, stdlib_dir: &Path, pre_import: &[String]) -> String {
    let mut hasher = Sha256::new();
    let stdlib_id = stdlib_dir.file_name().unwrap_or_default().to_string_lossy();
    let pin = installed.manifest.pin_id();
    // The guest's libc keeps its table of preopens in the snapshot's memory.
    let preopens = super::read_only_dirs(installed, stdlib_dir.to_owned())
        .into_iter()
        .map(|(_, guest)| guest)
        .chain(GUEST_DIRS.iter().map(|(guest, _)| guest.to_string()))
        .collect::<Vec<_>>()
        .join("\n");
    let env = format!("{:?}", installed.manifest.guest.env);
    let parts = [
        pin.as_str(),
        &stdlib_id,
        &preopens,
        &env,
        turn::boot_source(),
        "globals exported",
        &pre_import.join("\n"),
        env!("CARGO_PKG_VERSION"),
    ];
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(&hasher.finalize()[..8])
}

/// The instance's state as Wizer reads it.
struct Captured<'a> {
    store: &'a mut Store<TaskState>,
    instance: Instance,
}

impl InstanceState for Captured<'_> {
    async fn global_get(&mut self, name: &str, _: ValType) -> SnapshotVal {
        let global = self
            .instance
            .get_global(&mut *self.store, name)
            .expect("Wizer names the globals it exported");
        match global.get(&mut *self.store) {
            Val::I32(x) => SnapshotVal::I32(x),
            Val::I64(x) => SnapshotVal::I64(x),
            Val::F32(x) => SnapshotVal::F32(x),
            Val::F64(x) => SnapshotVal::F64(x),
            Val::V128(x) => SnapshotVal::V128(x.as_u128()),
            other => panic!("Wizer snapshots no {other:?} globals"),
        }
    }

    async fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) {
        let memory = self
            .instance
            .get_memory(&mut *self.store, name)
            .expect("Wizer names the memories it exported");
        contents(memory.data(&*self.store));
    }
}
