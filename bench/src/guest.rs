//! The trivial Rust wasm module, compiled for wasm32-wasip1 from `guest/`
//! when the harness starts (about a second once cached), so the measured
//! module is built from source in this repository.

use std::path::{Path, PathBuf};

use anyhow::{Context, ensure};
use tokio::process::Command;

const MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/guest/Cargo.toml");

/// Builds the guest under `target_dir` and answers its bytes.
pub async fn build(target_dir: &Path) -> anyhow::Result<Vec<u8>> {
    let target_dir: PathBuf = target_dir.join("bench-guest");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--release",
            "--target",
            "wasm32-wasip1",
            "--manifest-path",
            MANIFEST,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .status()
        .await
        .context("cannot run cargo to build the wasm guest")?;
    ensure!(
        status.success(),
        "building the wasm guest failed; is the target installed? `rustup target add wasm32-wasip1`"
    );
    let path = target_dir.join("wasm32-wasip1/release/sandrun-bench-guest.wasm");
    std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))
}
