use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::progress::Progress;

/// Bars on a terminal; one line per step, with its duration, elsewhere (CI
/// logs), so a long first run never looks hung.
#[derive(Debug, Default)]
pub struct TerminalProgress {
    current: Mutex<Option<(ProgressBar, Instant, String)>>,
}

impl Progress for TerminalProgress {
    fn start(&self, step: &str, total: Option<u64>) {
        let bar = if !std::io::stderr().is_terminal() {
            eprintln!("sandrun: {step}...");
            ProgressBar::hidden()
        } else if let Some(total) = total {
            ProgressBar::new(total).with_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            )
        } else {
            let bar = ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        };
        bar.set_message(step.to_owned());
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((bar, Instant::now(), step.to_owned()));
    }

    fn advance(&self, done: u64) {
        if let Some((bar, _, _)) = &*self.current.lock().unwrap_or_else(|e| e.into_inner()) {
            bar.set_position(done);
        }
    }

    fn finish(&self) {
        if let Some((bar, started, step)) = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            bar.finish_and_clear();
            eprintln!(
                "sandrun: {step}: done in {:.1}s",
                started.elapsed().as_secs_f64()
            );
        }
    }
}
