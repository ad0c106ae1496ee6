//! The server's settings: flags, `SANDRUN_*` environment variables and an
//! optional TOML file, in that order of precedence, checked at start so a
//! mistake stops the server with a clear message instead of surprising it
//! later.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use sandrun_api::{AppliedLimits, Limits};
use serde::Deserialize;

use crate::home::Home;
use crate::sandbox::LimitPolicy;
use crate::server::ApiLimits;
use crate::storage::PostgresOptions;
use crate::worker::WorkerSpawn;

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
    pub limits: LimitPolicy,
    /// Python modules imported in the runtime's snapshot; `None` keeps the
    /// runtime's own list.
    pub pre_import: Option<Vec<String>>,
}

/// Flags of `sandrun serve`; each can also come from the environment or
/// the config file.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// TOML file with any of the settings below (flags and variables win)
    #[arg(long, env = "SANDRUN_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "SANDRUN_BIND", value_name = "ADDR")]
    pub bind: Option<SocketAddr>,
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
    pub api_keys: Vec<String>,
    /// Serve a non-loopback address without API keys, on purpose
    #[arg(long)]
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
    /// How long ended tasks are kept [default: 7d]
    #[arg(long, env = "SANDRUN_RETENTION", value_name = "DURATION")]
    pub retention: Option<humantime::Duration>,
    /// How long running tasks may finish at shutdown [default: 30s]
    #[arg(long, env = "SANDRUN_GRACE", value_name = "DURATION")]
    pub grace: Option<humantime::Duration>,
    /// How long a claim lasts unrenewed; a dead node's tasks rerun after it [default: 15s]
    #[arg(long, env = "SANDRUN_LEASE", value_name = "DURATION")]
    pub lease: Option<humantime::Duration>,
    /// Postgres connections this node opens at most [default: slots + 6]
    #[arg(long, env = "SANDRUN_DB_CONNECTIONS", value_name = "N")]
    pub db_connections: Option<u32>,
    /// Postgres: poll only, no LISTEN (behind a transaction-mode pooler)
    #[arg(long, env = "SANDRUN_POLL_ONLY")]
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
}

/// The config file. Every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind: Option<SocketAddr>,
    database_url: Option<String>,
    #[serde(default)]
    api_keys: Vec<String>,
    #[serde(default)]
    insecure_no_auth: bool,
    slots: Option<usize>,
    workers: Option<usize>,
    max_queue_depth: Option<u64>,
    retention: Option<String>,
    grace: Option<String>,
    lease: Option<String>,
    db_connections: Option<u32>,
    #[serde(default)]
    poll_only: bool,
    pre_import: Option<Vec<String>>,
    max_body_bytes: Option<usize>,
    max_module_bytes: Option<usize>,
    max_wait: Option<String>,
    default_max_attempts: Option<u32>,
    #[serde(default)]
    limits: FileLimits,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    #[serde(default)]
    default: Limits,
    #[serde(default)]
    maximum: Limits,
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {}: {source}", path.display())]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
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

fn duration(
    field: &'static str,
    flag: Option<humantime::Duration>,
    file: &Option<String>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match (flag, file) {
        (Some(d), _) => Ok(d.into()),
        (None, Some(text)) => {
            humantime::parse_duration(text).map_err(|e| invalid(field, format!("`{text}`: {e}")))
        }
        (None, None) => Ok(default),
    }
}

