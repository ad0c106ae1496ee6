//! The live-session peer: a native, unsandboxed IPython kernel (ipykernel)
//! per client, driven through jupyter_client by `peers/jupyter_driver.py`
//! in the venv. It holds its variables in a live process, so each
//! `execute` round trip is what a session run in memory would at best cost;
//! it runs the same turns as sandrun's `session x += 1`.

use serde_json::json;

use crate::counting::{INCREMENT, SETUP};
use crate::driver;
use crate::load::{Plan, Sample};
use crate::venv::Venv;

/// Runs `x += 1\nx` under `plan` in one driver process.
pub async fn measure(venv: &Venv, plan: Plan) -> anyhow::Result<Sample> {
    let mut job = serde_json::to_value(plan)?;
    job["setup"] = json!(SETUP);
    job["code"] = json!(INCREMENT);
    driver::measure(venv, "jupyter_driver.py", &job, &[]).await
}
