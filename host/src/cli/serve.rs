use std::process::ExitCode;
use std::sync::Arc;

use super::progress::TerminalProgress;
use crate::configuration::{ServeArgs, Settings};
use crate::home::Home;
use crate::startup::{Application, load_sandbox, open_storage};
use crate::telemetry::{self, LogFormat};

/// Start the server: load the runtime (installing it on first use), open
/// the queue, serve until Ctrl-C or SIGTERM, then shut down gracefully.
pub fn serve(home: &Home, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&args, home)?;
    telemetry::init(settings.log_format);
    let sandbox = load_sandbox(&settings, home, &TerminalProgress::default())?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let app = Application::build(&settings, Arc::new(sandbox)).await?;
        println!("sandrun listening on http://{}", app.local_addr());
        app.run_until(shutdown_signal()).await;
        // For a person; a pipeline reading JSON lines gets only JSON.
        if settings.log_format == LogFormat::Text {
            eprintln!("sandrun: stopped");
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Apply the database migrations and exit.
pub fn migrate(home: &Home, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&args, home)?;
    tokio::runtime::Runtime::new()?.block_on(open_storage(&settings.database))?;
    println!("database is up to date");
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM can be watched");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
