//! The commands that talk to a running server: submit, status, logs,
//! cancel, list.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use sandrun_api::{Blob, Runtime, Task, TaskEvent, TaskRequest};

use super::client::Client;
use super::exit::code_for;
use super::run::print_verdict;
use super::task_args::{TaskArgs, parse_pair};

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
    fn client(&self) -> Client {
        Client::new(&self.server, self.api_key.clone())
    }
}

#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Queue a script or module on the server.
    Submit(Box<SubmitArgs>),
    /// Show a task.
    Status(TaskId),
    /// Print a task's output; with --follow, as it is produced.
    Logs {
        #[command(flatten)]
        task: TaskId,
        #[arg(long, short)]
        follow: bool,
    },
    /// Cancel a task.
    Cancel(TaskId),
    /// List tasks, newest first.
    List {
        #[arg(long)]
        status: Option<String>,
        /// Only tasks with this label
        #[arg(long, value_name = "KEY=VALUE")]
        label: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Args)]
pub struct TaskId {
    id: String,
    #[command(flatten)]
    server: ServerArgs,
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
    /// Key-value namespace for the task's `kv` host calls
    #[arg(long, value_name = "NAME")]
    kv_namespace: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
}

pub fn run(command: RemoteCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match command {
            RemoteCommand::Submit(args) => submit(&args.server.client(), *args).await,
            RemoteCommand::Status(task) => print_json(&task.server.client().task(&task.id).await?),
            RemoteCommand::Logs { task, follow } => {
                logs(&task.server.client(), &task.id, follow).await
            }
            RemoteCommand::Cancel(task) => {
                print_json(&task.server.client().cancel(&task.id).await?)
            }
            RemoteCommand::List {
                status,
                label,
                limit,
                server,
            } => {
                let client = server.client();
                let mut query = vec![("limit", limit.to_string())];
                query.extend(status.map(|s| ("status", s)));
                query.extend(label.map(|l| ("label", l)));
                let page = client.list(&query).await?;
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

fn print_json(task: &Task) -> anyhow::Result<ExitCode> {
    println!("{}", serde_json::to_string_pretty(task)?);
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
        env: args.task.env(),
        files: args
            .task
            .files()?
            .iter()
            .map(|(k, v)| (k.clone(), Blob::from_bytes(v)))
            .collect(),
        limits: args.task.limits(),
        priority: args.priority,
        labels: args.label.into_iter().collect(),
        idempotency_key: args.idempotency_key,
        max_attempts: args.max_attempts,
        input: args.task.input()?,
        kv_namespace: args.kv_namespace,
    };
    let task = client.submit(&request, None).await?;
    if !args.wait {
        println!("{}", task.id);
        return Ok(ExitCode::SUCCESS);
    }
    logs(client, &task.id, true).await
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
    let mut ended = None;
    client
        .follow(id, |event| match event {
            TaskEvent::Stdout { text } => {
                print!("{text}");
                let _ = std::io::stdout().flush();
            }
            TaskEvent::Stderr { text } => eprint!("{text}"),
            TaskEvent::Log { line } => eprintln!("[{}] {}", line.level.name(), line.message),
            TaskEvent::Status { .. } | TaskEvent::Progress { .. } => {}
            TaskEvent::End { task } => ended = Some(task.clone()),
        })
        .await?;
    let task = ended.expect("follow returns after the end event");
    match &task.result {
        Some(result) => {
            print_verdict(result)?;
            Ok(ExitCode::from(code_for(result)))
        }
        None => {
            let why = task.error.as_deref().unwrap_or("no result");
            eprintln!("sandrun: task {} {}: {why}", task.id, task.status.name());
            Ok(ExitCode::from(super::EXIT_SANDRUN))
        }
    }
}
