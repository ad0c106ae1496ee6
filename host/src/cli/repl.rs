//! `sandrun repl`: Python's interactive prompt, against a session on a
//! server. Each entry is one run of the session, so what it defines is there
//! for the next; its output streams as it comes and its trailing value is
//! printed as Python prints it. Ctrl-C during a run cancels it, which rolls
//! the session back to before it; at the prompt it clears the entry; Ctrl-D
//! leaves.

mod entry;
mod lines;

use std::process::ExitCode;

use clap::Args;
use rustyline::error::ReadlineError;
use sandrun_api::{RunRequest, SessionRequest};
use tokio::runtime::Runtime;

use self::lines::Lines;
use super::client::Client;
use super::interrupt::CtrlC;
use super::remote::{ServerArgs, runtime};
use super::session::{SettingsArgs, run_and_watch};
use crate::home::Home;

/// An interactive Python prompt whose state lives in a server's session.
///
/// Without --session it opens a new session, and deletes it on exit unless
/// --keep is given. Piped input is read as typed input is, without prompts.
#[derive(Debug, Args)]
pub struct ReplArgs {
    /// Use this session, and leave it open on exit
    #[arg(long, value_name = "ID")]
    session: Option<String>,
    /// Keep the new session open on exit, to come back to with --session
    #[arg(long, conflicts_with = "session")]
    keep: bool,
    /// The new session's settings, as `session new` takes them
    #[command(flatten, next_help_heading = "New session")]
    settings: SettingsArgs,
    #[command(flatten)]
    server: ServerArgs,
}

pub fn run(home: &Home, args: ReplArgs) -> anyhow::Result<ExitCode> {
    let runtime = runtime()?;
    let client = args.server.client();
    let settings = args.settings.request()?;
    let (session, end_on_exit) = match args.session {
        Some(_) if settings != SessionRequest::default() => {
            anyhow::bail!(
                "--session runs in that session, with its settings; the session flags are for a new one"
            )
        }
        Some(id) => {
            eprintln!("sandrun: session {id}");
            (id, false)
        }
        None => {
            let id = runtime.block_on(client.open_session(&settings))?.id;
            match args.keep {
                true => eprintln!("sandrun: session {id}, kept on exit"),
                false => eprintln!("sandrun: session {id}, deleted on exit (--keep keeps it)"),
            }
            (id, !args.keep)
        }
    };
    let mut lines = Lines::open(home)?;
    let repl = Repl {
        runtime: &runtime,
        client: &client,
        session: &session,
        ctrl_c: CtrlC::catch()?,
    };
    let outcome = repl.read_eval_print(&mut lines);
    lines.save_history();
    if end_on_exit {
        runtime.block_on(client.delete_session(&session))?;
    }
    outcome.map(|()| ExitCode::SUCCESS)
}

struct Repl<'a> {
    runtime: &'a Runtime,
    client: &'a Client,
    session: &'a str,
    ctrl_c: CtrlC,
}

impl Repl<'_> {
    /// Read entries and run each, until the input ends.
    fn read_eval_print(mut self, lines: &mut Lines) -> anyhow::Result<()> {
        let mut entry: Vec<String> = Vec::new();
        loop {
            let prompt = if entry.is_empty() { ">>> " } else { "... " };
            let ended = match lines.read(prompt) {
                // A paste can bring several lines at once.
                Ok(line) => {
                    if !entry.is_empty() || !line.trim().is_empty() {
                        entry.extend(line.split('\n').map(str::to_owned));
                    }
                    if entry.is_empty() || entry::wants_more(&entry) {
                        continue;
                    }
                    false
                }
                Err(ReadlineError::Interrupted) => {
                    entry.clear();
                    continue;
                }
                Err(ReadlineError::Eof) => true,
                Err(error) => return Err(error.into()),
            };
            if !entry.is_empty() {
                self.evaluate(std::mem::take(&mut entry).join("\n"));
            }
            if ended {
                return Ok(());
            }
        }
    }

    /// Run one entry; a failure to reach the server is said, and the
    /// prompt comes back.
    fn evaluate(&mut self, code: String) {
        let request = RunRequest {
            code,
            ..RunRequest::default()
        };
        let ran = self.runtime.block_on(run_and_watch(
            self.client,
            self.session,
            &request,
            &mut self.ctrl_c,
            None,
        ));
        if let Err(error) = ran {
            eprintln!("sandrun: error: {error:#}");
        }
    }
}
