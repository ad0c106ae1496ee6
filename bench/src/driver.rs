//! The Python peers' drivers: a script in `peers/`, run by the venv's
//! interpreter, reads one job as JSON on stdin (the plan and what to run)
//! and answers the latencies it measured as JSON on stdout. The scripts
//! share `peers/closed_loop.py`, which runs the same closed loop as
//! `load.rs`, so every system is measured alike. They run from the source
//! tree, as the wasm guest is built from it.

use std::ffi::OsStr;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, ensure};
use serde::Deserialize;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::load::Sample;
use crate::venv::Venv;

const PEERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/peers");

#[derive(Debug, Deserialize)]
struct Measured {
    latencies_s: Vec<f64>,
    elapsed_s: f64,
}

/// Runs `peers/{script}` on `job`, with `env` set for it.
pub async fn measure(
    venv: &Venv,
    script: &str,
    job: &Value,
    env: &[(&str, &OsStr)],
) -> anyhow::Result<Sample> {
    let mut child = Command::new(&venv.python)
        .arg(format!("{PEERS}/{script}"))
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {script}"))?;
    let mut stdin = child.stdin.take().expect("piped");
    stdin.write_all(job.to_string().as_bytes()).await?;
    drop(stdin);
    let output = child.wait_with_output().await?;
    ensure!(
        output.status.success(),
        "{script} failed: {}",
        output.status
    );
    let measured: Measured =
        serde_json::from_slice(&output.stdout).with_context(|| format!("{script}'s answer"))?;
    Ok(Sample {
        latencies: measured
            .latencies_s
            .into_iter()
            .map(Duration::from_secs_f64)
            .collect(),
        elapsed: Duration::from_secs_f64(measured.elapsed_s),
    })
}
