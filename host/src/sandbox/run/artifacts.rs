//! A run's artifacts: the files it left under `/output`, read back from the
//! host directory behind it once the guest has stopped, whatever stopped
//! it, so a run that timed out still hands back what it had written.
//!
//! Files are taken in path order, each one while it fits the run's
//! `artifacts` and `artifact_bytes` limits; one that does not fit is left
//! and the run's result says `artifacts_truncated`. So is anything that
//! cannot travel as an artifact: a link (never followed: it is the guest's
//! to aim), a name that is not UTF-8, a folder too deep for the host to
//! open. Folders themselves are not artifacts, only the files in them.

use std::fs;
use std::path::{Path, PathBuf};

use sandrun_api::ArtifactInfo;
use sha2::{Digest, Sha256};

/// What a run left under `/output`, as kept.
#[derive(Debug, Default)]
pub struct Collected {
    /// By path.
    pub infos: Vec<ArtifactInfo>,
    /// The bytes of each of `infos`, in the same order.
    pub contents: Vec<Vec<u8>>,
    pub truncated: bool,
}

/// The files under `dir`, up to `max_files` of them and `max_bytes` in all.
pub fn collect(dir: &Path, max_files: u64, max_bytes: u64) -> Collected {
    let mut collected = Collected::default();
    let mut bytes = 0u64;
    for (path, host) in files_under(dir, &mut collected.truncated) {
        let size = match fs::symlink_metadata(&host) {
            Ok(meta) => meta.len(),
            Err(_) => {
                collected.truncated = true;
                continue;
            }
        };
        let fits =
            (collected.infos.len() as u64) < max_files && bytes.saturating_add(size) <= max_bytes;
        if !fits {
            collected.truncated = true;
            continue;
        }
        let Ok(content) = fs::read(&host) else {
            collected.truncated = true;
            continue;
        };
        bytes += content.len() as u64;
        collected.infos.push(ArtifactInfo {
            media_type: media_type(&path),
            size: content.len() as u64,
            sha256: hex::encode(Sha256::digest(&content)),
            path,
        });
        collected.contents.push(content);
    }
    collected
}

/// The media type a file's name suggests.
pub fn media_type(path: &str) -> String {
    mime_guess::from_path(path)
        .first_or_octet_stream()
        .essence_str()
        .to_owned()
}

/// Every regular file under `dir` as (path under it, host path), in path
/// order; `skipped` is set for anything else found there. The walk keeps
/// its own stack: a guest can nest folders deeper than a thread's stack.
fn files_under(dir: &Path, skipped: &mut bool) -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    let mut folders = vec![(String::new(), dir.to_owned())];
    while let Some((prefix, folder)) = folders.pop() {
        let Ok(entries) = fs::read_dir(&folder) else {
            *skipped = true;
            continue;
        };
        for entry in entries {
            let Ok(entry) = entry else {
                *skipped = true;
                continue;
            };
            let name = entry.file_name();
            let (Some(name), Ok(kind)) = (name.to_str(), entry.file_type()) else {
                *skipped = true;
                continue;
            };
            let path = format!("{prefix}{name}");
            if kind.is_dir() {
                folders.push((format!("{path}/"), entry.path()));
            } else if kind.is_file() {
                files.push((path, entry.path()));
            } else {
                *skipped = true;
            }
        }
    }
    files.sort();
    files
}
