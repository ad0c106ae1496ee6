use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use bytesize::ByteSize;
use clap::Args;
use sandrun_api::{Limits, Outcome, Runtime, TaskResult};

use super::exit::code_for;
use super::progress::TerminalProgress;
use crate::home::Home;
use crate::sandbox::{CancelHandle, LimitPolicy, Sandbox, Source, Task};

/// Run a Python script or a wasm32-wasip1 module once, here, in a sandbox.
///
/// The guest's stdout and stderr are printed as they are and sandrun exits
/// with the guest's exit code. When a limit or fault stops the guest, one
/// line on stderr says which and the exit code tells them apart: 121 memory
/// exceeded, 122 trapped, 123 out of fuel, 124 timed out, 126 invalid
/// module, 130 cancelled, 125 sandrun itself failed.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// A Python script (.py) or a WebAssembly module (.wasm)
    file: PathBuf,

    /// Arguments for the guest (after `--`)
    #[arg(last = true)]
    args: Vec<String>,

    /// Runtime to use [default: from the file's extension or contents]
    #[arg(long, value_parser = parse_runtime)]
    runtime: Option<Runtime>,

    /// File whose bytes become the guest's stdin [default: empty]
    #[arg(long, value_name = "FILE")]
    stdin: Option<PathBuf>,

    /// Give the guest a file, read-only at /input/NAME
    #[arg(long, value_name = "NAME=PATH", value_parser = parse_pair)]
    input: Vec<(String, String)>,

    /// JSON input the guest reads with the `input` host call (`@FILE` reads
    /// it from a file)
    #[arg(long, value_name = "JSON|@FILE")]
    input_json: Option<String>,

    /// Set an environment variable in the guest (it sees no host variables)
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_pair)]
    env: Vec<(String, String)>,

    /// Fuel limit: about one unit per WebAssembly instruction
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,

    /// Memory limit, e.g. 256MiB
    #[arg(long, value_name = "SIZE")]
    memory: Option<ByteSize>,

    /// Wall-clock limit, e.g. 5s or 1m30s
    #[arg(long, value_name = "DURATION")]
    timeout: Option<humantime::Duration>,

    /// Bytes of stdout kept; more is dropped and flagged
    #[arg(long, value_name = "SIZE")]
    stdout_limit: Option<ByteSize>,

    /// Bytes of stderr kept; more is dropped and flagged
    #[arg(long, value_name = "SIZE")]
    stderr_limit: Option<ByteSize>,

    /// Files the guest may hold open at once
    #[arg(long, value_name = "N")]
    open_files: Option<u32>,

    /// Print the whole result as JSON instead of the guest's output
    #[arg(long)]
    json: bool,
}

fn parse_runtime(s: &str) -> Result<Runtime, String> {
    s.parse()
        .map_err(|e: sandrun_api::UnknownRuntime| e.to_string())
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected NAME=VALUE, got `{s}`"))
}

pub fn run(home: &Home, args: RunArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let runtime = args
        .runtime
        .unwrap_or_else(|| detect_runtime(&args.file, &bytes));
    let source = match runtime {
        Runtime::Python => Source::Python {
            code: String::from_utf8(bytes)
                .with_context(|| format!("{} is not UTF-8 text", args.file.display()))?,
        },
        Runtime::Wasm => Source::Wasm {
            module: bytes.into(),
        },
    };
    let mut task = Task::new(source);
    task.args = args.args;
    task.env = args.env.into_iter().collect();
    if let Some(path) = &args.stdin {
        task.stdin = std::fs::read(path)
            .with_context(|| format!("cannot read stdin file {}", path.display()))?;
    }
    task.files = read_inputs(&args.input)?;
    task.input = args
        .input_json
        .as_deref()
        .map(parse_input_json)
        .transpose()?;
    task.limits = Limits {
        fuel: args.fuel,
        memory_bytes: args.memory.map(|b| b.as_u64()),
        timeout_ms: args
            .timeout
            .map(|d| d.as_millis().try_into().unwrap_or(u64::MAX)),
        stdout_bytes: args.stdout_limit.map(|b| b.as_u64()),
        stderr_bytes: args.stderr_limit.map(|b| b.as_u64()),
        open_files: args.open_files,
    };

    let sandbox = Sandbox::new(home, LimitPolicy::default())?;
    if runtime == Runtime::Python {
        let progress = TerminalProgress::default();
        let installed = crate::runtime::ensure(home, "python", &progress)?;
        sandbox.load_python(&installed, &progress)?;
    }
    let cancel = CancelHandle::new();
    let on_ctrl_c = cancel.clone();
    ctrlc::set_handler(move || on_ctrl_c.cancel()).context("cannot watch for Ctrl-C")?;
    let result = sandbox.run(&task, &cancel)?;
    report(&result, args.json)?;
    Ok(ExitCode::from(code_for(&result)))
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

fn read_inputs(pairs: &[(String, String)]) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    for (name, path) in pairs {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read input file {path}"))?;
        if files.insert(name.clone(), bytes).is_some() {
            bail!("input `{name}` is given twice");
        }
    }
    Ok(files)
}

/// `--input-json`: the JSON itself, or `@FILE` for a file holding it.
fn parse_input_json(arg: &str) -> anyhow::Result<serde_json::Value> {
    match arg.strip_prefix('@') {
        Some(path) => {
            let text = std::fs::read(path)
                .with_context(|| format!("cannot read the input JSON file {path}"))?;
            serde_json::from_slice(&text).with_context(|| format!("{path} is not valid JSON"))
        }
        None => serde_json::from_str(arg).context("--input-json is not valid JSON"),
    }
}

fn report(result: &TaskResult, json: bool) -> anyhow::Result<()> {
    if json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, result)?;
        writeln!(out)?;
        return Ok(());
    }
    std::io::stdout().write_all(result.stdout.as_bytes())?;
    std::io::stdout().flush()?;
    let mut err = std::io::stderr().lock();
    err.write_all(result.stderr.as_bytes())?;
    for (name, truncated, cap) in [
        (
            "stdout",
            result.stdout_truncated,
            result.limits.stdout_bytes,
        ),
        (
            "stderr",
            result.stderr_truncated,
            result.limits.stderr_bytes,
        ),
    ] {
        if truncated {
            writeln!(
                err,
                "sandrun: {name} truncated at {}",
                ByteSize(cap).display().iec()
            )?;
        }
    }
    if !matches!(result.outcome, Outcome::Succeeded | Outcome::Exited) {
        let message = result.message.as_deref().unwrap_or_default();
        writeln!(err, "sandrun: {}: {message}", result.outcome.name())?;
    }
    Ok(())
}
