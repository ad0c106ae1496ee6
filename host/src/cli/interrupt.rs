//! Ctrl-C as something to wait for. A session's run is cancelled on the
//! server when Ctrl-C is pressed, rather than left running while the CLI
//! dies; the handler is set once, before the run is sent, so a press at any
//! moment of it counts.

use anyhow::Context;
use tokio::sync::watch;

/// Presses of Ctrl-C, counted from when the last wait began.
#[derive(Debug)]
pub struct CtrlC {
    presses: watch::Receiver<()>,
}

impl CtrlC {
    /// Catch Ctrl-C for the rest of the process: from now on it no longer
    /// ends it.
    pub fn catch() -> anyhow::Result<CtrlC> {
        let (press, presses) = watch::channel(());
        ctrlc::set_handler(move || press.send_replace(())).context("cannot watch for Ctrl-C")?;
        Ok(CtrlC { presses })
    }

    /// Forget the presses so far: what counts comes after this.
    pub fn arm(&mut self) {
        self.presses.mark_unchanged();
    }

    /// Until Ctrl-C is pressed (or was, since `arm`).
    pub async fn pressed(&mut self) {
        // The sender lives in the handler, for as long as the process.
        let _ = self.presses.changed().await;
    }
}
