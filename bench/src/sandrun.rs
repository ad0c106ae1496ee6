//! The sandrun side: each task is one `POST /v1/tasks?wait=60` round trip,
//! answered once the task ran and its result was stored.

use anyhow::{bail, ensure};
use sandrun_api::{ModuleInfo, Task, TaskStatus};
use serde_json::{Value, json};

use crate::workload::{Program, Workload};

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    address: String,
    /// The trivial guest's hash, once uploaded.
    module: Option<String>,
}

impl Client {
    pub fn new(address: &str) -> Client {
        Client {
            http: reqwest::Client::new(),
            address: address.to_owned(),
            module: None,
        }
    }

    /// Uploads the trivial guest so wasm tasks can name it.
    pub async fn upload_trivial_module(&mut self, bytes: Vec<u8>) -> anyhow::Result<()> {
        let response = self
            .http
            .post(format!("{}/v1/modules", self.address))
            .header("content-type", "application/wasm")
            .body(bytes)
            .send()
            .await?;
        let status = response.status();
        ensure!(
            status.is_success(),
            "module upload: {status}: {}",
            response.text().await?
        );
        self.module = Some(response.json::<ModuleInfo>().await?.hash);
        Ok(())
    }

    fn request(&self, workload: &Workload) -> Value {
        match workload.program {
            Program::Python(code) => json!({"runtime": "python", "code": code}),
            Program::TrivialWasm => json!({"runtime": "wasm", "module": self.module}),
        }
    }

    /// Runs one task to its end; an error unless it succeeded as expected.
    pub async fn run(&self, workload: &Workload) -> anyhow::Result<()> {
        let response = self
            .http
            .post(format!("{}/v1/tasks?wait=60", self.address))
            .json(&self.request(workload))
            .send()
            .await?;
        let status = response.status();
        ensure!(
            status.is_success(),
            "{}: {status}: {}",
            workload.name,
            response.text().await?
        );
        let task: Task = response.json().await?;
        let stdout = task
            .result
            .as_ref()
            .map(|r| r.stdout.to_string_lossy())
            .unwrap_or_default();
        if task.status != TaskStatus::Succeeded || !stdout.contains(workload.expect) {
            bail!(
                "{}: the task did not succeed as expected: {task:?}",
                workload.name
            );
        }
        Ok(())
    }
}
