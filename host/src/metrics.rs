//! This node's Prometheus metrics: every name, label and unit in this one
//! file, and one short call per event at the places where things happen
//! (`metrics.task_submitted(runtime)`), so a call site never spells a
//! metric's name or its labels.
//!
//! Each application holds its own recorder (the `metrics` crate's
//! `Recorder`, the Prometheus exporter's rendering) rather than installing
//! a process-wide one: every series carries the `node` label of the
//! scheduler that owns it, and servers started side by side in one process
//! (the test suite starts dozens) keep apart counts. The exporter's own
//! HTTP listener is not used: `/metrics` is an API route, served under the
//! API's keys, or on `--metrics-bind`.
//!
//! Counters and histograms are recorded as things happen. The levels,
//! queue depth by status, tasks running here and the database pool, are
//! read when `/metrics` is scraped ([`Sample`]), not sampled by a loop:
//! the queue's depth is the database's (shared by every node on Postgres),
//! so a scrape always reports it as it is, costs one indexed count, and an
//! idle server does no work for metrics nobody reads.

use std::sync::Arc;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use sandrun_api::{Runtime, TaskResult, TaskStatus};
use tokio_util::sync::CancellationToken;

use crate::storage::{PoolUse, QueueDepth};

const SUBMITTED: &str = "sandrun_tasks_submitted_total";
const ENDED: &str = "sandrun_tasks_ended_total";
const QUEUE_WAIT: &str = "sandrun_task_queue_wait_seconds";
const RUN_TIME: &str = "sandrun_task_run_seconds";
const LATENCY: &str = "sandrun_task_latency_seconds";
const FUEL: &str = "sandrun_fuel_consumed_total";
const PEAK_MEMORY: &str = "sandrun_task_peak_memory_bytes";
const RETRIES: &str = "sandrun_task_retries_total";
const RECLAIMS: &str = "sandrun_lease_reclaims_total";
const RESTARTS: &str = "sandrun_worker_restarts_total";
const HOST_CALLS: &str = "sandrun_host_calls_total";
const HTTP_REQUESTS: &str = "sandrun_http_requests_total";
const HTTP_DURATION: &str = "sandrun_http_request_duration_seconds";
const QUEUE_DEPTH: &str = "sandrun_queue_depth";
const RUNNING: &str = "sandrun_tasks_running";
const DB_CONNECTIONS: &str = "sandrun_db_connections";

/// Each metric's kind, unit and help text, as `# HELP` says it.
const DESCRIBED: &[(&str, Kind, Unit, &str)] = &[
    (
        SUBMITTED,
        Kind::Counter,
        Unit::Count,
        "Tasks this node took in, by runtime.",
    ),
    (
        ENDED,
        Kind::Counter,
        Unit::Count,
        "Tasks whose end this node recorded, by runtime, status and outcome (none: ended without a run's result).",
    ),
    (
        QUEUE_WAIT,
        Kind::Histogram,
        Unit::Seconds,
        "From a task's creation to the start of each of its runs on this node.",
    ),
    (
        RUN_TIME,
        Kind::Histogram,
        Unit::Seconds,
        "From a run's start on this node to its recorded end.",
    ),
    (
        LATENCY,
        Kind::Histogram,
        Unit::Seconds,
        "From a task's creation to its end, for the runs this node ended.",
    ),
    (
        FUEL,
        Kind::Counter,
        Unit::Count,
        "Fuel the runs on this node used, by runtime.",
    ),
    (
        PEAK_MEMORY,
        Kind::Histogram,
        Unit::Bytes,
        "The most guest memory each run held, by runtime.",
    ),
    (
        RETRIES,
        Kind::Counter,
        Unit::Count,
        "Runs given back after an infrastructure failure, to be retried or failed by their attempts left.",
    ),
    (
        RECLAIMS,
        Kind::Counter,
        Unit::Count,
        "Tasks this node gave back because their lease had expired (or, at start, were left running).",
    ),
    (
        RESTARTS,
        Kind::Counter,
        Unit::Count,
        "Worker processes started again, after one was lost or failed to start.",
    ),
    (
        HOST_CALLS,
        Kind::Counter,
        Unit::Count,
        "Host calls the guests on this node made, by kind.",
    ),
    (
        HTTP_REQUESTS,
        Kind::Counter,
        Unit::Count,
        "HTTP requests answered, by method, route template and status.",
    ),
    (
        HTTP_DURATION,
        Kind::Histogram,
        Unit::Seconds,
        "Time to answer an HTTP request (until its headers), by method, route template and status.",
    ),
    (
        QUEUE_DEPTH,
        Kind::Gauge,
        Unit::Count,
        "Tasks in the shared queue by status, read at the scrape.",
    ),
    (
        RUNNING,
        Kind::Gauge,
        Unit::Count,
        "Tasks running on this node.",
    ),
    (
        DB_CONNECTIONS,
        Kind::Gauge,
        Unit::Count,
        "This node's database connections, in use or idle.",
    ),
];

/// Histogram buckets, in seconds: a millisecond to five minutes.
const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];
/// Histogram buckets, in bytes: 1 MiB to 4 GiB, by fours.
const BYTES: &[f64] = &[
    1048576.0,
    4194304.0,
    16777216.0,
    67108864.0,
    268435456.0,
    1073741824.0,
    4294967296.0,
];

/// How long histogram samples may gather unscraped before they are folded
/// into their buckets, so an unscraped server's memory stays flat.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// The levels read when metrics are scraped.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub queue: QueueDepth,
    /// Tasks running on this node.
    pub running: usize,
    pub pool: PoolUse,
}

