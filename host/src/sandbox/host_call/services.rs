//! What each host call means. Requests and replies are JSON so that any
//! guest language can speak them with the JSON library it already has; the
//! framing that carries them through guest memory lives in `host_call.rs`.
//!
//! Every request is bounded and every refusal is a reply the guest can read,
//! not a fault: a guest that asks for too much learns why and carries on.
//! What one call may make the host hold is bounded by the task's
//! `host_call_bytes` limit, each way: a larger request is refused unread,
//! a larger reply is replaced by its refusal (refusals are a few hundred
//! bytes).
//! The one exception is the number of calls: each costs the host work (a
//! kv call, a database round trip), so the call past the task's limit
//! stops the guest instead of answering it.

use std::collections::BTreeMap;
use std::sync::Arc;

use sandrun_api::{LogLevel, LogLine};
use serde::Deserialize;
use serde_json::{Value, json};

use super::display::Displayed;
use super::hooks::{KvError, KvStore, TaskHooks};
use crate::sandbox::run::stop::{StopReason, Stopped};

/// The largest structured output, as JSON bytes.
pub const MAX_OUTPUT_BYTES: usize = 1 << 20;
/// The longest log message, in bytes.
pub const MAX_LOG_MESSAGE_BYTES: usize = 8 << 10;
/// How many log lines one task may keep.
pub const MAX_LOG_LINES: usize = 1000;
/// The longest kv key, in bytes.
pub const MAX_KV_KEY_BYTES: usize = 256;
/// The largest kv value, as JSON bytes.
pub const MAX_KV_VALUE_BYTES: usize = 64 << 10;

/// The session runner's own call, not offered to guests.
const SESSION_END: &str = "session_end";
/// How a request that names no call is counted in [`HostCalls`].
const INVALID: &str = "invalid";

/// The host calls a run made, by the name they called; requests that named
/// no call are counted as `invalid`.
pub type HostCalls = BTreeMap<String, u64>;

const CALLS: &[&str] = &[
    "input",
    "output",
    "log",
    "progress",
    "kv_get",
    "kv_put",
    "kv_delete",
    "display",
];

/// One host call, as the guest asked for it.
#[derive(Debug, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case", deny_unknown_fields)]
enum Request {
    /// The session runner's report at the end of a run; see `boot.py`.
    SessionEnd {
        status: i32,
        value: Option<String>,
    },
    Input,
    Output {
        value: Value,
    },
    Log {
        level: LogLevel,
        message: String,
    },
    Progress {
        value: f64,
    },
    KvGet {
        key: String,
    },
    KvPut {
        key: String,
        value: Value,
    },
    KvDelete {
        key: String,
    },
    Display {
        data: BTreeMap<String, Value>,
    },
}

/// Why a host call was refused; the guest gets the code and the message.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("the request is {len} bytes; the task's host_call_bytes limit allows {max}")]
    RequestTooLarge { len: usize, max: usize },
    #[error("the reply is {len} bytes; the task's host_call_bytes limit allows {max}")]
    ReplyTooLarge { len: usize, max: usize },
    #[error("the request is not a JSON object with a `call` field: {0}")]
    Malformed(String),
    #[error("unknown host call `{0}`; the host offers {calls}", calls = CALLS.join(", "))]
    UnknownCall(String),
    #[error("bad `{call}` request: {detail}")]
    BadRequest { call: String, detail: String },
    #[error("{what} is {len} bytes; at most {max} are allowed")]
    TooLarge {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("progress must be a number from 0 to 1, not {0}")]
    BadProgress(f64),
    #[error("the task already logged {MAX_LOG_LINES} lines; no more are kept")]
    TooManyLogs,
    #[error("a kv key must be 1 to {MAX_KV_KEY_BYTES} bytes, not {0}")]
    BadKey(usize),
    #[error("no key-value store: {0}")]
    KvUnavailable(&'static str),
    #[error(
        "the run keeps at most {results} results and {} of them; no more are kept",
        bytesize::ByteSize(*bytes).display().iec()
    )]
    ResultsFull { results: u64, bytes: u64 },
    #[error("`session_end` is the session runner's, and this is not a session run")]
    NotASession,
    #[error(transparent)]
    Kv(#[from] KvError),
}

