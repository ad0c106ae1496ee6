//! A task's private directories: `/input`, holding the files it was given
//! (preopened read-only), and `/tmp`, its scratch space. Both live in one
//! host temporary directory that is removed when the task ends.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use tempfile::TempDir;

use super::TaskError;

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
        for (name, bytes) in files {
            let path = ws.input().join(name);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(TaskError::Workspace)?;
            }
            fs::write(&path, bytes).map_err(TaskError::Workspace)?;
        }
        Ok(ws)
    }

    pub fn input(&self) -> PathBuf {
        self.dir.path().join("input")
    }

    pub fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }
}