/// This node's recorder; cheap to clone, each clone records into the same.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// A recorder whose every series is labelled `node="{node_id}"`.
    pub fn new(node_id: &str) -> Self {
        let recorder = PrometheusBuilder::new()
            .add_global_label("node", node_id)
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_bytes".into()), BYTES))
            .expect("the buckets are not empty")
            .build_recorder();
        for &(name, kind, unit, help) in DESCRIBED {
            let (name, unit) = (KeyName::from_const_str(name), Some(unit));
            match kind {
                Kind::Counter => recorder.describe_counter(name, unit, help.into()),
                Kind::Gauge => recorder.describe_gauge(name, unit, help.into()),
                Kind::Histogram => recorder.describe_histogram(name, unit, help.into()),
            }
        }
        let handle = recorder.handle();
        Metrics {
            inner: Arc::new(Inner { recorder, handle }),
        }
    }

    pub fn task_submitted(&self, runtime: Runtime) {
        self.counter(SUBMITTED, vec![runtime_label(runtime)])
            .increment(1);
    }

    /// A run started, `queued_for` after its task was created.
    pub fn run_started(&self, runtime: Runtime, queued_for: Duration) {
        self.histogram(QUEUE_WAIT, vec![runtime_label(runtime)])
            .record(queued_for);
    }

    /// A task ended in `status`, with the outcome of its run's `result`
    /// if it has one.
    pub fn task_ended(&self, runtime: Runtime, status: TaskStatus, result: Option<&TaskResult>) {
        let outcome = result.map_or("none", |r| r.outcome.name());
        let labels = vec![
            runtime_label(runtime),
            Label::new("status", status.name()),
            Label::new("outcome", outcome),
        ];
        self.counter(ENDED, labels).increment(1);
    }

    /// A run on this node ended with `result`, `took` after it started and
    /// `since_created` after its task was created.
    pub fn run_ended(
        &self,
        runtime: Runtime,
        result: &TaskResult,
        took: Duration,
        since_created: Duration,
    ) {
        let labels = || vec![runtime_label(runtime)];
        self.histogram(RUN_TIME, labels()).record(took);
        self.histogram(LATENCY, labels()).record(since_created);
        self.counter(FUEL, labels()).increment(result.fuel_used);
        self.histogram(PEAK_MEMORY, labels())
            .record(result.peak_memory_bytes as f64);
    }

    /// The host calls one run made, by kind.
    pub fn host_calls<'a>(&self, calls: impl IntoIterator<Item = (&'a String, &'a u64)>) {
        for (kind, count) in calls {
            self.counter(HOST_CALLS, vec![Label::new("kind", kind.clone())])
                .increment(*count);
        }
    }

    pub fn run_retried(&self, runtime: Runtime) {
        self.counter(RETRIES, vec![runtime_label(runtime)])
            .increment(1);
    }

    pub fn leases_reclaimed(&self, tasks: u64) {
        self.counter(RECLAIMS, Vec::new()).increment(tasks);
    }

    pub fn worker_restarted(&self) {
        self.counter(RESTARTS, Vec::new()).increment(1);
    }

    /// An HTTP request to `route` (its template, `unmatched` when no route
    /// took it) was answered `status` after `took`.
    pub fn http_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let labels = || {
            vec![
                Label::new("method", method.to_owned()),
                Label::new("route", route.to_owned()),
                Label::new("status", status.to_string()),
            ]
        };
        self.counter(HTTP_REQUESTS, labels()).increment(1);
        self.histogram(HTTP_DURATION, labels()).record(took);
    }

    /// The exposition, in Prometheus's text format, with the levels in
    /// `sample`.
    pub fn render(&self, sample: Sample) -> String {
        let depth =
            |status: &'static str| self.gauge(QUEUE_DEPTH, vec![Label::new("status", status)]);
        depth("waiting").set(sample.queue.waiting as f64);
        depth("queued").set(sample.queue.queued as f64);
        depth("running").set(sample.queue.running as f64);
        self.gauge(RUNNING, Vec::new()).set(sample.running as f64);
        let pool =
            |state: &'static str| self.gauge(DB_CONNECTIONS, vec![Label::new("state", state)]);
        pool("in_use").set(f64::from(sample.pool.in_use));
        pool("idle").set(f64::from(sample.pool.idle));
        self.inner.handle.render()
    }

    /// Every [`UPKEEP_EVERY`] until `stop`, fold the histograms' samples
    /// into their buckets, as a scrape does.
    pub async fn keep_up(self, stop: CancellationToken) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(UPKEEP_EVERY) => self.inner.handle.run_upkeep(),
                () = stop.cancelled() => return,
            }
        }
    }

    fn counter(&self, name: &'static str, labels: Vec<Label>) -> Counter {
        self.inner
            .recorder
            .register_counter(&Key::from_parts(name, labels), &METADATA)
    }

    fn gauge(&self, name: &'static str, labels: Vec<Label>) -> Gauge {
        self.inner
            .recorder
            .register_gauge(&Key::from_parts(name, labels), &METADATA)
    }

    fn histogram(&self, name: &'static str, labels: Vec<Label>) -> Histogram {
        self.inner
            .recorder
            .register_histogram(&Key::from_parts(name, labels), &METADATA)
    }
}

fn runtime_label(runtime: Runtime) -> Label {
    Label::new("runtime", runtime.name())
}
