//! The classic worker design as a peer: a fresh `python3 -c CODE` process of
//! the venv's interpreter per task, with no sandbox at all.

use std::path::Path;

use anyhow::ensure;
use tokio::process::Command;

pub async fn run(python: &Path, code: &str, expect: &str) -> anyhow::Result<()> {
    let output = Command::new(python).args(["-c", code]).output().await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success() && stdout.contains(expect),
        "native python3 failed: {}: {stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}
