//! The messages between the server and a worker process, framed by
//! [`frame`] on the worker's stdin and stdout. Both sides build on this
//! module and on nothing of each other, so both ends of the pipe write and
//! read the very same types.
//!
//! postcard keeps module bytes, stdin and files as raw bytes instead of
//! JSON arrays of numbers; `serde_bytes` has the large ones (modules,
//! stdin, output, session states, artifacts) copied whole rather than byte
//! by byte.
//! The API types that lean on JSON (optional fields skipped, arbitrary
//! values) ride inside as JSON text, see [`Json`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sandrun_api::{AppliedLimits, Limits, LogLine, TaskResult};
use serde::de::{DeserializeOwned, Error as _};
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

pub mod frame;

use super::run_error::RunError;
use crate::sandbox::{
    HostCalls, LimitPolicy, LiveSessions, NewState, Ran, SessionInput, Source, StoredState, Stream,
    Task, WasmModule,
};

/// Which task a message is about, so that a late message of an ended task
/// is recognised and dropped.
pub type JobId = u64;

/// The server's answer to a job's key-value request, with the job it is for.
pub type KvReply = (JobId, Result<KvAnswer, String>);

/// Server to worker.
#[derive(Debug, Serialize, Deserialize)]
pub enum ToWorker {
    /// The first message: the limits the worker's sandbox enforces, the
    /// Python snapshot's pre-import list (`None`: the runtime's own), and
    /// the sessions it keeps live.
    Start {
        defaults: Json<AppliedLimits>,
        maximum: Json<AppliedLimits>,
        pre_import: Option<Vec<String>>,
        live_sessions: u64,
        live_idle_ms: u64,
    },
    Run {
        job: JobId,
        task: WireTask,
    },
    Cancel {
        job: JobId,
    },
    Kv {
        job: JobId,
        reply: Result<KvAnswer, String>,
    },
}

