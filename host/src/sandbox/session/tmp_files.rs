//! A session's `/tmp` as data: every directory and regular file under it,
//! read after a run and written into the next run's fresh `/tmp`. Symbolic
//! links and other special files are not kept.

use std::fs;
use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

use super::StateError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Entry {
    Dir(String),
    File(String, Vec<u8>),
}

/// `/tmp`'s directories and files, LZ4-compressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TmpFiles {
    /// Bytes of the files, uncompressed.
    pub len: u64,
    #[serde(with = "serde_bytes")]
    pub compressed: Vec<u8>,
}

impl TmpFiles {
    /// What `dir` holds, or an error once it passes `max_bytes`.
    pub fn read(dir: &Path, max_bytes: u64) -> Result<TmpFiles, StateError> {
        let mut entries = Vec::new();
        let mut len = 0;
        walk(dir, "", &mut entries, &mut len, max_bytes)?;
        let raw = postcard::to_stdvec(&entries).expect("entries serialise");
        Ok(TmpFiles {
            len,
            compressed: lz4_flex::compress_prepend_size(&raw),
        })
    }

    /// Recreate the entries in `dir`, which is empty.
    pub fn write(&self, dir: &Path) -> Result<(), StateError> {
        let raw = lz4_flex::decompress_size_prepended(&self.compressed)
            .map_err(|e| StateError(format!("/tmp files: {e}")))?;
        let entries: Vec<Entry> =
            postcard::from_bytes(&raw).map_err(|e| StateError(format!("/tmp files: {e}")))?;
        let failed = |path: &str, e: std::io::Error| StateError(format!("/tmp/{path}: {e}"));
        for entry in &entries {
            let (path, bytes) = match entry {
                Entry::Dir(path) => (path, None),
                Entry::File(path, bytes) => (path, Some(bytes)),
            };
            let inside = Path::new(path)
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
            if !inside {
                return Err(StateError(format!("/tmp/{path} leaves /tmp")));
            }
            let target = dir.join(path);
            match bytes {
                None => fs::create_dir_all(&target).map_err(|e| failed(path, e))?,
                Some(bytes) => fs::write(&target, bytes).map_err(|e| failed(path, e))?,
            }
        }
        Ok(())
    }
}

/// Entries under `dir`, parents before children, named relative to `/tmp`.
fn walk(
    dir: &Path,
    prefix: &str,
    entries: &mut Vec<Entry>,
    len: &mut u64,
    max_bytes: u64,
) -> Result<(), StateError> {
    let failed = |e: std::io::Error| StateError(format!("/tmp/{prefix}: {e}"));
    let mut children: Vec<_> = fs::read_dir(dir)
        .map_err(failed)?
        .collect::<Result<_, _>>()
        .map_err(failed)?;
    children.sort_by_key(|c| c.file_name());
    for child in children {
        let Ok(name) = child.file_name().into_string() else {
            continue;
        };
        let path = format!("{prefix}{name}");
        let kind = child.file_type().map_err(failed)?;
        if kind.is_dir() {
            entries.push(Entry::Dir(path.clone()));
            walk(&child.path(), &format!("{path}/"), entries, len, max_bytes)?;
        } else if kind.is_file() {
            let size = child.metadata().map_err(failed)?.len();
            *len += size;
            if *len > max_bytes {
                return Err(StateError(format!(
                    "the files in /tmp pass the session's state limit of {max_bytes} bytes"
                )));
            }
            let bytes = fs::read(child.path()).map_err(failed)?;
            entries.push(Entry::File(path, bytes));
        }
    }
    Ok(())
}
