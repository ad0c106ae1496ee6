//! The server's settings: flags, `SANDRUN_*` environment variables and an
//! optional TOML file, in that order of precedence, checked at start so a
//! mistake stops the server with a clear message instead of surprising it
//! later.
//!
//! Each setting is declared once, as a field of [`ServeArgs`]: clap fills
//! it from its flag or variable, serde from the file under the same name,
//! and `layered!` lays the first over the second without a line per
//! setting. A setting's default and its checks then live in one place,
//! `Settings::check`, so the three sources cannot drift apart.

mod layer;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use sandrun_api::{AppliedLimits, Limits};
use serde::Deserialize;

use crate::home::Home;
use crate::sandbox::{LimitPolicy, LiveSessions};
use crate::scheduler::SessionPolicy;
use crate::server::ApiLimits;
use crate::startup::ConnectionLimits;
use crate::storage::PostgresOptions;
use crate::telemetry::LogFormat;
use crate::worker::WorkerSpawn;
use layer::{from_text, layered};

/// Where the queue lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(PostgresOptions),
}

/// Everything `sandrun serve` runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: SocketAddr,
    /// Where `/metrics` is served apart from the API; `None` serves it on
    /// `bind`.
    pub metrics_bind: Option<SocketAddr>,
    pub log_format: LogFormat,
    pub database: Database,
    pub api_keys: Vec<String>,
    pub slots: usize,
    /// Worker processes to run tasks in; `None` runs them on threads of
    /// the server itself.
    pub workers: Option<WorkerSpawn>,
    pub lease: Duration,
    pub grace: Duration,
    pub retention: Duration,
    pub api: ApiLimits,
    pub connections: ConnectionLimits,
    pub limits: LimitPolicy,
    pub sessions: SessionPolicy,
    /// The sessions this node keeps live, over all its workers.
    pub live: LiveSessions,
    /// Python modules imported in the runtime's snapshot; `None` keeps the
    /// runtime's own list.
    pub pre_import: Option<Vec<String>>,
}

