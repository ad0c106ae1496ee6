//! `sandrun session`: open sessions on a server, run code in them, list,
//! show, fork and end them. A session is Python whose variables, imports and
//! `/tmp` files outlive each run; a run is a task, followed as `submit
//! --wait` follows one, with its trailing value printed after its output.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use bytesize::ByteSize;
use clap::{Args, Subcommand};
use sandrun_api::{RunRequest, Runtime, SessionRequest};

use super::client::Client;
use super::interrupt::CtrlC;
use super::remote::{IdArgs, ListArgs, ServerArgs, print_json, runtime};
use super::results::OutputDirArg;
use super::task_args::{GivenArgs, InputJsonArg, LimitArgs, parse_pair};
use super::watch::watch;

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Open a session and print its id.
    New(Box<NewArgs>),
    /// Run Python in a session: its output, then its trailing value.
    ///
    /// Exits as `sandrun run` does; Ctrl-C cancels the run, which rolls the
    /// session back to where it was before it.
    Run(Box<RunArgs>),
    /// List sessions, newest first.
    List(ListArgs),
    /// Show a session.
    Show(IdArgs),
    /// Open a new session from a copy of one's settings and state, and print
    /// its id.
    Fork(IdArgs),
    /// Give a session a fresh interpreter (its state forgotten, its
    /// settings kept).
    Restart(IdArgs),
    /// Delete a session and its state.
    Rm(IdArgs),
}

#[derive(Debug, Args)]
pub struct NewArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(flatten)]
    server: ServerArgs,
}

/// A new session's settings, as `session new` and `repl` take them.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    #[command(flatten)]
    given: GivenArgs,
    /// Memory of the session's interpreter, kept from run to run, e.g. 512MiB
    #[arg(long, value_name = "SIZE")]
    memory: Option<ByteSize>,
    // Each run's limits, unless the run sets its own.
    #[command(flatten)]
    limits: LimitArgs,
    /// The most state the session may keep, e.g. 64MiB; a run that would
    /// leave more is rolled back
    #[arg(long, value_name = "SIZE")]
    max_state_bytes: Option<ByteSize>,
    /// End the session after this long without a run, e.g. 10m
    #[arg(long, value_name = "DURATION", value_parser = parse_seconds)]
    idle_timeout: Option<u64>,
    /// End the session this long after it opened, e.g. 1day
    #[arg(long, value_name = "DURATION", value_parser = parse_seconds)]
    ttl: Option<u64>,
    /// A label to find the session by
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_pair)]
    label: Vec<(String, String)>,
    /// Key-value namespace for the runs' `kv` host calls
    #[arg(long, value_name = "NAME")]
    kv_namespace: Option<String>,
}

impl SettingsArgs {
    /// The session request these flags make.
    pub fn request(&self) -> anyhow::Result<SessionRequest> {
        Ok(SessionRequest {
            runtime: Runtime::Python,
            env: self.given.env(),
            files: self.given.blobs()?,
            kv_namespace: self.kv_namespace.clone(),
            labels: self.label.iter().cloned().collect(),
            limits: self.limits.limits(),
            memory_bytes: self.memory.map(|b| b.as_u64()),
            max_state_bytes: self.max_state_bytes.map(|b| b.as_u64()),
            idle_timeout: self.idle_timeout,
            ttl: self.ttl,
        })
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The session
    session: String,
    /// A Python file to run [default: the code on stdin]
    #[arg(conflicts_with = "code")]
    file: Option<PathBuf>,
    /// The code to run
    #[arg(short = 'c', long, value_name = "CODE")]
    code: Option<String>,
    #[command(flatten)]
    input_json: InputJsonArg,
    #[command(flatten)]
    limits: LimitArgs,
    /// Sending the same run again with the same key returns the same run
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
    /// Print the run's id instead of waiting for it
    #[arg(long)]
    no_wait: bool,
    #[command(flatten)]
    output: OutputDirArg,
    #[command(flatten)]
    server: ServerArgs,
}

/// A duration such as `10m` or `1day`, in whole seconds, rounded up.
fn parse_seconds(s: &str) -> Result<u64, String> {
    let duration = humantime::parse_duration(s).map_err(|e| e.to_string())?;
    Ok(duration.as_secs() + u64::from(duration.subsec_nanos() > 0))
}

pub fn run(command: SessionCommand) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        match command {
            SessionCommand::New(args) => {
                let request = args.settings.request()?;
                println!("{}", args.server.client().open_session(&request).await?.id);
                Ok(ExitCode::SUCCESS)
            }
            SessionCommand::Run(args) => run_code(&args.server.client(), *args).await,
            SessionCommand::List(list) => {
                let page = list.server.client().sessions(&list.query()).await?;
                for session in &page.sessions {
                    let labels: Vec<String> = session
                        .labels
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    println!(
                        "{}  {:<7}  {:>4} runs  {:>10}  {}  {}",
                        session.id,
                        session.status.name(),
                        session.runs,
                        ByteSize(session.state_bytes).display().iec().to_string(),
                        session.created_at,
                        labels.join(",")
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            SessionCommand::Show(session) => {
                print_json(&session.server.client().session(&session.id).await?)
            }
            SessionCommand::Fork(session) => {
                let forked = session.server.client().fork_session(&session.id).await?;
                println!("{}", forked.id);
                Ok(ExitCode::SUCCESS)
            }
            SessionCommand::Restart(session) => {
                print_json(&session.server.client().restart_session(&session.id).await?)
            }
            SessionCommand::Rm(session) => {
                print_json(&session.server.client().delete_session(&session.id).await?)
            }
        }
    })
}

async fn run_code(client: &Client, args: RunArgs) -> anyhow::Result<ExitCode> {
    let request = RunRequest {
        code: args.code()?,
        input: args.input_json.input()?,
        limits: args.limits.limits(),
        idempotency_key: args.idempotency_key.clone(),
    };
    if args.no_wait {
        println!(
            "{}",
            client.run_in_session(&args.session, &request).await?.id
        );
        return Ok(ExitCode::SUCCESS);
    }
    let dir = args.output.output_dir.as_deref();
    run_and_watch(client, &args.session, &request, &mut CtrlC::catch()?, dir).await
}

/// Run `request` in `session` and follow it to its end, its artifacts and
/// images saved in `dir`; Ctrl-C, from the moment it is sent, cancels it.
pub async fn run_and_watch(
    client: &Client,
    session: &str,
    request: &RunRequest,
    ctrl_c: &mut CtrlC,
    dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    ctrl_c.arm();
    let run = client.run_in_session(session, request).await?;
    watch(client, &run.id, Some(ctrl_c), dir).await
}

impl RunArgs {
    /// `-c`, else the file, else stdin.
    fn code(&self) -> anyhow::Result<String> {
        if let Some(code) = &self.code {
            return Ok(code.clone());
        }
        match &self.file {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display())),
            None => {
                let mut code = String::new();
                std::io::stdin()
                    .read_to_string(&mut code)
                    .context("cannot read the code from stdin")?;
                Ok(code)
            }
        }
    }
}
