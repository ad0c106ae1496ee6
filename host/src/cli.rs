//! The `sandrun` command line: one binary, one subcommand per job.

mod client;
mod exit;
mod interrupt;
mod progress;
mod remote;
mod repl;
mod results;
mod run;
mod runtime;
mod serve;
mod session;
mod task_args;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::home::{HOME_ENV, Home};
use crate::telemetry::{self, LogFormat};

pub use exit::{
    EXIT_CANCELLED, EXIT_INVALID_MODULE, EXIT_MEMORY, EXIT_OUT_OF_FUEL, EXIT_SANDRUN,
    EXIT_TIMED_OUT, EXIT_TRAPPED,
};

/// Run untrusted Python and WebAssembly in wasmtime sandboxes, with fuel,
/// memory, wall-clock and output limits.
#[derive(Debug, Parser)]
#[command(
    name = "sandrun",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Data directory for runtimes and compiled modules [default: the XDG
    /// data directory, e.g. ~/.local/share/sandrun]
    #[arg(long, global = true, env = HOME_ENV, value_name = "DIR")]
    home: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Run(run::RunArgs),
    /// Serve the HTTP API and run queued tasks.
    Serve(crate::configuration::ServeArgs),
    /// Bring the database schema up to date, and exit.
    Migrate(crate::configuration::ServeArgs),
    #[command(subcommand)]
    Runtime(runtime::RuntimeCommand),
    #[command(flatten)]
    Remote(remote::RemoteCommand),
    /// Sessions on the server: Python that keeps its variables, imports and
    /// /tmp files from run to run.
    #[command(subcommand)]
    Session(session::SessionCommand),
    Repl(repl::ReplArgs),
    /// Run tasks for a server over stdin and stdout (started by `serve`).
    #[command(hide = true)]
    Worker(WorkerArgs),
}

#[derive(Debug, clap::Args)]
struct WorkerArgs {
    /// Log as the server that started it does
    #[arg(long, value_enum, default_value_t)]
    log_format: LogFormat,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // A server logs as its settings say, once it has read them.
    match &cli.command {
        Command::Serve(_) => {}
        Command::Worker(args) => telemetry::init(args.log_format),
        _ => telemetry::init(LogFormat::Text),
    }
    let home = cli.home.map(Home::new).unwrap_or_else(Home::from_env);
    let outcome = match cli.command {
        Command::Run(args) => run::run(&home, args),
        Command::Runtime(command) => runtime::run(&home, command),
        Command::Serve(args) => serve::serve(&home, args),
        Command::Migrate(args) => serve::migrate(&home, args),
        Command::Remote(command) => remote::run(command),
        Command::Session(command) => session::run(command),
        Command::Repl(args) => repl::run(&home, args),
        Command::Worker(_) => crate::worker::serve(&home)
            .map(|()| ExitCode::SUCCESS)
            .map_err(anyhow::Error::from),
    };
    outcome.unwrap_or_else(|error| {
        eprintln!("sandrun: error: {error:#}");
        ExitCode::from(EXIT_SANDRUN)
    })
}