layered! {
    /// The settings of `sandrun serve` as one source gives them, each
    /// unset until given: its flags and variables, or its config file,
    /// which takes every field but `config` under the same name.
    #[derive(Debug, Clone, Default, Args, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ServeArgs {
        /// TOML file with any of the settings below (snake_case names) and the
        /// [limits.default] / [limits.maximum] tables; flags and variables win
        #[arg(long, env = "SANDRUN_CONFIG", value_name = "FILE")]
        #[serde(skip)]
        pub config: Option<PathBuf>,
        /// Address to listen on [default: 127.0.0.1:8080]
        #[arg(long, env = "SANDRUN_BIND", value_name = "ADDR")]
        pub bind: Option<SocketAddr>,
        /// Serve /metrics on this address instead, without API keys [default:
        /// on --bind, behind the API keys]
        #[arg(long, env = "SANDRUN_METRICS_BIND", value_name = "ADDR")]
        pub metrics_bind: Option<SocketAddr>,
        /// Log lines as `text`, or as `json` objects carrying their spans'
        /// fields (a task's id and attempt) [default: text]
        #[arg(long, env = "SANDRUN_LOG_FORMAT", value_enum, value_name = "FORMAT")]
        pub log_format: Option<LogFormat>,
        /// sqlite://PATH or postgres://... [default: SQLite in the data directory]
        #[arg(long, env = "SANDRUN_DATABASE_URL", value_name = "URL")]
        pub database_url: Option<String>,
        /// Accepted API key (repeat, or comma-separate in SANDRUN_API_KEYS)
        #[arg(
            long = "api-key",
            env = "SANDRUN_API_KEYS",
            value_delimiter = ',',
            value_name = "KEY",
            hide_env_values = true
        )]
        #[serde(default)]
        pub api_keys: Vec<String>,
        /// Serve a non-loopback address without API keys, on purpose
        #[arg(long)]
        #[serde(default)]
        pub insecure_no_auth: bool,
        /// Tasks run at once [default: the number of cores]
        #[arg(long, env = "SANDRUN_SLOTS", value_name = "N")]
        pub slots: Option<usize>,
        /// Worker processes running tasks; 0 runs them inside the server [default: slots]
        #[arg(long, env = "SANDRUN_WORKERS", value_name = "N")]
        pub workers: Option<usize>,
        /// Queued tasks beyond which submissions get 429 [default: 100000]
        #[arg(long, env = "SANDRUN_MAX_QUEUE_DEPTH", value_name = "N")]
        pub max_queue_depth: Option<u64>,
        /// Largest JSON request body, in bytes [default: 16777216 (16 MiB)]
        #[arg(long, env = "SANDRUN_MAX_BODY_BYTES", value_name = "BYTES")]
        pub max_body_bytes: Option<usize>,
        /// Largest module upload, in bytes [default: 67108864 (64 MiB)]
        #[arg(long, env = "SANDRUN_MAX_MODULE_BYTES", value_name = "BYTES")]
        pub max_module_bytes: Option<usize>,
        /// Longest `?wait=` a request may ask for [default: 60s]
        #[arg(long, env = "SANDRUN_MAX_WAIT", value_name = "DURATION")]
        #[serde(default, deserialize_with = "from_text")]
        pub max_wait: Option<humantime::Duration>,
        /// Connections open at once; one more is closed as soon as accepted [default: 4096]
        #[arg(long, env = "SANDRUN_MAX_CONNECTIONS", value_name = "N")]
        pub max_connections: Option<usize>,
        /// Longest a client may take to send a request's headers; also how long
        /// an idle keep-alive connection stays open [default: 10s]
        #[arg(long, env = "SANDRUN_HEADER_READ_TIMEOUT", value_name = "DURATION")]
        #[serde(default, deserialize_with = "from_text")]
        pub header_read_timeout: Option<humantime::Duration>,
        /// Longest a request body may pause between two reads; past it, 408 [default: 30s]
        #[arg(long, env = "SANDRUN_BODY_READ_TIMEOUT", value_name = "DURATION")]
        #[serde(default, deserialize_with = "from_text")]
        pub body_read_timeout: Option<humantime::Duration>,
        /// Requests waiting (`?wait=`) at once; one more gets 429 [default: 1024]
        #[arg(long, env = "SANDRUN_MAX_WAITS", value_name = "N")]
        pub max_waits: Option<usize>,
        /// Event streams open at once; one more gets 429 [default: 1024]
        #[arg(long, env = "SANDRUN_MAX_EVENT_STREAMS", value_name = "N")]
        pub max_event_streams: Option<usize>,
        /// Event streams open at once on one task; one more gets 429 [default: 16]
        #[arg(long, env = "SANDRUN_MAX_EVENT_STREAMS_PER_TASK", value_name = "N")]
        pub max_event_streams_per_task: Option<usize>,
        /// Runs a task gets when it does not ask for a number [default: 3]
        #[arg(long, env = "SANDRUN_DEFAULT_MAX_ATTEMPTS", value_name = "N")]
        pub default_max_attempts: Option<u32>,
        /// How long ended tasks are kept [default: 7d]
        #[arg(long, env = "SANDRUN_RETENTION", value_name = "DURATION")]
        #[serde(default, deserialize_with = "from_text")]
        pub retention: Option<humantime::Duration>,
        /// How long running tasks may finish at shutdown [default: 30s]
        #[arg(long, env = "SANDRUN_GRACE", value_name = "DURATION")]
        #[serde(default, deserialize_with = "from_text")]
        pub grace: Option<humantime::Duration>,
        /// How long a claim lasts unrenewed; a dead node's tasks rerun after it [default: 15s]
        #[arg(long, env = "SANDRUN_LEASE", value_name = "DURATION")]
        #[serde(default, deserialize_with = "from_text")]
        pub lease: Option<humantime::Duration>,
        /// Postgres connections this node opens at most [default: slots + 6]
        #[arg(long, env = "SANDRUN_DB_CONNECTIONS", value_name = "N")]
        pub db_connections: Option<u32>,
        /// Postgres: poll only, no LISTEN (behind a transaction-mode pooler)
        #[arg(long, env = "SANDRUN_POLL_ONLY")]
        #[serde(default)]
        pub poll_only: bool,
        /// Python modules imported once into the runtime's snapshot, so tasks
        /// start with them loaded; "" for none [default: numpy,pandas]
        #[arg(
            long = "pre-import",
            env = "SANDRUN_PRE_IMPORT",
            value_delimiter = ',',
            value_name = "MODULES"
        )]
        pub pre_import: Option<Vec<String>>,
        /// Sessions open at once; one more gets 429 [default: 1000]
        #[arg(long, env = "SANDRUN_MAX_SESSIONS", value_name = "N")]
        pub max_sessions: Option<u64>,
        /// Longest idle timeout a session may ask for [default: 7d]
        #[arg(long, env = "SANDRUN_MAX_SESSION_IDLE", value_name = "DURATION")]
        #[serde(default, deserialize_with = "from_text")]
        pub max_session_idle: Option<humantime::Duration>,
        /// Longest lifetime (ttl) a session may ask for [default: 30d]
        #[arg(long, env = "SANDRUN_MAX_SESSION_TTL", value_name = "DURATION")]
        #[serde(default, deserialize_with = "from_text")]
        pub max_session_ttl: Option<humantime::Duration>,
        /// Most stored state a session may ask to keep, in bytes; also caps the
        /// default of 256 MiB [default: 1073741824 (1 GiB)]
        #[arg(long, env = "SANDRUN_MAX_SESSION_STATE_BYTES", value_name = "BYTES")]
        pub max_session_state_bytes: Option<u64>,
        /// Sessions this node keeps live in memory between runs, so that their
        /// next run starts at once; 0 resumes every run from its stored state
        /// [default: 16]
        #[arg(long, env = "SANDRUN_LIVE_SESSIONS", value_name = "N")]
        pub live_sessions: Option<usize>,
        /// How long a live session stays in memory unused before it is dropped
        /// (its next run resumes from its stored state) [default: 2m]
        #[arg(long, env = "SANDRUN_LIVE_SESSION_IDLE", value_name = "DURATION")]
        #[serde(default, deserialize_with = "from_text")]
        pub live_session_idle: Option<humantime::Duration>,
        /// The `[limits.default]` and `[limits.maximum]` tables. File only:
        /// twelve flags for them would crowd `--help`, and a limit is set
        /// once per deployment, not per start. A table replaces the other
        /// layer's whole.
        #[arg(skip)]
        pub limits: Option<LimitTables>,
    }
}

