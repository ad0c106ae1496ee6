use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use bytesize::ByteSize;
use clap::Args;
use sandrun_api::{Outcome, Runtime, TaskResult};

use super::exit::code_for;
use super::progress::TerminalProgress;
use super::results::{self, OutputDirArg};
use super::task_args::TaskArgs;
use crate::home::Home;
use crate::sandbox::{
    CancelHandle, LimitPolicy, LiveSessions, NoHooks, Sandbox, Source, Task, WasmModule,
};

/// Run a Python script or a wasm32-wasip1 module once, here, in a sandbox.
///
/// The guest's stdout and stderr are printed as they are and sandrun exits
/// with the guest's exit code. When a limit or fault stops the guest, one
/// line on stderr says which and the exit code tells them apart: 121 memory
/// exceeded, 122 trapped, 123 out of fuel, 124 timed out, 126 invalid
/// module, 130 cancelled, 125 sandrun itself failed.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    task: TaskArgs,

    /// Print the whole result as JSON instead of the guest's output
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    output: OutputDirArg,
}

pub fn run(home: &Home, args: RunArgs) -> anyhow::Result<ExitCode> {
    let (runtime, bytes) = args.task.source()?;
    let source = match runtime {
        Runtime::Python => Source::Python {
            code: String::from_utf8(bytes)
                .with_context(|| format!("{} is not UTF-8 text", args.task.file.display()))?,
        },
        Runtime::Wasm => Source::Wasm {
            module: WasmModule::new(bytes),
        },
    };
    let mut task = Task::new(source);
    task.args = args.task.args.clone();
    task.env = args.task.given.env();
    task.stdin = args.task.stdin_bytes()?;
    task.files = args.task.given.files()?;
    task.input = args.task.input_json.input()?;
    task.limits = args.task.limits();

    let sandbox = Sandbox::new(home, LimitPolicy::default(), 1, LiveSessions::NONE)?;
    if runtime == Runtime::Python {
        let progress = TerminalProgress::default();
        let installed = crate::runtime::ensure(home, "python", &progress)?;
        sandbox.load_python(&installed, None, &progress)?;
    }
    let cancel = CancelHandle::new();
    let on_ctrl_c = cancel.clone();
    ctrlc::set_handler(move || on_ctrl_c.cancel()).context("cannot watch for Ctrl-C")?;
    let ran = sandbox.run_with(&task, &cancel, Arc::new(NoHooks))?;
    let dir = args.output.output_dir.as_deref();
    if let Some(dir) = dir {
        for (info, bytes) in ran.result.artifacts.iter().zip(&ran.artifacts) {
            results::write(&results::artifact_path(dir, info)?, bytes)?;
        }
    }
    report(&ran.result, args.json, dir)?;
    Ok(ExitCode::from(code_for(&ran.result)))
}

/// Show a result as `sandrun run` does: the guest's output as it is, its
/// rich results' text (their images saved in `dir`), then one line for a
/// truncation or a stop; or all of it as JSON.
fn report(result: &TaskResult, json: bool, dir: Option<&Path>) -> anyhow::Result<()> {
    if json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, result)?;
        writeln!(out)?;
        return Ok(());
    }
    std::io::stdout().write_all(result.stdout.as_bytes())?;
    std::io::stdout().flush()?;
    std::io::stderr().write_all(result.stderr.as_bytes())?;
    results::show(result, dir)?;
    print_verdict(result)
}

/// One line on stderr for each truncated stream and for a stop that was not
/// the guest's own exit.
pub fn print_verdict(result: &TaskResult) -> anyhow::Result<()> {
    let mut err = std::io::stderr().lock();
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
