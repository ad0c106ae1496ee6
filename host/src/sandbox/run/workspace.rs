//! A task's private directories: `/input`, holding the files it was given
//! (preopened read-only), `/tmp`, its scratch space, and `/output`, where
//! it leaves its artifacts. All three live in one host temporary directory.
//!
//! Making and removing that directory costs more than running a small
//! task (removal alone took about 1 ms here), so a workspace its task left
//! exactly as it found it, every directory empty, is kept for the next
//! task; any other is removed.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tempfile::TempDir;

use crate::sandbox::TaskError;

/// The workspace's directories as the guest sees them, in the order they
/// are preopened, and whether the guest may write each.
pub const GUEST_DIRS: [(&str, bool); 3] = [("/input", false), ("/tmp", true), ("/output", true)];

/// Empty workspaces kept for reuse at most; more are removed.
const MAX_IDLE: usize = 16;

#[derive(Debug)]
pub struct Workspace {
    dir: TempDir,
}

impl Workspace {
    pub fn create(files: &BTreeMap<String, Vec<u8>>) -> Result<Self, TaskError> {
        let dir = tempfile::Builder::new()
            .prefix("sandrun-task-")
            .tempdir()
            .map_err(TaskError::Workspace)?;
        let ws = Workspace { dir };
        fs::create_dir(ws.input()).map_err(TaskError::Workspace)?;
        fs::create_dir(ws.tmp()).map_err(TaskError::Workspace)?;
        fs::create_dir(ws.output()).map_err(TaskError::Workspace)?;
        for (name, bytes) in files {
            let path = ws.input().join(name);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(TaskError::Workspace)?;
            }
            fs::write(&path, bytes).map_err(TaskError::Workspace)?;
        }
        Ok(ws)
    }

    /// The host directory behind each of [`GUEST_DIRS`], in its order.
    pub fn host_dirs(&self) -> [PathBuf; 3] {
        [self.input(), self.tmp(), self.output()]
    }

    pub fn input(&self) -> PathBuf {
        self.dir.path().join("input")
    }

    pub fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    pub fn output(&self) -> PathBuf {
        self.dir.path().join("output")
    }

    /// The host directories the guest can write.
    pub fn writable(&self) -> Vec<PathBuf> {
        GUEST_DIRS
            .into_iter()
            .zip(self.host_dirs())
            .filter_map(|((_, writable), host)| writable.then_some(host))
            .collect()
    }

    /// Every directory is there and holds nothing.
    fn is_pristine(&self) -> bool {
        let empty =
            |dir: &Path| fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none());
        empty(&self.input()) && empty(&self.tmp()) && empty(&self.output())
    }
}

/// Empty workspaces of ended tasks, handed to tasks that bring no files.
#[derive(Debug, Default)]
pub struct Workspaces {
    idle: Mutex<Vec<Workspace>>,
}

impl Workspaces {
    /// A workspace holding `files`: an idle one when there are none.
    pub fn take(&self, files: &BTreeMap<String, Vec<u8>>) -> Result<Workspace, TaskError> {
        if files.is_empty()
            && let Some(idle) = self.lock().pop()
        {
            return Ok(idle);
        }
        Workspace::create(files)
    }

    /// A task ended: keep its workspace if it is empty again, else remove it.
    pub fn give_back(&self, workspace: Workspace) {
        if workspace.is_pristine() {
            let mut idle = self.lock();
            if idle.len() < MAX_IDLE {
                idle.push(workspace);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Workspace>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }
}
