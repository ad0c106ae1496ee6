//! The sandrun side: each task is one `POST /v1/tasks?wait=60` round trip,
//! answered once the task ran and its result was stored. The session
//! workloads (`sessions.rs`) make their requests through the same client.

use anyhow::{Context, bail, ensure};
use reqwest::RequestBuilder;
use sandrun_api::{ModuleInfo, Task, TaskStatus};
use serde::de::DeserializeOwned;
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

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.http.post(format!("{}{path}", self.address))
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.http.get(format!("{}{path}", self.address))
    }

    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.http.delete(format!("{}{path}", self.address))
    }

    /// Uploads the trivial guest so wasm tasks can name it.
    pub async fn upload_trivial_module(&mut self, bytes: Vec<u8>) -> anyhow::Result<()> {
        let request = self
            .post("/v1/modules")
            .header("content-type", "application/wasm")
            .body(bytes);
        self.module = Some(reply::<ModuleInfo>("module upload", request).await?.hash);
        Ok(())
    }

    fn request(&self, workload: &Workload) -> anyhow::Result<Value> {
        Ok(match workload.program {
            Program::Python(code) => json!({"runtime": "python", "code": code}),
            Program::TrivialWasm => json!({"runtime": "wasm", "module": self.module}),
            Program::Session(_) => bail!("{}: a session workload is not one task", workload.name),
        })
    }

    /// Runs one task to its end; an error unless it succeeded as expected.
    pub async fn run(&self, workload: &Workload) -> anyhow::Result<()> {
        let request = self
            .post("/v1/tasks?wait=60")
            .json(&self.request(workload)?);
        let task: Task = reply(workload.name, request).await?;
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

/// Sends `request` and answers its JSON body; an error naming `what`
/// unless it succeeded.
pub async fn reply<T: DeserializeOwned>(what: &str, request: RequestBuilder) -> anyhow::Result<T> {
    let response = request.send().await.with_context(|| what.to_owned())?;
    let status = response.status();
    ensure!(
        status.is_success(),
        "{what}: {status}: {}",
        response.text().await?
    );
    response
        .json()
        .await
        .with_context(|| format!("{what}: the answer"))
}
