//! The commands that talk to a running server: submit, status, logs,
//! cancel, list, artifacts; and what `session` and `repl` share with them: where the
//! server is, an id on it, a listing's filters.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bytesize::ByteSize;
use clap::{Args, Subcommand};
use sandrun_api::{Blob, Runtime, TaskRequest};
use serde::Serialize;

use super::client::Client;
use super::results::OutputDirArg;
use super::task_args::{TaskArgs, parse_pair};
use super::watch::watch;

/// Where the server is.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The sandrun server
    #[arg(
        long,
        env = "SANDRUN_SERVER",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    server: String,
    /// API key for the server
    #[arg(
        long,
        env = "SANDRUN_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    api_key: Option<String>,
}

impl ServerArgs {
    pub fn client(&self) -> Client {
        Client::new(&self.server, self.api_key.clone())
    }
}

#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Queue a script or module on the server.
    Submit(Box<SubmitArgs>),
    /// Show a task.
    Status(IdArgs),
    /// Print a task's output; with --follow, as it is produced.
    Logs {
        #[command(flatten)]
        task: IdArgs,
        #[arg(long, short)]
        follow: bool,
    },
    /// Cancel a task.
    Cancel(IdArgs),
    /// List tasks, newest first.
    List(ListArgs),
    /// List the files a task's run left under /output; with --out,
    /// download them.
    Artifacts {
        #[command(flatten)]
        task: IdArgs,
        /// Download every artifact into this directory, under its own path
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

/// A task or a session, on a server.
#[derive(Debug, Args)]
pub struct IdArgs {
    pub id: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Which tasks or sessions to list.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long)]
    status: Option<String>,
    /// Only those with this label
    #[arg(long, value_name = "KEY=VALUE")]
    label: Option<String>,
    #[arg(long, default_value_t = 20)]
    limit: u32,
    #[command(flatten)]
    pub server: ServerArgs,
}

impl ListArgs {
    /// The list's query string.
    pub fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = vec![("limit", self.limit.to_string())];
        query.extend(self.status.clone().map(|s| ("status", s)));
        query.extend(self.label.clone().map(|l| ("label", l)));
        query
    }
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    task: TaskArgs,
    /// Wait for the task to end and show its output, as `sandrun run` does
    #[arg(long)]
    wait: bool,
    /// Higher runs first
    #[arg(long, default_value_t = 0)]
    priority: i32,
    /// A label to find the task by
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_pair)]
    label: Vec<(String, String)>,
    /// Submitting again with the same key returns the same task
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
    /// Runs allowed after infrastructure failures
    #[arg(long, value_name = "N")]
    max_attempts: Option<u32>,
    /// A task this one waits for (repeat): it runs once they all succeeded
    #[arg(long, value_name = "TASK_ID")]
    depends_on: Vec<String>,
    /// With --depends-on: run once they all ended, however they ended
    #[arg(long, requires = "depends_on")]
    run_on_failure: bool,
    /// Key-value namespace for the task's `kv` host calls
    #[arg(long, value_name = "NAME")]
    kv_namespace: Option<String>,
    #[command(flatten)]
    output: OutputDirArg,
    #[command(flatten)]
    server: ServerArgs,
}

/// What the remote commands run on: one thread is plenty for a few requests.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

pub fn run(command: RemoteCommand) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        match command {
            RemoteCommand::Submit(args) => submit(&args.server.client(), *args).await,
            RemoteCommand::Status(task) => print_json(&task.server.client().task(&task.id).await?),
            RemoteCommand::Logs { task, follow } => {
                logs(&task.server.client(), &task.id, follow).await
            }
            RemoteCommand::Cancel(task) => {
                print_json(&task.server.client().cancel(&task.id).await?)
            }
            RemoteCommand::Artifacts { task, out } => {
                artifacts(&task.server.client(), &task.id, out.as_deref()).await
            }
            RemoteCommand::List(list) => {
                let page = list.server.client().list(&list.query()).await?;
                for task in &page.tasks {
                    let outcome = task.result.as_ref().map_or("-", |r| r.outcome.name());
                    println!(
                        "{}  {:<9}  {:<6}  {:<15}  {}",
                        task.id,
                        task.status.name(),
                        task.runtime.name(),
                        outcome,
                        task.created_at
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

/// Print a task or a session as the server gave it.
pub fn print_json(value: &impl Serialize) -> anyhow::Result<ExitCode> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(ExitCode::SUCCESS)
}

async fn submit(client: &Client, args: SubmitArgs) -> anyhow::Result<ExitCode> {
    let (runtime, bytes) = args.task.source()?;
    let (code, module) = match runtime {
        Runtime::Python => (Some(String::from_utf8(bytes)?), None),
        Runtime::Wasm => (None, Some(client.upload_module(bytes).await?.hash)),
    };
    let stdin = args.task.stdin_bytes()?;
    let request = TaskRequest {
        runtime,
        code,
        module,
        stdin: (!stdin.is_empty()).then(|| Blob::from_bytes(&stdin)),
        args: args.task.args.clone(),
        env: args.task.given.env(),
        files: args.task.given.blobs()?,
        limits: args.task.limits(),
        priority: args.priority,
        labels: args.label.into_iter().collect(),
        idempotency_key: args.idempotency_key,
        max_attempts: args.max_attempts,
        input: args.task.input_json.input()?,
        kv_namespace: args.kv_namespace,
        depends_on: args.depends_on,
        run_on_failure: args.run_on_failure,
    };
    let task = client.submit(&request, None).await?;
    if !args.wait {
        println!("{}", task.id);
        return Ok(ExitCode::SUCCESS);
    }
    watch(client, &task.id, None, args.output.output_dir.as_deref()).await
}

/// List task `id`'s artifacts, or download them all into `out`.
async fn artifacts(client: &Client, id: &str, out: Option<&Path>) -> anyhow::Result<ExitCode> {
    let list = client.artifacts(id).await?;
    for artifact in &list.artifacts {
        match out {
            Some(dir) => println!("{}", client.download(id, artifact, dir).await?.display()),
            None => println!(
                "{:>10}  {:<24}  {}",
                ByteSize(artifact.size).display().iec().to_string(),
                artifact.media_type,
                artifact.path
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn logs(client: &Client, id: &str, follow: bool) -> anyhow::Result<ExitCode> {
    if !follow {
        let task = client.task(id).await?;
        if let Some(result) = &task.result {
            std::io::stdout().write_all(result.stdout.as_bytes())?;
            std::io::stderr().write_all(result.stderr.as_bytes())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    watch(client, id, None, None).await
}