impl CallError {
    /// A stable name for the error, for guests to match on.
    pub fn code(&self) -> &'static str {
        match self {
            CallError::RequestTooLarge { .. }
            | CallError::ReplyTooLarge { .. }
            | CallError::TooLarge { .. } => "too_large",
            CallError::Malformed(_) | CallError::BadRequest { .. } => "bad_request",
            CallError::UnknownCall(_) | CallError::NotASession => "unknown_call",
            CallError::BadProgress(_) | CallError::BadKey(_) => "invalid",
            CallError::TooManyLogs | CallError::ResultsFull { .. } => "limit_reached",
            CallError::KvUnavailable(_) => "kv_unavailable",
            CallError::Kv(_) => "kv_failed",
        }
    }
}

/// What host calls keep for one task, and what they read.
pub struct Services {
    hooks: Arc<dyn TaskHooks>,
    input: Value,
    kv_namespace: Option<String>,
    /// Calls the guest may still make.
    calls_left: u64,
    /// Bytes one request or reply may hold.
    max_call_bytes: usize,
    pub output: Option<Value>,
    pub logs: Vec<LogLine>,
    pub progress: Option<f64>,
    pub displayed: Displayed,
    /// Whether this is a session run, whose runner reports its end.
    session: bool,
    pub session_end: Option<SessionEnd>,
    pub calls: HostCalls,
}

/// How a session run's code ended, as its runner reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEnd {
    /// The exit status: 0, 1 for an exception, or a `SystemExit`'s code.
    pub status: i32,
    /// The trailing expression's `repr`.
    pub value: Option<String>,
}

impl Services {
    pub fn new(
        hooks: Arc<dyn TaskHooks>,
        input: Option<Value>,
        kv_namespace: Option<String>,
        max_calls: u64,
        max_call_bytes: u64,
    ) -> Self {
        Services {
            hooks,
            input: input.unwrap_or(Value::Null),
            kv_namespace,
            calls_left: max_calls,
            max_call_bytes: usize::try_from(max_call_bytes).unwrap_or(usize::MAX),
            output: None,
            logs: Vec::new(),
            progress: None,
            displayed: Displayed::default(),
            session: false,
            session_end: None,
            calls: HostCalls::new(),
        }
    }

    /// Take the session runner's `session_end` report.
    pub fn allow_session_end(&mut self) {
        self.session = true;
    }

    /// Count one call, or stop the guest if it has made all it may.
    pub fn count_call(&mut self) -> Result<(), Stopped> {
        self.calls_left = self
            .calls_left
            .checked_sub(1)
            .ok_or(Stopped(StopReason::HostCallsExceeded))?;
        Ok(())
    }

    /// Refuse a request of `len` bytes unread, if it is too large.
    pub fn check_request(&self, len: usize) -> Result<(), Vec<u8>> {
        if len > self.max_call_bytes {
            let max = self.max_call_bytes;
            return Err(reply(Err(CallError::RequestTooLarge { len, max })));
        }
        Ok(())
    }

    /// Answer one request.
    pub fn answer(&mut self, request: &[u8], at_ms: f64) -> Vec<u8> {
        let answer = reply(self.serve(request, at_ms));
        if answer.len() > self.max_call_bytes {
            let (len, max) = (answer.len(), self.max_call_bytes);
            return reply(Err(CallError::ReplyTooLarge { len, max }));
        }
        answer
    }

