//! Following a task to its end on the terminal, for `submit --wait`, `logs
//! --follow`, `session run` and the repl: its output as it comes, then what
//! `sandrun run` would say of the result, and the same exit code.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use sandrun_api::{Task, TaskEvent};

use super::client::Client;
use super::exit::{EXIT_SANDRUN, code_for};
use super::interrupt::CtrlC;
use super::results;
use super::run::print_verdict;

/// Stream task `id`'s output until it ends, then report the end, saving
/// its artifacts and images in `dir`. With `ctrl_c`, a press cancels the
/// task on the server and the stream goes on to its end; without, Ctrl-C
/// ends the CLI and leaves the task be.
pub async fn watch(
    client: &Client,
    id: &str,
    ctrl_c: Option<&mut CtrlC>,
    dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let mut ended = None;
    {
        let follow = client.follow(id, |event| show(event, &mut ended));
        match ctrl_c {
            None => follow.await?,
            Some(ctrl_c) => {
                tokio::pin!(follow);
                tokio::select! {
                    followed = &mut follow => followed?,
                    () = ctrl_c.pressed() => {
                        if std::io::stderr().is_terminal() {
                            eprintln!(); // after the terminal's ^C
                        }
                        // It may have ended meanwhile; the stream says how.
                        if let Err(error) = client.cancel(id).await {
                            eprintln!("sandrun: cannot cancel {id}: {error:#}");
                        }
                        follow.await?;
                    }
                }
            }
        }
    }
    let task = ended.expect("follow returns after the end event");
    if let (Some(dir), Some(result)) = (dir, &task.result) {
        for artifact in &result.artifacts {
            client.download(&task.id, artifact, dir).await?;
        }
    }
    conclude(&task, dir)
}

fn show(event: &TaskEvent, ended: &mut Option<Task>) {
    match event {
        TaskEvent::Stdout { text } => {
            print!("{text}");
            let _ = std::io::stdout().flush();
        }
        TaskEvent::Stderr { text } => eprint!("{text}"),
        TaskEvent::Log { line } => eprintln!("[{}] {}", line.level.name(), line.message),
        TaskEvent::Status { .. } | TaskEvent::Progress { .. } => {}
        TaskEvent::End { task } => *ended = Some((**task).clone()),
    }
}

/// After the output: the rich results (a session run's value among them),
/// then the verdict.
fn conclude(task: &Task, dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let Some(result) = &task.result else {
        let why = task.error.as_deref().unwrap_or("no result");
        eprintln!("sandrun: task {} {}: {why}", task.id, task.status.name());
        return Ok(ExitCode::from(EXIT_SANDRUN));
    };
    results::show(result, dir)?;
    // A rolled-back run's message says so.
    print_verdict(result)?;
    Ok(ExitCode::from(code_for(result)))
}
