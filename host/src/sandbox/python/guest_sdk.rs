//! Makes `import sandrun` work in every Python task.
//!
//! The pinned runtime is a pre-initialised snapshot: its `sys.path` is the
//! standard-library zip alone and it ignores `PYTHONPATH`. So the helper
//! module goes where the interpreter already looks: a copy of the stdlib
//! zip with `sandrun.py` appended, built once per machine, runtime and
//! helper version, and preopened read-only in place of the original. The
//! runtime's snapshot cached the zip's old table of contents, so sandrun's
//! own snapshot drops that cache before its imports (`snapshot.rs`). Tasks
//! see no extra variables or directories and write nothing.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use super::unused;
use crate::runtime::Installed;
use crate::sandbox::SandboxError;
use crate::sandbox::engine::module_cache::sha256_hex;

/// The guest-side helper, compiled into the binary.
const HELPER: &str = include_str!("../../../../guest-sdk/python/sandrun.py");

/// The directory to preopen as the runtime's standard library: the
/// installed one plus the helper, created under `sdk_root` if missing.
pub fn stdlib_with_helper(installed: &Installed, sdk_root: &Path) -> Result<PathBuf, SandboxError> {
    let helper_id = &sha256_hex(HELPER.as_bytes())[..16];
    let dir = sdk_root.join(format!(
        "{}-{}-{helper_id}",
        installed.manifest.name,
        installed.manifest.pin_id()
    ));
    if dir.is_dir() {
        forget_unused(sdk_root, &dir);
        return Ok(dir);
    }
    let failed = |what: &'static str, path: &Path, source: io::Error| SandboxError::PythonHelper {
        what,
        path: path.to_owned(),
        source,
    };
    fs::create_dir_all(sdk_root).map_err(|e| failed("create", sdk_root, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(sdk_root)
        .map_err(|e| failed("create", sdk_root, e))?;
    let zip_name = installed.manifest.stdlib_file_name();
    let original = installed.stdlib_dir().join(zip_name);
    let copy = staging.path().join(zip_name);
    fs::copy(&original, &copy).map_err(|e| failed("copy", &original, e))?;
    append_helper(&copy).map_err(|e| failed("add sandrun.py to", &copy, e))?;
    if let Err(e) = fs::rename(staging.path(), &dir) {
        // Another process built the same directory first: theirs is as good.
        if !dir.is_dir() {
            return Err(failed("move into place", &dir, e));
        }
    }
    forget_unused(sdk_root, &dir);
    Ok(dir)
}

/// Mark `used` as used, and delete the other helper directories left
/// unused (by an older pin or helper).
fn forget_unused(sdk_root: &Path, used: &Path) {
    unused::mark_used(used);
    let is_helper_dir = |p: &Path| {
        p.is_dir()
            && !p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
    };
    for dir in unused::unused_entries(sdk_root, used, is_helper_dir) {
        unused::delete(&dir, "python helper");
    }
}

fn append_helper(zip_path: &Path) -> io::Result<()> {
    let file = File::options().read(true).write(true).open(zip_path)?;
    let mut zip = ZipWriter::new_append(file).map_err(io::Error::other)?;
    zip.start_file(
        "sandrun.py",
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored),
    )
    .map_err(io::Error::other)?;
    zip.write_all(HELPER.as_bytes())?;
    zip.finish().map_err(io::Error::other)?.sync_all()
}