/// Worker to server.
#[derive(Debug, Serialize, Deserialize)]
pub enum FromWorker {
    /// The sandbox is loaded; jobs may come.
    Ready,
    /// The sandbox could not be loaded; the worker exits.
    Failed {
        message: String,
    },
    Output {
        job: JobId,
        stream: WireStream,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    Log {
        job: JobId,
        line: Json<LogLine>,
    },
    Progress {
        job: JobId,
        value: f64,
    },
    Kv {
        job: JobId,
        request: KvRequest,
    },
    Done {
        job: JobId,
        outcome: Result<WireResult, RunError>,
    },
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub enum WireStream {
    Stdout,
    Stderr,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum KvRequest {
    Get {
        namespace: String,
        key: String,
    },
    Put {
        namespace: String,
        key: String,
        value: Json<Value>,
    },
    Delete {
        namespace: String,
        key: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
pub enum KvAnswer {
    Got(Option<Json<Value>>),
    Put,
    Deleted(bool),
}

#[derive(Debug, Serialize, Deserialize)]
pub enum WireSource {
    Python {
        code: String,
    },
    /// A module's bytes travel to a worker once; later tasks name it.
    Wasm {
        hash: String,
        #[serde(with = "serde_bytes")]
        bytes: Option<Vec<u8>>,
    },
}

/// A [`Task`] on the wire.
#[derive(Debug, Serialize, Deserialize)]
pub struct WireTask {
    source: WireSource,
    #[serde(with = "serde_bytes")]
    stdin: Vec<u8>,
    args: Vec<String>,
    env: BTreeMap<String, String>,
    files: BTreeMap<String, Vec<u8>>,
    limits: Json<Limits>,
    input: Option<Json<Value>>,
    kv_namespace: Option<String>,
    session: Option<WireSession>,
}

/// A session run's [`SessionInput`] on the wire.
#[derive(Debug, Serialize, Deserialize)]
pub struct WireSession {
    id: String,
    state: Option<WireState>,
    max_state_bytes: u64,
}

/// A [`StoredState`] on the wire: no bytes when the run is sent to the
/// worker holding that state live.
#[derive(Debug, Serialize, Deserialize)]
pub struct WireState {
    token: String,
    #[serde(with = "serde_bytes")]
    bytes: Option<Vec<u8>>,
}

/// A run's [`NewState`] on the wire.
#[derive(Debug, Serialize, Deserialize)]
pub struct WireNewState {
    token: String,
    #[serde(with = "serde_bytes")]
    bytes: Vec<u8>,
}

/// A [`Ran`] on the wire. Its output travels as bytes: in JSON it would be
/// text with invalid UTF-8 replaced.
#[derive(Debug, Serialize, Deserialize)]
pub struct WireResult {
    result: Json<TaskResult>,
    #[serde(with = "serde_bytes")]
    stdout: Vec<u8>,
    #[serde(with = "serde_bytes")]
    stderr: Vec<u8>,
    state: Option<WireNewState>,
    artifacts: Vec<serde_bytes::ByteBuf>,
    host_calls: HostCalls,
}

/// A value carried as its JSON text.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: Serialize> Serialize for Json<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = serde_json::to_string(&self.0).map_err(S::Error::custom)?;
        serializer.serialize_str(&text)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Json<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        serde_json::from_str(&text)
            .map(Json)
            .map_err(D::Error::custom)
    }
}

impl ToWorker {
    pub fn start(
        policy: &LimitPolicy,
        pre_import: Option<Vec<String>>,
        live: LiveSessions,
    ) -> Self {
        ToWorker::Start {
            defaults: Json(policy.defaults),
            maximum: Json(policy.maximum),
            pre_import,
            live_sessions: live.capacity as u64,
            live_idle_ms: u64::try_from(live.idle.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// The [`LiveSessions`] a `Start` message carries.
    pub fn live_sessions(capacity: u64, idle_ms: u64) -> LiveSessions {
        LiveSessions {
            capacity: usize::try_from(capacity).unwrap_or(usize::MAX),
            idle: std::time::Duration::from_millis(idle_ms),
        }
    }
}

impl WireTask {
    /// `task` on the wire; a wasm module's bytes only if `send_module`.
    pub fn new(task: &Task, send_module: bool) -> Self {
        WireTask {
            source: match &task.source {
                Source::Python { code } => WireSource::Python { code: code.clone() },
                Source::Wasm { module } => WireSource::Wasm {
                    hash: module.hash.clone(),
                    bytes: send_module.then(|| module.bytes.to_vec()),
                },
            },
            stdin: task.stdin.clone(),
            args: task.args.clone(),
            env: task.env.clone(),
            files: task.files.clone(),
            limits: Json(task.limits),
            input: task.input.clone().map(Json),
            kv_namespace: task.kv_namespace.clone(),
            session: task.session.as_ref().map(|s| WireSession {
                id: s.id.clone(),
                state: s.state.as_ref().map(|state| WireState {
                    token: state.token.clone(),
                    bytes: state.bytes.as_deref().map(<[u8]>::to_vec),
                }),
                max_state_bytes: s.max_state_bytes,
            }),
        }
    }

    /// The task, its module's bytes taken from `modules` when they did not
    /// travel with it (and kept there when they did). `Err` names a module
    /// this worker was never sent.
    pub fn into_task(self, modules: &mut HashMap<String, Arc<[u8]>>) -> Result<Task, String> {
        let source = match self.source {
            WireSource::Python { code } => Source::Python { code },
            WireSource::Wasm { hash, bytes } => {
                let bytes = match bytes {
                    Some(bytes) => {
                        let bytes: Arc<[u8]> = bytes.into();
                        modules.insert(hash.clone(), bytes.clone());
                        bytes
                    }
                    None => modules
                        .get(&hash)
                        .cloned()
                        .ok_or_else(|| format!("the worker was never sent module {hash}"))?,
                };
                Source::Wasm {
                    module: WasmModule::with_hash(hash, bytes),
                }
            }
        };
        Ok(Task {
            source,
            stdin: self.stdin,
            args: self.args,
            env: self.env,
            files: self.files,
            limits: self.limits.0,
            input: self.input.map(|j| j.0),
            kv_namespace: self.kv_namespace,
            session: self.session.map(|s| SessionInput {
                id: s.id,
                state: s.state.map(|state| StoredState {
                    token: state.token,
                    bytes: state.bytes.map(Into::into),
                }),
                max_state_bytes: s.max_state_bytes,
            }),
        })
    }
}

impl From<Ran> for WireResult {
    fn from(ran: Ran) -> Self {
        let Ran {
            mut result,
            state,
            artifacts,
            host_calls,
        } = ran;
        let stdout = std::mem::take(&mut result.stdout.0);
        let stderr = std::mem::take(&mut result.stderr.0);
        WireResult {
            result: Json(result),
            stdout,
            stderr,
            state: state.map(|state| WireNewState {
                token: state.token,
                bytes: state.bytes,
            }),
            artifacts: artifacts
                .into_iter()
                .map(serde_bytes::ByteBuf::from)
                .collect(),
            host_calls,
        }
    }
}

impl From<WireResult> for Ran {
    fn from(wire: WireResult) -> Self {
        let mut result = wire.result.0;
        result.stdout.0 = wire.stdout;
        result.stderr.0 = wire.stderr;
        Ran {
            result,
            state: wire.state.map(|state| NewState {
                token: state.token,
                bytes: state.bytes,
            }),
            artifacts: wire
                .artifacts
                .into_iter()
                .map(serde_bytes::ByteBuf::into_vec)
                .collect(),
            host_calls: wire.host_calls,
        }
    }
}

impl From<Stream> for WireStream {
    fn from(stream: Stream) -> Self {
        match stream {
            Stream::Stdout => WireStream::Stdout,
            Stream::Stderr => WireStream::Stderr,
        }
    }
}

impl From<WireStream> for Stream {
    fn from(stream: WireStream) -> Self {
        match stream {
            WireStream::Stdout => Stream::Stdout,
            WireStream::Stderr => Stream::Stderr,
        }
    }
}