impl Settings {
    pub fn load(args: &ServeArgs, home: &Home) -> Result<Settings, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let bind = args
            .bind
            .or(file.bind)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let mut database = match args.database_url.as_ref().or(file.database_url.as_ref()) {
            Some(url) => parse_database_url(url)?,
            None => Database::Sqlite(home.root().join("sandrun.db")),
        };
        let api_keys: Vec<String> = if args.api_keys.is_empty() {
            file.api_keys
        } else {
            args.api_keys.clone()
        };
        if api_keys.iter().any(|k| k.trim().is_empty()) {
            return Err(invalid("api_keys", "an API key is empty"));
        }
        let insecure = args.insecure_no_auth || file.insecure_no_auth;
        if !bind.ip().is_loopback() && api_keys.is_empty() && !insecure {
            return Err(invalid(
                "bind",
                format!(
                    "{bind} is reachable from other machines: give --api-key (or SANDRUN_API_KEYS), or --insecure-no-auth to serve it open on purpose"
                ),
            ));
        }
        let slots = args
            .slots
            .or(file.slots)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        if slots == 0 {
            return Err(invalid("slots", "must be at least 1"));
        }
        let pre_import = pre_import(args.pre_import.as_ref().or(file.pre_import.as_ref()))?;
        let workers = match args.workers.or(file.workers).unwrap_or(slots) {
            0 => None,
            count => Some(WorkerSpawn {
                program: std::env::current_exe().map_err(|e| {
                    invalid("workers", format!("cannot find the sandrun binary: {e}"))
                })?,
                home: home.root().to_owned(),
                count,
                pre_import: pre_import.clone(),
            }),
        };
        if let Database::Postgres(options) = &mut database {
            // A connection per running task's writes, plus the API, the
            // scheduler's loops and the listener.
            options.max_connections = args
                .db_connections
                .or(file.db_connections)
                .unwrap_or(slots as u32 + 6);
            if options.max_connections < 2 {
                return Err(invalid("db_connections", "must be at least 2"));
            }
            options.poll_only = args.poll_only || file.poll_only;
        }
        let lease = duration("lease", args.lease, &file.lease, Duration::from_secs(15))?;
        if lease < Duration::from_secs(1) {
            return Err(invalid("lease", "must be at least 1s"));
        }
        let limits = policy(&file.limits)?;
        let api = ApiLimits {
            max_body_bytes: file.max_body_bytes.unwrap_or(16 << 20),
            max_module_bytes: file.max_module_bytes.unwrap_or(64 << 20),
            max_wait: duration("max_wait", None, &file.max_wait, Duration::from_secs(60))?,
            max_queue_depth: args
                .max_queue_depth
                .or(file.max_queue_depth)
                .unwrap_or(100_000),
            default_max_attempts: file.default_max_attempts.unwrap_or(3),
        };
        if !(1..=crate::task_request::MAX_ATTEMPTS).contains(&api.default_max_attempts) {
            return Err(invalid(
                "default_max_attempts",
                format!("must be from 1 to {}", crate::task_request::MAX_ATTEMPTS),
            ));
        }
        Ok(Settings {
            bind,
            database,
            api_keys,
            slots,
            workers,
            lease,
            grace: duration("grace", args.grace, &file.grace, Duration::from_secs(30))?,
            retention: duration(
                "retention",
                args.retention,
                &file.retention,
                Duration::from_secs(7 * 86400),
            )?,
            api,
            limits,
            pre_import,
        })
    }
}

/// The pre-import list as given, empty names dropped (so `""` means none),
/// each a dotted Python module name.
fn pre_import(given: Option<&Vec<String>>) -> Result<Option<Vec<String>>, ConfigError> {
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

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_owned(),
        source: Box::new(source),
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
fn policy(file: &FileLimits) -> Result<LimitPolicy, ConfigError> {
    let builtin = LimitPolicy::default();
    let over = |base: AppliedLimits, l: &Limits| AppliedLimits {
        fuel: l.fuel.unwrap_or(base.fuel),
        memory_bytes: l.memory_bytes.unwrap_or(base.memory_bytes),
        timeout_ms: l.timeout_ms.unwrap_or(base.timeout_ms),
        stdout_bytes: l.stdout_bytes.unwrap_or(base.stdout_bytes),
        stderr_bytes: l.stderr_bytes.unwrap_or(base.stderr_bytes),
        open_files: l.open_files.unwrap_or(base.open_files),
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
