//! The flags that say what a guest is given: `TaskArgs` for a whole task
//! (`sandrun run` here, `sandrun submit` on a server), and its parts that a
//! session and its runs take too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use bytesize::ByteSize;
use clap::Args;
use sandrun_api::{Blob, Limits, Runtime};

/// What a task is made of.
#[derive(Debug, Args)]
pub struct TaskArgs {
    /// A Python script (.py) or a WebAssembly module (.wasm)
    pub file: PathBuf,

    /// Arguments for the guest (after `--`)
    #[arg(last = true)]
    pub args: Vec<String>,

    /// Runtime to use [default: from the file's extension or contents]
    #[arg(long, value_parser = parse_runtime)]
    pub runtime: Option<Runtime>,

    /// File whose bytes become the guest's stdin [default: empty]
    #[arg(long, value_name = "FILE")]
    pub stdin: Option<PathBuf>,

    #[command(flatten)]
    pub given: GivenArgs,

    #[command(flatten)]
    pub input_json: InputJsonArg,

    /// Memory limit, e.g. 256MiB
    #[arg(long, value_name = "SIZE")]
    pub memory: Option<ByteSize>,

    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Files and environment variables, given to a task or to every run of a
/// session.
#[derive(Debug, Args)]
pub struct GivenArgs {
    /// Give the guest a file, read-only at /input/NAME
    #[arg(long, value_name = "NAME=PATH", value_parser = parse_pair)]
    pub input: Vec<(String, String)>,

    /// Set an environment variable in the guest (it sees no host variables)
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub env: Vec<(String, String)>,
}

/// `--input-json`, for a task or one run of a session.
#[derive(Debug, Args)]
pub struct InputJsonArg {
    /// JSON input the guest reads with the `input` host call (`@FILE` reads
    /// it from a file)
    #[arg(long, value_name = "JSON|@FILE")]
    pub input_json: Option<String>,
}

/// Every limit but memory, which a session sets once for all its runs.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Fuel limit: about one unit per WebAssembly instruction
    #[arg(long, value_name = "N")]
    pub fuel: Option<u64>,

    /// Wall-clock limit, e.g. 5s or 1m30s
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<humantime::Duration>,

    /// Bytes of stdout kept; more is dropped and flagged
    #[arg(long, value_name = "SIZE")]
    pub stdout_limit: Option<ByteSize>,

    /// Bytes of stderr kept; more is dropped and flagged
    #[arg(long, value_name = "SIZE")]
    pub stderr_limit: Option<ByteSize>,

    /// Files the guest may hold open at once
    #[arg(long, value_name = "N")]
    pub open_files: Option<u32>,

    /// Host calls the guest may make
    #[arg(long, value_name = "N")]
    pub host_calls: Option<u64>,

    /// Bytes one host call may carry each way, e.g. 4MiB
    #[arg(long, value_name = "SIZE")]
    pub host_call_bytes: Option<ByteSize>,

    /// Bytes the guest's files in /tmp and /output may take, e.g. 1GiB
    #[arg(long, value_name = "SIZE")]
    pub disk_limit: Option<ByteSize>,

    /// Rich results (MIME bundles) a run may keep
    #[arg(long, value_name = "N")]
    pub results: Option<u64>,

    /// Bytes of rich results a run may keep, e.g. 64MiB
    #[arg(long, value_name = "SIZE")]
    pub result_bytes: Option<ByteSize>,

    /// Files under /output a run may keep as artifacts
    #[arg(long, value_name = "N")]
    pub artifacts: Option<u64>,

    /// Bytes of artifacts a run may keep, e.g. 128MiB
    #[arg(long, value_name = "SIZE")]
    pub artifact_bytes: Option<ByteSize>,
}

fn parse_runtime(s: &str) -> Result<Runtime, String> {
    s.parse()
        .map_err(|e: sandrun_api::UnknownRuntime| e.to_string())
}

pub fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected NAME=VALUE, got `{s}`"))
}

impl TaskArgs {
    /// The file's bytes and the runtime that runs them.
    pub fn source(&self) -> anyhow::Result<(Runtime, Vec<u8>)> {
        let bytes = std::fs::read(&self.file)
            .with_context(|| format!("cannot read {}", self.file.display()))?;
        let runtime = self
            .runtime
            .unwrap_or_else(|| detect_runtime(&self.file, &bytes));
        Ok((runtime, bytes))
    }

    pub fn stdin_bytes(&self) -> anyhow::Result<Vec<u8>> {
        match &self.stdin {
            Some(path) => std::fs::read(path)
                .with_context(|| format!("cannot read stdin file {}", path.display())),
            None => Ok(Vec::new()),
        }
    }

    pub fn limits(&self) -> Limits {
        Limits {
            memory_bytes: self.memory.map(|b| b.as_u64()),
            ..self.limits.limits()
        }
    }
}

impl GivenArgs {
    pub fn files(&self) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
        let mut files = BTreeMap::new();
        for (name, path) in &self.input {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read input file {path}"))?;
            if files.insert(name.clone(), bytes).is_some() {
                bail!("input `{name}` is given twice");
            }
        }
        Ok(files)
    }

    /// The files as the API carries them.
    pub fn blobs(&self) -> anyhow::Result<BTreeMap<String, Blob>> {
        let files = self.files()?;
        Ok(files
            .iter()
            .map(|(k, v)| (k.clone(), Blob::from_bytes(v)))
            .collect())
    }

    pub fn env(&self) -> BTreeMap<String, String> {
        self.env.iter().cloned().collect()
    }
}

impl InputJsonArg {
    /// The JSON itself, or `@FILE` for a file holding it.
    pub fn input(&self) -> anyhow::Result<Option<serde_json::Value>> {
        let Some(arg) = &self.input_json else {
            return Ok(None);
        };
        let value = match arg.strip_prefix('@') {
            Some(path) => {
                let text = std::fs::read(path)
                    .with_context(|| format!("cannot read the input JSON file {path}"))?;
                serde_json::from_slice(&text)
                    .with_context(|| format!("{path} is not valid JSON"))?
            }
            None => serde_json::from_str(arg).context("--input-json is not valid JSON")?,
        };
        Ok(Some(value))
    }
}

impl LimitArgs {
    /// The limits given, memory left to whoever sets it.
    pub fn limits(&self) -> Limits {
        Limits {
            fuel: self.fuel,
            memory_bytes: None,
            timeout_ms: self
                .timeout
                .map(|d| d.as_millis().try_into().unwrap_or(u64::MAX)),
            stdout_bytes: self.stdout_limit.map(|b| b.as_u64()),
            stderr_bytes: self.stderr_limit.map(|b| b.as_u64()),
            open_files: self.open_files,
            host_calls: self.host_calls,
            host_call_bytes: self.host_call_bytes.map(|b| b.as_u64()),
            disk_bytes: self.disk_limit.map(|b| b.as_u64()),
            results: self.results,
            result_bytes: self.result_bytes.map(|b| b.as_u64()),
            artifacts: self.artifacts,
            artifact_bytes: self.artifact_bytes.map(|b| b.as_u64()),
        }
    }
}

/// `.py` is Python and `.wasm` is a module; otherwise the wasm magic number
/// decides.
fn detect_runtime(file: &Path, bytes: &[u8]) -> Runtime {
    match file.extension().and_then(|e| e.to_str()) {
        Some("py") => Runtime::Python,
        Some("wasm") => Runtime::Wasm,
        _ if bytes.starts_with(b"\0asm") => Runtime::Wasm,
        _ => Runtime::Python,
    }
}