/// The task limits a server applies by default and allows at most, over
/// the built-in ones; a field left out keeps the built-in value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitTables {
    #[serde(default)]
    pub default: Limits,
    #[serde(default)]
    pub maximum: Limits,
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // The cause is in the message, not a `source`: printed with its
    // chain (`{:#}`), it would be said twice.
    #[error("cannot read config file {}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("config file {}: {error}", path.display())]
    Parse {
        path: PathBuf,
        error: Box<toml::de::Error>,
    },
    #[error("{field}: {detail}")]
    Invalid { field: &'static str, detail: String },
}

fn invalid(field: &'static str, detail: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field,
        detail: detail.into(),
    }
}

impl Settings {
    /// The settings that `args` give, over those of the file it names.
    pub fn load(args: &ServeArgs, home: &Home) -> Result<Settings, ConfigError> {
        let given = match &args.config {
            Some(path) => args.clone().or(read_file(path)?),
            None => args.clone(),
        };
        Settings::check(given, home)
    }

    /// The built-in defaults where `given` says nothing, and every value
    /// checked.
    fn check(given: ServeArgs, home: &Home) -> Result<Settings, ConfigError> {
        let sessions = session_policy(&given)?;
        let bind = given
            .bind
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let mut database = match &given.database_url {
            Some(url) => parse_database_url(url)?,
            None => Database::Sqlite(home.root().join("sandrun.db")),
        };
        let api_keys = given.api_keys;
        if api_keys.iter().any(|k| k.trim().is_empty()) {
            return Err(invalid("api_keys", "an API key is empty"));
        }
        if !bind.ip().is_loopback() && api_keys.is_empty() && !given.insecure_no_auth {
            return Err(invalid(
                "bind",
                format!(
                    "{bind} is reachable from other machines: give --api-key (or SANDRUN_API_KEYS), or --insecure-no-auth to serve it open on purpose"
                ),
            ));
        }
        if given.metrics_bind == Some(bind) && bind.port() != 0 {
            return Err(invalid(
                "metrics_bind",
                format!(
                    "{bind} is --bind's own address; give another, or leave it out to serve /metrics there"
                ),
            ));
        }
        let slots = given
            .slots
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        if slots == 0 {
            return Err(invalid("slots", "must be at least 1"));
        }
        let pre_import = pre_import(given.pre_import)?;
        let live = LiveSessions {
            capacity: given.live_sessions.unwrap_or(16),
            idle: nonzero(
                "live_session_idle",
                given.live_session_idle,
                Duration::from_secs(120),
            )?,
        };
        let workers = match given.workers.unwrap_or(slots) {
            0 => None,
            count => Some(WorkerSpawn {
                program: std::env::current_exe().map_err(|e| {
                    invalid("workers", format!("cannot find the sandrun binary: {e}"))
                })?,
                home: home.root().to_owned(),
                count,
                pre_import: pre_import.clone(),
                log_format: given.log_format.unwrap_or_default(),
                // Each worker keeps its share; a session's runs go back to
                // the worker that holds it.
                live: LiveSessions {
                    capacity: live.capacity.div_ceil(count),
                    ..live
                },
            }),
        };
        if let Database::Postgres(options) = &mut database {
            // A connection per running task's writes, plus the API, the
            // scheduler's loops and the listener.
            options.max_connections = given.db_connections.unwrap_or(slots as u32 + 6);
            if options.max_connections < 2 {
                return Err(invalid("db_connections", "must be at least 2"));
            }
            options.poll_only = given.poll_only;
        }
        let lease = given.lease.map_or(Duration::from_secs(15), Into::into);
        if lease < Duration::from_secs(1) {
            return Err(invalid("lease", "must be at least 1s"));
        }
        let limits = policy(&given.limits.unwrap_or_default())?;
        let api = ApiLimits {
            max_body_bytes: given.max_body_bytes.unwrap_or(16 << 20),
            max_module_bytes: given.max_module_bytes.unwrap_or(64 << 20),
            max_wait: given.max_wait.map_or(Duration::from_secs(60), Into::into),
            max_queue_depth: given.max_queue_depth.unwrap_or(100_000),
            default_max_attempts: given.default_max_attempts.unwrap_or(3),
            max_waits: at_least_one("max_waits", given.max_waits, 1024)?,
            max_event_streams: at_least_one("max_event_streams", given.max_event_streams, 1024)?,
            max_event_streams_per_task: at_least_one(
                "max_event_streams_per_task",
                given.max_event_streams_per_task,
                16,
            )?,
        };
        if !(1..=crate::task_request::MAX_ATTEMPTS).contains(&api.default_max_attempts) {
            return Err(invalid(
                "default_max_attempts",
                format!("must be from 1 to {}", crate::task_request::MAX_ATTEMPTS),
            ));
        }
        let connections = ConnectionLimits {
            max_connections: at_least_one("max_connections", given.max_connections, 4096)?,
            header_read_timeout: nonzero(
                "header_read_timeout",
                given.header_read_timeout,
                Duration::from_secs(10),
            )?,
            body_read_timeout: nonzero(
                "body_read_timeout",
                given.body_read_timeout,
                Duration::from_secs(30),
            )?,
        };
        Ok(Settings {
            bind,
            metrics_bind: given.metrics_bind,
            log_format: given.log_format.unwrap_or_default(),
            database,
            api_keys,
            slots,
            workers,
            lease,
            grace: given.grace.map_or(Duration::from_secs(30), Into::into),
            retention: given
                .retention
                .map_or(Duration::from_secs(7 * 86400), Into::into),
            api,
            connections,
            limits,
            sessions,
            live,
            pre_import,
        })
    }
}

