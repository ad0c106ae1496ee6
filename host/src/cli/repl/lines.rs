//! Where the repl's lines come from: rustyline, with line editing and a
//! history kept in sandrun's home on a terminal; piped input is read line by
//! line, with no prompt and no history, so what runs the repl from a script
//! sees only the guest's output.

use std::io::IsTerminal;
use std::path::PathBuf;

use rustyline::error::ReadlineError;
use rustyline::{Config, DefaultEditor};

use crate::home::Home;

pub struct Lines {
    editor: DefaultEditor,
    /// Where the history is kept; none when the input is not a terminal.
    history: Option<PathBuf>,
}

impl Lines {
    pub fn open(home: &Home) -> anyhow::Result<Lines> {
        let config = Config::builder().auto_add_history(true).build();
        let mut editor = DefaultEditor::with_config(config)?;
        let history = std::io::stdin().is_terminal().then(|| home.repl_history());
        if let Some(path) = &history {
            match editor.load_history(path) {
                Err(ReadlineError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => eprintln!("sandrun: cannot read the history {}: {e}", path.display()),
                Ok(()) => {}
            }
        }
        Ok(Lines { editor, history })
    }

    /// The next line, after `prompt` on a terminal.
    pub fn read(&mut self, prompt: &str) -> rustyline::Result<String> {
        self.editor.readline(prompt)
    }

    pub fn save_history(&mut self) {
        let Some(path) = &self.history else {
            return;
        };
        let dir = path.parent().unwrap_or(path);
        let saved = std::fs::create_dir_all(dir)
            .map_err(ReadlineError::from)
            .and_then(|()| self.editor.save_history(path));
        if let Err(e) = saved {
            eprintln!("sandrun: cannot save the history {}: {e}", path.display());
        }
    }
}
