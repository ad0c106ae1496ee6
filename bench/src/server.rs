//! A real `sandrun serve` as a child process, on a loopback port the kernel
//! picks, with a fresh SQLite queue, so every measured task goes through the
//! HTTP API and durable storage exactly as in production.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

#[derive(Debug)]
pub struct Server {
    child: Child,
    /// Kept open so the server never writes to a closed pipe.
    _stdout: Lines<BufReader<ChildStdout>>,
    pub address: String,
    /// Holds the database; removed when the server is dropped.
    _database: tempfile::TempDir,
}

impl Server {
    /// Starts `binary serve` and waits for its "listening" line (the first
    /// start on a data dir compiles the Python runtime, which takes minutes).
    pub async fn start(
        binary: &Path,
        home: Option<&PathBuf>,
        serve_args: &[String],
    ) -> anyhow::Result<Server> {
        let database = tempfile::tempdir().context("cannot make the database's temp dir")?;
        let url = format!("sqlite://{}", database.path().join("sandrun.db").display());
        let mut command = Command::new(binary);
        if let Some(home) = home {
            command.arg("--home").arg(home);
        }
        let mut child = command
            .args(["serve", "--bind", "127.0.0.1:0", "--database-url", &url])
            .args(serve_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| {
                format!(
                    "cannot start {}; build it with `cargo build --release -p sandrun` or pass --sandrun",
                    binary.display()
                )
            })?;
        let mut stdout = BufReader::new(child.stdout.take().expect("piped")).lines();
        let Some(line) = stdout.next_line().await? else {
            bail!(
                "sandrun serve exited before it listened: {:?}",
                child.wait().await?
            );
        };
        let address = line
            .strip_prefix("sandrun listening on ")
            .with_context(|| format!("unexpected first line from sandrun serve: {line:?}"))?
            .to_owned();
        Ok(Server {
            child,
            _stdout: stdout,
            address,
            _database: database,
        })
    }

    /// The server's resident memory now, in MiB.
    pub fn rss_mib(&self) -> anyhow::Result<f64> {
        let pid = self.child.id().context("the server has exited")?;
        let path = format!("/proc/{pid}/status");
        let status =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        let kib: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no VmRSS in {path}"))?;
        Ok(kib / 1024.0)
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.child.kill().await.context("cannot stop sandrun serve")
    }
}
