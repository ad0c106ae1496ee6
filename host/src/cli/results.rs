//! What a run hands back besides its output, on the terminal and on disk:
//! the text of its rich results (as a notebook prints them) and, with
//! `--output-dir`, its images and HTML as `result-N.EXT` and its artifacts
//! under their own paths. Without a directory, a line on stderr says what
//! was not saved, so nothing a run made goes unnoticed.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytesize::ByteSize;
use clap::Args;
use sandrun_api::{ArtifactInfo, MimeBundle, TaskResult};

/// Where a run's artifacts and images go.
#[derive(Debug, Args)]
pub struct OutputDirArg {
    /// Save the run's artifacts (its files under /output) and its images
    /// and HTML results (as result-N.png, ...) in this directory
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
}

/// The representations saved as files, and their files' extensions.
const SAVED: &[(&str, &str)] = &[
    ("image/png", "png"),
    ("image/jpeg", "jpg"),
    ("image/svg+xml", "svg"),
    ("text/html", "html"),
];

/// Print each result's text; save its other representations in `dir`, or
/// say on stderr that they were not saved. A session run's trailing value
/// is one of its results; a result recorded before results existed has
/// only the value, which is printed.
pub fn show(result: &TaskResult, dir: Option<&Path>) -> anyhow::Result<()> {
    if result.results.is_empty()
        && let Some(value) = &result.value
    {
        println!("{value}");
    }
    for (n, bundle) in result.results.iter().enumerate() {
        show_one(n + 1, bundle, dir)?;
    }
    let mut err = std::io::stderr().lock();
    let limits = &result.limits;
    if result.results_truncated {
        let bytes = ByteSize(limits.result_bytes).display().iec();
        writeln!(
            err,
            "sandrun: results truncated at {} or {bytes}",
            limits.results
        )?;
    }
    if result.artifacts_truncated {
        let bytes = ByteSize(limits.artifact_bytes).display().iec();
        writeln!(
            err,
            "sandrun: some files under /output were not kept (at most {} files and {bytes}; \
             links and names that are not UTF-8 are left)",
            limits.artifacts
        )?;
    }
    if dir.is_none() && !result.artifacts.is_empty() {
        let paths: Vec<&str> = result.artifacts.iter().map(|a| a.path.as_str()).collect();
        writeln!(
            err,
            "sandrun: {} artifact(s) not saved ({}); --output-dir DIR saves them",
            paths.len(),
            paths.join(", ")
        )?;
    }
    Ok(())
}

fn show_one(n: usize, bundle: &MimeBundle, dir: Option<&Path>) -> anyhow::Result<()> {
    if let Some(text) = bundle.text("text/plain") {
        println!("{text}");
    }
    for &(mime, extension) in SAVED {
        let Some(value) = bundle.text(mime) else {
            continue;
        };
        let Some(dir) = dir else {
            if mime.starts_with("image/") || bundle.text("text/plain").is_none() {
                eprintln!("sandrun: result {n} has {mime}; --output-dir DIR saves it");
            }
            continue;
        };
        let bytes = if MimeBundle::is_binary(mime) {
            STANDARD
                .decode(value)
                .with_context(|| format!("result {n}'s {mime} is not base64"))?
        } else {
            value.as_bytes().to_vec()
        };
        let path = dir.join(format!("result-{n}.{extension}"));
        write(&path, &bytes)?;
        eprintln!("sandrun: result {n} ({mime}) saved to {}", path.display());
    }
    Ok(())
}

/// Where artifact `artifact` goes under `dir`: its own path, which must be
/// relative and plain (a server's answer is not trusted to stay inside).
pub fn artifact_path(dir: &Path, artifact: &ArtifactInfo) -> anyhow::Result<PathBuf> {
    let relative = Path::new(&artifact.path);
    let plain = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    if !plain || artifact.path.is_empty() {
        bail!("refusing to save an artifact named {:?}", artifact.path);
    }
    Ok(dir.join(relative))
}

/// Write `bytes` to `path`, making the folders it needs.
pub fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot make {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
