//! Python tasks. A wasm task's module runs as it is; a Python task runs in
//! the pinned CPython runtime, which needs more before its first task: a
//! snapshot with the interpreter started and the common modules imported
//! (so a task does not pay seconds for `import pandas`), the `sandrun`
//! helper added to its standard library, and a way in for each task's code
//! through the interpreter's `turn` export. The files this leaves in the
//! data directory are cleaned up here too, once a newer pin replaces them.

mod guest_sdk;
pub(super) mod snapshot;
pub(super) mod turn;
mod unused;

use std::path::PathBuf;
use std::sync::OnceLock;

use super::engine::module_cache::sha256_hex;
use super::{Entry, Prepared, Sandbox, SandboxError};
use crate::progress::Progress;
use crate::runtime::Installed;

/// The loaded runtime, shared by every Python task.
pub(super) struct PythonRuntime {
    pub(super) prepared: Prepared,
    pub(super) installed: Installed,
    /// The runtime's directories, preopened read-only in this order.
    pub(super) read_only_dirs: Vec<(PathBuf, String)>,
    /// The snapshot module's sha256: a session's state belongs to it.
    pub(super) snapshot_hash: String,
    /// The snapshot's memory as a fresh instance has it, which a session's
    /// state is the difference from; read at the first session run.
    pub(super) base_memory: OnceLock<Box<[u8]>>,
}

impl Sandbox {
    /// Load the Python runtime with `pre_import` (or, if `None`, its
    /// manifest's list) imported in its snapshot, making and compiling the
    /// snapshot on the machine's first use. Tasks for Python fail with
    /// [`TaskError::RuntimeNotLoaded`] until then.
    ///
    /// [`TaskError::RuntimeNotLoaded`]: super::TaskError::RuntimeNotLoaded
    pub fn load_python(
        &self,
        installed: &Installed,
        pre_import: Option<&[String]>,
        progress: &dyn Progress,
    ) -> Result<(), SandboxError> {
        let pre_import = pre_import.unwrap_or(&installed.manifest.guest.pre_import);
        if self.python.get().is_some() {
            return Ok(());
        }
        let path = self.python_snapshot(installed, pre_import, progress)?;
        let stdlib_dir = guest_sdk::stdlib_with_helper(installed, &self.guest_sdk_dir)?;
        let wasm = std::fs::read(&path).map_err(|source| SandboxError::Read {
            path: path.clone(),
            source,
        })?;
        let what = format!("the {} runtime's snapshot", installed.manifest.name);
        let snapshot_hash = sha256_hex(&wasm);
        let module = self.cache.load(&wasm, &snapshot_hash, &what, progress)?;
        let prepared = self.prepare_as(&module, Entry::Turn)?;
        let _ = self.python.set(PythonRuntime {
            prepared,
            installed: installed.clone(),
            read_only_dirs: read_only_dirs(installed, stdlib_dir),
            snapshot_hash,
            base_memory: OnceLock::new(),
        });
        Ok(())
    }

    /// Whether Python tasks can run.
    pub fn python_loaded(&self) -> bool {
        self.python.get().is_some()
    }
}

/// The directories a Python guest is given read-only, host path and guest
/// path, in the order they are preopened: first the standard library
/// (`stdlib_dir`, the runtime's own zip plus `sandrun.py`; the interpreter
/// finds it through the first preopen), then the data unpacked from the
/// zip, under the zip's own path, where matplotlib looks for its fonts.
pub(super) fn read_only_dirs(installed: &Installed, stdlib_dir: PathBuf) -> Vec<(PathBuf, String)> {
    let stdlib = (stdlib_dir, installed.manifest.stdlib_guest_dir().to_owned());
    std::iter::once(stdlib)
        .chain(installed.zip_data_dirs())
        .collect()
}
