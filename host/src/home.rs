//! Where sandrun keeps what it fetches and compiles.
//!
//! One directory holds installed runtimes and the compiled-module cache, so
//! that every process on the machine (servers, CLI runs, test binaries)
//! shares one download and one compile.

use std::path::{Path, PathBuf};

/// The environment variable that overrides the data directory.
pub const HOME_ENV: &str = "SANDRUN_HOME";

#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Home { root: root.into() }
    }

    /// `$SANDRUN_HOME`, else the user's data directory (`$XDG_DATA_HOME/sandrun`,
    /// usually `~/.local/share/sandrun`), else `./.sandrun`.
    pub fn from_env() -> Self {
        match std::env::var_os(HOME_ENV) {
            Some(dir) if !dir.is_empty() => Home::new(dir),
            _ => Home::new(
                dirs::data_dir()
                    .map(|d| d.join("sandrun"))
                    .unwrap_or_else(|| PathBuf::from(".sandrun")),
            ),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Installed runtimes, one directory per name and version.
    pub fn runtimes(&self) -> PathBuf {
        self.root.join("runtimes")
    }

    /// Files the guest SDK adds to runtimes, such as Python's `sandrun` module.
    pub fn guest_sdk(&self) -> PathBuf {
        self.root.join("guest-sdk")
    }

    /// Pre-initialised runtime snapshots, keyed by what they were made from.
    pub fn snapshots(&self) -> PathBuf {
        self.root.join("snapshots")
    }

    /// The lines typed at `sandrun repl`, for its history.
    pub fn repl_history(&self) -> PathBuf {
        self.root.join("repl_history")
    }

    /// Compiled modules, keyed by module hash and engine settings.
    pub fn module_cache(&self) -> PathBuf {
        self.root.join("cache").join("modules")
    }
}
