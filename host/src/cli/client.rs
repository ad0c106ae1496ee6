//! A small HTTP client for the sandrun API, for the CLI's remote commands.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use futures::StreamExt;
use reqwest::{Method, RequestBuilder, Response};
use sandrun_api::{
    ArtifactInfo, ArtifactList, ModuleInfo, Problem, RunRequest, Session, SessionPage,
    SessionRequest, Task, TaskEvent, TaskPage, TaskRequest,
};
use serde::de::DeserializeOwned;
use tokio::io::AsyncWriteExt;

use super::results;

#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    api_key: Option<String>,
}

impl Client {
    pub fn new(server: &str, api_key: Option<String>) -> Self {
        Client {
            base: server.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            api_key,
        }
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base));
        self.authorised(builder)
    }

    fn request_url(&self, method: Method, url: reqwest::Url) -> RequestBuilder {
        self.authorised(self.http.request(method, url))
    }

    fn authorised(&self, builder: RequestBuilder) -> RequestBuilder {
        match &self.api_key {
            Some(key) => builder.bearer_auth(key),
            None => builder,
        }
    }

    async fn send(&self, builder: RequestBuilder) -> anyhow::Result<Response> {
        let response = builder
            .send()
            .await
            .with_context(|| format!("cannot reach the sandrun server at {}", self.base))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        match serde_json::from_str::<Problem>(&text) {
            Ok(problem) => bail!(
                "{} ({}): {}",
                problem.title,
                status.as_u16(),
                problem.detail
            ),
            Err(_) => bail!("the server answered {status}: {text}"),
        }
    }

    /// Send, and read the answer as `T`.
    async fn json<T: DeserializeOwned>(&self, builder: RequestBuilder) -> anyhow::Result<T> {
        Ok(self.send(builder).await?.json().await?)
    }

    fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    fn post(&self, path: &str) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    pub async fn submit(
        &self,
        request: &TaskRequest,
        wait_secs: Option<u64>,
    ) -> anyhow::Result<Task> {
        let path = match wait_secs {
            Some(wait) => format!("/v1/tasks?wait={wait}"),
            None => "/v1/tasks".into(),
        };
        self.json(self.post(&path).json(request)).await
    }

    pub async fn upload_module(&self, bytes: Vec<u8>) -> anyhow::Result<ModuleInfo> {
        let builder = self
            .post("/v1/modules")
            .header(reqwest::header::CONTENT_TYPE, "application/wasm")
            .body(bytes);
        self.json(builder).await
    }

    pub async fn task(&self, id: &str) -> anyhow::Result<Task> {
        self.json(self.get(&format!("/v1/tasks/{id}"))).await
    }

    pub async fn list(&self, query: &[(&str, String)]) -> anyhow::Result<TaskPage> {
        self.json(self.get("/v1/tasks").query(query)).await
    }

    pub async fn cancel(&self, id: &str) -> anyhow::Result<Task> {
        self.json(self.post(&format!("/v1/tasks/{id}/cancel")))
            .await
    }

    pub async fn open_session(&self, request: &SessionRequest) -> anyhow::Result<Session> {
        self.json(self.post("/v1/sessions").json(request)).await
    }

    pub async fn session(&self, id: &str) -> anyhow::Result<Session> {
        self.json(self.get(&format!("/v1/sessions/{id}"))).await
    }

    pub async fn sessions(&self, query: &[(&str, String)]) -> anyhow::Result<SessionPage> {
        self.json(self.get("/v1/sessions").query(query)).await
    }

    /// Delete the session and its state; answers it as it was, ended.
    pub async fn delete_session(&self, id: &str) -> anyhow::Result<Session> {
        let path = format!("/v1/sessions/{id}");
        self.json(self.request(Method::DELETE, &path)).await
    }

    /// Give the session a fresh interpreter, keeping its settings.
    pub async fn restart_session(&self, id: &str) -> anyhow::Result<Session> {
        self.json(self.post(&format!("/v1/sessions/{id}/restart")))
            .await
    }

    /// A new session from a copy of this one's settings and state.
    pub async fn fork_session(&self, id: &str) -> anyhow::Result<Session> {
        self.json(self.post(&format!("/v1/sessions/{id}/fork")))
            .await
    }

    /// Queue a run in the session; the run is a task.
    pub async fn run_in_session(&self, id: &str, run: &RunRequest) -> anyhow::Result<Task> {
        let path = format!("/v1/sessions/{id}/runs");
        self.json(self.post(&path).json(run)).await
    }

    /// The files task `id`'s run left under `/output`.
    pub async fn artifacts(&self, id: &str) -> anyhow::Result<ArtifactList> {
        self.json(self.get(&format!("/v1/tasks/{id}/artifacts")))
            .await
    }

    /// Download task `id`'s `artifact` to its own path under `dir`, as it
    /// streams in; answers where it went.
    pub async fn download(
        &self,
        id: &str,
        artifact: &ArtifactInfo,
        dir: &Path,
    ) -> anyhow::Result<PathBuf> {
        let to = results::artifact_path(dir, artifact)?;
        let mut url = reqwest::Url::parse(&format!("{}/v1/tasks/{id}/artifacts", self.base))
            .with_context(|| format!("{} is not a URL", self.base))?;
        url.path_segments_mut()
            .map_err(|()| anyhow::anyhow!("{} cannot hold a path", self.base))?
            .extend(artifact.path.split('/'));
        let response = self.send(self.request_url(Method::GET, url)).await?;
        if let Some(parent) = to.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .with_context(|| format!("cannot make {}", parent.display()))?;
        }
        let mut file = tokio::fs::File::create(&to)
            .await
            .with_context(|| format!("cannot write {}", to.display()))?;
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            file.write_all(&chunk?)
                .await
                .with_context(|| format!("cannot write {}", to.display()))?;
        }
        file.flush().await?;
        Ok(to)
    }

    /// Follow the task's Server-Sent Events, calling `on_event` for each,
    /// until the final `end` event.
    pub async fn follow(
        &self,
        id: &str,
        mut on_event: impl FnMut(&TaskEvent),
    ) -> anyhow::Result<()> {
        let response = self
            .send(self.get(&format!("/v1/tasks/{id}/events")))
            .await?;
        let mut body = response.bytes_stream();
        let mut buffer = String::new();
        while let Some(chunk) = body.next().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk?));
            while let Some(end) = buffer.find("\n\n") {
                let frame: String = buffer.drain(..end + 2).collect();
                let data: String = frame
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect();
                if data.is_empty() {
                    continue;
                }
                let event: TaskEvent =
                    serde_json::from_str(&data).context("unreadable event from the server")?;
                on_event(&event);
                if matches!(event, TaskEvent::End { .. }) {
                    return Ok(());
                }
            }
        }
        bail!("the server closed the event stream before the task ended")
    }
}