    fn serve(&mut self, request: &[u8], at_ms: f64) -> Result<Value, CallError> {
        let parsed = parse(request);
        match &parsed {
            Ok((SESSION_END, _)) => {}
            Ok((call, _)) => self.tally(call),
            Err(_) => self.tally(INVALID),
        }
        match parsed?.1 {
            Request::SessionEnd { status, value } => {
                if !self.session {
                    return Err(CallError::NotASession);
                }
                // The runner's call, not the guest's: it is not counted.
                self.calls_left = self.calls_left.saturating_add(1);
                self.session_end = Some(SessionEnd { status, value });
                Ok(Value::Null)
            }
            Request::Input => Ok(self.input.clone()),
            Request::Output { value } => {
                check_size("the output", &value, MAX_OUTPUT_BYTES)?;
                self.output = Some(value);
                Ok(Value::Null)
            }
            Request::Log { level, message } => self.log(level, message, at_ms),
            Request::Progress { value } => {
                if !(0.0..=1.0).contains(&value) {
                    return Err(CallError::BadProgress(value));
                }
                self.progress = Some(value);
                self.hooks.progress(value);
                Ok(Value::Null)
            }
            Request::KvGet { key } => {
                let (store, ns) = self.kv(&key)?;
                Ok(store.get(ns, &key)?.unwrap_or(Value::Null))
            }
            Request::KvPut { key, value } => {
                check_size("the kv value", &value, MAX_KV_VALUE_BYTES)?;
                let (store, ns) = self.kv(&key)?;
                store.put(ns, &key, &value)?;
                Ok(Value::Null)
            }
            Request::KvDelete { key } => {
                let (store, ns) = self.kv(&key)?;
                Ok(Value::Bool(store.delete(ns, &key)?))
            }
            Request::Display { data } => {
                self.displayed.add(data)?;
                Ok(Value::Null)
            }
        }
    }

    fn tally(&mut self, call: &str) {
        match self.calls.get_mut(call) {
            Some(count) => *count += 1,
            None => {
                self.calls.insert(call.to_owned(), 1);
            }
        }
    }

    fn log(&mut self, level: LogLevel, message: String, at_ms: f64) -> Result<Value, CallError> {
        if message.len() > MAX_LOG_MESSAGE_BYTES {
            return Err(CallError::TooLarge {
                what: "the log message",
                len: message.len(),
                max: MAX_LOG_MESSAGE_BYTES,
            });
        }
        if self.logs.len() >= MAX_LOG_LINES {
            return Err(CallError::TooManyLogs);
        }
        let line = LogLine {
            level,
            message,
            at_ms,
        };
        self.hooks.log(&line);
        self.logs.push(line);
        Ok(Value::Null)
    }

    /// The store and namespace for a kv call on `key`.
    fn kv(&self, key: &str) -> Result<(&dyn KvStore, &str), CallError> {
        if key.is_empty() || key.len() > MAX_KV_KEY_BYTES {
            return Err(CallError::BadKey(key.len()));
        }
        let store = self
            .hooks
            .kv()
            .ok_or(CallError::KvUnavailable("this host offers none"))?;
        let namespace = self
            .kv_namespace
            .as_deref()
            .ok_or(CallError::KvUnavailable("the task names no kv namespace"))?;
        Ok((store, namespace))
    }
}

/// A call's result as the guest reads it: `{"ok": value}` or
/// `{"error": {"code": ..., "message": ...}}`.
pub fn reply(result: Result<Value, CallError>) -> Vec<u8> {
    let reply = match result {
        Ok(value) => json!({ "ok": value }),
        Err(e) => json!({ "error": { "code": e.code(), "message": e.to_string() } }),
    };
    serde_json::to_vec(&reply).expect("JSON values serialise")
}

/// The request, and the name of the call it makes.
fn parse(request: &[u8]) -> Result<(&'static str, Request), CallError> {
    let value: Value =
        serde_json::from_slice(request).map_err(|e| CallError::Malformed(e.to_string()))?;
    let call = value
        .get("call")
        .and_then(Value::as_str)
        .ok_or_else(|| CallError::Malformed("no string `call` field".into()))?;
    let Some(&name) = CALLS.iter().chain(&[SESSION_END]).find(|&&c| c == call) else {
        return Err(CallError::UnknownCall(call.to_owned()));
    };
    let request = serde_json::from_value(value).map_err(|e| CallError::BadRequest {
        call: name.to_owned(),
        detail: e.to_string(),
    })?;
    Ok((name, request))
}

fn check_size(what: &'static str, value: &Value, max: usize) -> Result<(), CallError> {
    let len = serde_json::to_vec(value)
        .expect("JSON values serialise")
        .len();
    if len > max {
        return Err(CallError::TooLarge { what, len, max });
    }
    Ok(())
}