/// What sessions may ask for, from the settings that bound it.
fn session_policy(given: &ServeArgs) -> Result<SessionPolicy, ConfigError> {
    let built_in = SessionPolicy::default();
    // Durations are kept in whole seconds, as sessions give them.
    let seconds = |field, given: Option<humantime::Duration>, default: Duration| {
        let d = nonzero(field, given, default)?;
        if d < Duration::from_secs(1) {
            return Err(invalid(field, "must be at least 1s"));
        }
        Ok(Duration::from_secs(d.as_secs()))
    };
    let max_idle_timeout = seconds(
        "max_session_idle",
        given.max_session_idle,
        built_in.max_idle_timeout,
    )?;
    let max_ttl = seconds("max_session_ttl", given.max_session_ttl, built_in.max_ttl)?;
    let max_state_bytes = given
        .max_session_state_bytes
        .unwrap_or(built_in.max_state_bytes);
    if max_state_bytes == 0 {
        return Err(invalid("max_session_state_bytes", "must be at least 1"));
    }
    Ok(SessionPolicy {
        max_sessions: given.max_sessions.unwrap_or(built_in.max_sessions),
        default_idle_timeout: built_in.default_idle_timeout.min(max_idle_timeout),
        max_idle_timeout,
        default_ttl: built_in.default_ttl.min(max_ttl),
        max_ttl,
        default_max_state_bytes: built_in.default_max_state_bytes.min(max_state_bytes),
        max_state_bytes,
    })
}

/// A count that must be at least one, or its default.
fn at_least_one(
    field: &'static str,
    given: Option<usize>,
    default: usize,
) -> Result<usize, ConfigError> {
    match given.unwrap_or(default) {
        0 => Err(invalid(field, "must be at least 1")),
        n => Ok(n),
    }
}

