//! Files in the data directory that a newer runtime pin, helper or
//! pre-import list left behind (snapshots are 100 MB and more, their
//! compiled code 300 MB): each is marked when used, and one unused for a
//! week is deleted the next time its kind is loaded. A week, not at once:
//! two processes sharing a data directory (a server and `sandrun run`, say)
//! may use different ones.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How long an entry may go unused before it is deleted.
pub const UNUSED_FOR: Duration = Duration::from_secs(7 * 86400);

/// Mark `path` as used now. A read-only data directory simply keeps
/// everything.
pub fn mark_used(path: &Path) {
    let _ = touch(path);
}

fn touch(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        // A directory's mtime changes when an entry is made in it.
        let marker = path.join(".used");
        fs::write(&marker, b"")?;
        return fs::remove_file(marker);
    }
    fs::File::options()
        .append(true)
        .open(path)?
        .set_modified(SystemTime::now())
}

/// The entries of `dir` other than `keep`, named by `wanted`, that were
/// last used more than [`UNUSED_FOR`] ago.
pub fn unused_entries(dir: &Path, keep: &Path, wanted: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path != keep && wanted(path))
        .filter(|path| {
            fs::metadata(path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > UNUSED_FOR)
        })
        .collect()
}

/// Delete `path` (a file or a whole directory), logging what happened to
/// the unused `what`.
pub fn delete(path: &Path, what: &str) {
    let deleted = if path.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match deleted {
        Ok(()) => tracing::info!(path = %path.display(), "unused {what} deleted"),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot delete an unused {what}")
        }
    }
}
