use std::collections::BTreeMap;

use serde::Deserialize;

use super::RuntimeError;

/// A pinned runtime: which package to fetch, the exact bytes to accept, and
/// how to present it to a guest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub description: String,
    pub package: Package,
    pub artifacts: Artifacts,
    pub guest: GuestSetup,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// The PyPI project name.
    pub name: String,
    pub version: String,
    /// Lower-case hex sha256 of the wheel file.
    pub sha256: String,
    /// Size of the wheel in bytes, for progress.
    pub size: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifacts {
    /// Path of the WebAssembly module inside the wheel.
    pub module: String,
    /// Path of the standard-library zip inside the wheel.
    pub stdlib: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestSetup {
    /// `argv[0]` as the guest sees it.
    pub argv0: String,
    /// Where the guest finds its standard-library zip.
    pub stdlib_path: String,
    /// Variables every task gets before its own.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Modules imported once, into the snapshot every task starts from.
    #[serde(default)]
    pub pre_import: Vec<String>,
    /// Archives inside the stdlib zip that their package reads as plain
    /// files, which it cannot do inside a zip: each is extracted once, at
    /// install, and preopened read-only under the zip's own guest path.
    #[serde(default)]
    pub zip_data: Vec<ZipData>,
}

/// One archive inside the stdlib zip, and where it is unpacked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZipData {
    /// The archive's path inside the stdlib zip.
    pub archive: String,
    /// Where its files go, relative to the zip: the guest sees them under
    /// `stdlib_path/dir`, where the package's own `__file__` points.
    pub dir: String,
}

impl Manifest {
    pub fn parse(text: &str) -> Result<Manifest, RuntimeError> {
        let manifest: Manifest =
            toml::from_str(text).map_err(|e| RuntimeError::BadManifest(e.to_string()))?;
        let sha = &manifest.package.sha256;
        if sha.len() != 64 || !sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(RuntimeError::BadManifest(format!(
                "package.sha256 of `{}` must be 64 lower-case hex digits",
                manifest.name
            )));
        }
        let stdlib = manifest.stdlib_file_name();
        if !manifest.guest.stdlib_path.starts_with('/') || stdlib.is_empty() {
            return Err(RuntimeError::BadManifest(format!(
                "guest.stdlib_path of `{}` must be an absolute file path",
                manifest.name
            )));
        }
        for data in &manifest.guest.zip_data {
            let relative = |p: &str| {
                !p.is_empty()
                    && !p.starts_with('/')
                    && p.split('/').all(|part| !matches!(part, "" | "." | ".."))
            };
            if !relative(&data.archive) || !relative(&data.dir) {
                return Err(RuntimeError::BadManifest(format!(
                    "guest.zip_data of `{}` must name relative paths without `..`",
                    manifest.name
                )));
            }
        }
        Ok(manifest)
    }

    /// `name==version`, as pip wants it.
    pub fn requirement(&self) -> String {
        format!("{}=={}", self.package.name, self.package.version)
    }

    /// A directory name that changes whenever the pin does.
    pub fn pin_id(&self) -> String {
        format!(
            "{}-{}-{}",
            self.package.name,
            self.package.version,
            &self.package.sha256[..12]
        )
    }

    /// The directory the guest finds its standard library in.
    pub fn stdlib_guest_dir(&self) -> &str {
        let path = &self.guest.stdlib_path;
        match path.rfind('/') {
            Some(0) => "/",
            Some(i) => &path[..i],
            None => path,
        }
    }

    /// Where the guest finds `data`'s files.
    pub fn zip_data_guest_dir(&self, data: &ZipData) -> String {
        format!("{}/{}", self.guest.stdlib_path, data.dir)
    }

    /// The standard library's file name, as the guest expects it.
    pub fn stdlib_file_name(&self) -> &str {
        self.guest
            .stdlib_path
            .rsplit('/')
            .next()
            .unwrap_or_default()
    }
}
