//! Compiled modules on disk.
//!
//! Compiling the Python runtime takes a minute or more and gigabytes of
//! memory, so each module is compiled once per machine and engine settings,
//! and the native code is kept in the data directory. A cache file is native
//! code that runs as found, so it is trusted only when its sha256 matches the
//! one written beside it, and only if wasmtime accepts it for this engine;
//! anything else is compiled again and replaced.

use std::fs::{self, File};
use std::hash::{Hash, Hasher};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

use crate::progress::Progress;
use crate::sandbox::SandboxError;

#[derive(Debug)]
pub struct ModuleCache {
    dir: PathBuf,
    engine: Engine,
    /// Changes whenever a compiled artifact from another wasmtime version or
    /// engine configuration would be refused.
    engine_key: String,
}

/// Feeds `Hash` data into sha256, for a key that is stable across processes.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        unreachable!("only the sha256 is read")
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl ModuleCache {
    pub fn new(engine: &Engine, dir: PathBuf) -> Self {
        let mut hasher = ShaHasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = hex::encode(&hasher.0.finalize()[..8]);
        ModuleCache {
            dir,
            engine: engine.clone(),
            engine_key,
        }
    }

    /// Delete the compiled forms of the module whose sha256 is `hash`,
    /// for every engine configuration.
    pub fn forget(&self, hash: &str) {
        let prefix = format!("{hash}-");
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// The compiled form of `wasm` (whose sha256 is `hash`): from disk when a
    /// valid artifact is there, else compiled now and stored.
    pub fn load(
        &self,
        wasm: &[u8],
        hash: &str,
        what: &str,
        progress: &dyn Progress,
    ) -> Result<Module, SandboxError> {
        let artifact = self.dir.join(format!("{hash}-{}.cwasm", self.engine_key));
        let digest = artifact.with_extension("cwasm.sha256");
        if let Err(e) = fs::create_dir_all(&self.dir) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "module cache unusable; compiling in memory");
            return self.compile(wasm, what, progress);
        }
        // One process compiles a given module at a time; the others wait and
        // then load what it wrote.
        let lock = lock_file(&artifact.with_extension("lock"));
        if let Some(module) = self.load_artifact(&artifact, &digest) {
            return Ok(module);
        }
        let module = self.compile(wasm, what, progress)?;
        if let Err(e) = self.store(&module, &artifact, &digest) {
            tracing::warn!(path = %artifact.display(), error = %e, "could not write the module cache");
        }
        drop(lock);
        Ok(module)
    }

    fn compile(
        &self,
        wasm: &[u8],
        what: &str,
        progress: &dyn Progress,
    ) -> Result<Module, SandboxError> {
        progress.start(&format!("Compiling {what} (once per machine)"), None);
        let compiled = Module::new(&self.engine, wasm);
        progress.finish();
        compiled.map_err(|e| SandboxError::InvalidModule(format!("{e:#}")))
    }

    fn load_artifact(&self, artifact: &Path, digest: &Path) -> Option<Module> {
        let expected = fs::read_to_string(digest).ok()?;
        let actual = match file_sha256(artifact) {
            Ok(actual) => actual,
            Err(e) => {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(path = %artifact.display(), error = %e, "unreadable cached module");
                }
                return None;
            }
        };
        if actual != expected.trim() {
            tracing::warn!(path = %artifact.display(), "cached module is corrupt; compiling again");
            return None;
        }
        // SAFETY: the file is the one this cache wrote (its sha256 matches the
        // digest written after it), and wasmtime checks that it was compiled
        // by this version with these settings.
        match unsafe { Module::deserialize_file(&self.engine, artifact) } {
            Ok(module) => Some(module),
            Err(e) => {
                tracing::warn!(path = %artifact.display(), error = %e, "cached module refused; compiling again");
                None
            }
        }
    }

    fn store(&self, module: &Module, artifact: &Path, digest: &Path) -> io::Result<()> {
        let bytes = module
            .serialize()
            .map_err(|e| io::Error::other(e.to_string()))?;
        write_atomically(artifact, &bytes)?;
        write_atomically(digest, sha256_hex(&bytes).as_bytes())
    }
}

fn file_sha256(path: &Path) -> io::Result<String> {
    let mut hasher = Sha256::new();
    io::copy(&mut File::open(path)?, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

/// Write to a temporary file beside `path` and rename it into place, so a
/// reader sees the old file or the whole new one, never a part.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().expect("cache files live in a directory");
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// An exclusive lock held until dropped; `None` where locking is impossible,
/// in which case two processes may both compile, harmlessly.
pub fn lock_file(path: &Path) -> Option<File> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .ok()?;
    file.lock().ok()?;
    Some(file)
}