/// A duration that must not be zero, or its default.
fn nonzero(
    field: &'static str,
    given: Option<humantime::Duration>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match given.map_or(default, Into::into) {
        Duration::ZERO => Err(invalid(field, "must be longer than 0s")),
        d => Ok(d),
    }
}

/// The pre-import list as given, empty names dropped (so `""` means none),
/// each a dotted Python module name.
fn pre_import(given: Option<Vec<String>>) -> Result<Option<Vec<String>>, ConfigError> {
    let Some(given) = given else { return Ok(None) };
    let modules: Vec<String> = given
        .iter()
        .map(|m| m.trim())
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect();
    let is_identifier = |part: &str| {
        let mut chars = part.chars();
        chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && chars.all(|c| c.is_alphanumeric() || c == '_')
    };
    if let Some(bad) = modules.iter().find(|m| !m.split('.').all(is_identifier)) {
        return Err(invalid(
            "pre_import",
            format!("`{bad}` is not a Python module name"),
        ));
    }
    Ok(Some(modules))
}

fn read_file(path: &Path) -> Result<ServeArgs, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
        path: path.to_owned(),
        error,
    })?;
    toml::from_str(&text).map_err(|error| ConfigError::Parse {
        path: path.to_owned(),
        error: Box::new(error),
    })
}

pub fn parse_database_url(url: &str) -> Result<Database, ConfigError> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        if path.is_empty() {
            return Err(invalid("database_url", "sqlite:// needs a file path"));
        }
        return Ok(Database::Sqlite(PathBuf::from(path)));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Database::Postgres(PostgresOptions {
            url: url.to_owned(),
            max_connections: 10,
            poll_only: false,
        }));
    }
    Err(invalid(
        "database_url",
        format!("`{url}`: expected sqlite://PATH or postgres://..."),
    ))
}

/// The file's limits laid over the built-in defaults and maxima.
fn policy(file: &LimitTables) -> Result<LimitPolicy, ConfigError> {
    let builtin = LimitPolicy::default();
    let over = |base: AppliedLimits, l: &Limits| AppliedLimits {
        fuel: l.fuel.unwrap_or(base.fuel),
        memory_bytes: l.memory_bytes.unwrap_or(base.memory_bytes),
        timeout_ms: l.timeout_ms.unwrap_or(base.timeout_ms),
        stdout_bytes: l.stdout_bytes.unwrap_or(base.stdout_bytes),
        stderr_bytes: l.stderr_bytes.unwrap_or(base.stderr_bytes),
        open_files: l.open_files.unwrap_or(base.open_files),
        host_calls: l.host_calls.unwrap_or(base.host_calls),
        host_call_bytes: l.host_call_bytes.unwrap_or(base.host_call_bytes),
        disk_bytes: l.disk_bytes.unwrap_or(base.disk_bytes),
        results: l.results.unwrap_or(base.results),
        result_bytes: l.result_bytes.unwrap_or(base.result_bytes),
        artifacts: l.artifacts.unwrap_or(base.artifacts),
        artifact_bytes: l.artifact_bytes.unwrap_or(base.artifact_bytes),
    };
    let maximum = over(builtin.maximum, &file.maximum);
    let defaults = over(builtin.defaults, &file.default);
    let policy = LimitPolicy { defaults, maximum };
    // Each default must itself be allowed.
    LimitPolicy {
        defaults: maximum,
        maximum,
    }
    .resolve(&Limits {
        fuel: Some(defaults.fuel),
        memory_bytes: Some(defaults.memory_bytes),
        timeout_ms: Some(defaults.timeout_ms),
        stdout_bytes: Some(defaults.stdout_bytes),
        stderr_bytes: Some(defaults.stderr_bytes),
        open_files: Some(defaults.open_files),
        host_calls: Some(defaults.host_calls),
        host_call_bytes: Some(defaults.host_call_bytes),
        disk_bytes: Some(defaults.disk_bytes),
        results: Some(defaults.results),
        result_bytes: Some(defaults.result_bytes),
        artifacts: Some(defaults.artifacts),
        artifact_bytes: Some(defaults.artifact_bytes),
    })
    .map_err(|e| invalid("limits.default", e.to_string()))?;
    if maximum.memory_bytes > 4 << 30 {
        return Err(invalid(
            "limits.maximum.memory_bytes",
            "wasm32 memory cannot exceed 4 GiB",
        ));
    }
    Ok(policy)
}
