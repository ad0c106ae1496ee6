use std::process::ExitCode;
use std::sync::Arc;

use super::progress::TerminalProgress;
use crate::configuration::{ServeArgs, Settings};
use crate::home::Home;
use crate::runtime;
use crate::sandbox::Sandbox;
use crate::startup::{Application, open_storage};

/// Start the server: load the runtime (installing it on first use), open
/// the queue, serve until Ctrl-C or SIGTERM, then shut down gracefully.
pub fn serve(home: &Home, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&args, home)?;
    // With worker processes, this sandbox only makes the snapshot and
    // checks uploaded modules; without, it runs every slot's task.
    let tasks_at_once = if settings.workers.is_some() {
        1
    } else {
        settings.slots
    };
    let sandbox = Sandbox::new(home, settings.limits, tasks_at_once)?;
    let progress = TerminalProgress::default();
    let installed = runtime::ensure(home, "python", &progress)?;
    sandbox.load_python(&installed, settings.pre_import.as_deref(), &progress)?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let app = Application::build(&settings, Arc::new(sandbox)).await?;
        println!("sandrun listening on http://{}", app.local_addr());
        app.run_until(shutdown_signal()).await?;
        eprintln!("sandrun: stopped");
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
