//! Logging: `tracing` to stderr, filtered by `RUST_LOG` (default `warn`, so
//! a CLI run prints only the guest's output and sandrun's own verdict).
//!
//! A server may log JSON lines instead of text (`--log-format json`), for a
//! log pipeline to read: each line carries the fields of the spans it was
//! logged in, so every line of a task's run names its task id and attempt,
//! and every line of a request its request id. Its worker processes log as
//! it does; the other commands always log text.

use serde::Deserialize;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// For people: one line per event, its spans' fields before it.
    #[default]
    Text,
    /// For machines: one JSON object per line, with its spans' fields.
    Json,
}

impl LogFormat {
    /// The flag's value that names it.
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => logs.try_init(),
        LogFormat::Json => logs.json().flatten_event(true).try_init(),
    };
}
