//! A task's private directories: `/input`, holding the files it was given
//! (preopened read-only), and `/tmp`, its scratch space. Both live in one
//! host temporary directory that is removed when the task ends.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Component, Path, PathBuf};

use tempfile::TempDir;

use super::TaskError;

/// Longest name the guest's file system will take for one path component.
const MAX_NAME: usize = 255;

#[derive(Debug)]
pub struct Workspace {
    dir: TempDir,
}

impl Workspace {
    pub fn create(files: &BTreeMap<String, Vec<u8>>) -> Result<Self, TaskError> {
        for name in files.keys() {
            check_name(name)?;
        }
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

/// An input file name must be a plain relative path that stays inside
/// `/input`.
fn check_name(name: &str) -> Result<(), TaskError> {
    let bad = |why: &'static str| TaskError::BadInputName {
        name: name.to_owned(),
        why,
    };
    if name.is_empty() {
        return Err(bad("it is empty"));
    }
    if name.contains('\0') {
        return Err(bad("it contains a NUL byte"));
    }
    if name.contains('\\') {
        return Err(bad("use `/` to separate directories"));
    }
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) if part.len() <= MAX_NAME => {}
            Component::Normal(_) => return Err(bad("a path component is longer than 255 bytes")),
            Component::ParentDir => return Err(bad("`..` would leave /input")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(bad("it must be relative to /input"));
            }
            Component::CurDir => return Err(bad("`.` components are not allowed")),
        }
    }
    if name.ends_with('/') {
        return Err(bad("it names a directory"));
    }
    Ok(())
}
