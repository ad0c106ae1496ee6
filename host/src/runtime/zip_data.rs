//! Unpacking an archive that ships inside the stdlib zip (matplotlib's
//! fonts and settings), for a package that reads its data as plain files
//! and so cannot read it from inside the zip.
//!
//! It happens in the install's staging directory, so the data is renamed
//! into place with the runtime or not at all. The wheel's sha256 has vouched
//! for the bytes; what is checked here is the way out to the disk: each
//! member's CRC-32 as it is read, its size, and the file read back as
//! written. A member that would land outside the directory, or is anything
//! but a file or a directory, fails the install.

use std::fs::{self, File};
use std::io::{Cursor, Read, Write};
use std::path::Path;

use super::RuntimeError;

/// Unpack `archive`, a member of the zip at `stdlib`, into `dest`.
pub fn unpack(stdlib: &Path, archive: &str, dest: &Path) -> Result<(), RuntimeError> {
    let bad = |detail: String| RuntimeError::BadZipData {
        archive: archive.to_owned(),
        detail,
    };
    let file = File::open(stdlib).map_err(|e| RuntimeError::io("open", stdlib, e))?;
    let mut outer = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
    let mut inner_bytes = Vec::new();
    outer
        .by_name(archive)
        .map_err(|e| bad(e.to_string()))?
        .read_to_end(&mut inner_bytes)
        .map_err(|e| bad(e.to_string()))?;
    let mut inner =
        zip::ZipArchive::new(Cursor::new(inner_bytes)).map_err(|e| bad(e.to_string()))?;
    fs::create_dir_all(dest).map_err(|e| RuntimeError::io("create", dest, e))?;
    for index in 0..inner.len() {
        let mut member = inner.by_index(index).map_err(|e| bad(e.to_string()))?;
        let name = member.name().to_owned();
        let relative = member.enclosed_name().ok_or_else(|| {
            bad(format!(
                "the member {name:?} would land outside its directory"
            ))
        })?;
        let target = dest.join(relative);
        if member.is_dir() {
            fs::create_dir_all(&target).map_err(|e| RuntimeError::io("create", &target, e))?;
            continue;
        }
        if !member.is_file() {
            return Err(bad(format!("the member {name:?} is not a regular file")));
        }
        let mut body = Vec::with_capacity(member.size() as usize);
        // The zip crate checks the CRC-32 once the member is read to its end.
        member
            .read_to_end(&mut body)
            .map_err(|e| bad(format!("{name}: {e}")))?;
        if body.len() as u64 != member.size() {
            return Err(bad(format!(
                "{name}: read {} bytes of {}",
                body.len(),
                member.size()
            )));
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| RuntimeError::io("create", parent, e))?;
        }
        write_checked(&target, &body)?;
    }
    Ok(())
}

/// Write `body` to `target`, synced, and read it back to be sure the disk
/// holds what was written.
fn write_checked(target: &Path, body: &[u8]) -> Result<(), RuntimeError> {
    let mut file = File::create(target).map_err(|e| RuntimeError::io("create", target, e))?;
    file.write_all(body)
        .and_then(|()| file.sync_all())
        .map_err(|e| RuntimeError::io("write", target, e))?;
    let back = fs::read(target).map_err(|e| RuntimeError::io("read back", target, e))?;
    if back != body {
        return Err(RuntimeError::io(
            "read back",
            target,
            std::io::Error::other("the file does not hold what was written"),
        ));
    }
    Ok(())
}
