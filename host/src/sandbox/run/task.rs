use std::collections::BTreeMap;
use std::sync::Arc;

use sandrun_api::{Limits, Runtime};

use crate::sandbox::engine::module_cache::sha256_hex;

/// What a task runs.
#[derive(Debug, Clone)]
pub enum Source {
    /// Python source code, run as `python -c CODE ARGS...`.
    Python { code: String },
    /// A wasm32-wasip1 module: a command (`_start`) or a module exporting
    /// `run() -> i32`.
    Wasm { module: WasmModule },
}

/// A module's bytes and their sha256, which names its compiled form.
#[derive(Debug, Clone)]
pub struct WasmModule {
    pub hash: String,
    pub bytes: Arc<[u8]>,
}

impl WasmModule {
    pub fn new(bytes: impl Into<Arc<[u8]>>) -> Self {
        let bytes = bytes.into();
        WasmModule {
            hash: sha256_hex(&bytes),
            bytes,
        }
    }

    /// `bytes` whose sha256 is already known to be `hash` (an uploaded
    /// module, hashed once when it was stored), so that it is not hashed
    /// again for every task.
    pub fn with_hash(hash: String, bytes: Arc<[u8]>) -> Self {
        WasmModule { hash, bytes }
    }
}

impl Source {
    pub fn runtime(&self) -> Runtime {
        match self {
            Source::Python { .. } => Runtime::Python,
            Source::Wasm { .. } => Runtime::Wasm,
        }
    }
}

/// One unit of work for the sandbox.
#[derive(Debug, Clone)]
pub struct Task {
    pub source: Source,
    pub stdin: Vec<u8>,
    /// Arguments after the program name.
    pub args: Vec<String>,
    /// The guest's whole environment (plus the runtime's own variables).
    pub env: BTreeMap<String, String>,
    /// Files the guest finds read-only under `/input`, by relative path.
    pub files: BTreeMap<String, Vec<u8>>,
    pub limits: Limits,
    /// Structured input the guest reads through the `input` host call.
    pub input: Option<serde_json::Value>,
    /// The key-value namespace the guest's `kv` calls use.
    pub kv_namespace: Option<String>,
    /// Set when the task is a run of a session (Python only).
    pub session: Option<SessionInput>,
}

/// What a session's run starts from, and what its new state may take.
#[derive(Debug, Clone)]
pub struct SessionInput {
    /// The session's id: its live instance, if this process keeps one,
    /// is found by it.
    pub id: String,
    /// The session's stored state; `None` for its first run.
    pub state: Option<StoredState>,
    /// The most the new state may take, stored.
    pub max_state_bytes: u64,
}

/// A session's stored state as a run is given it: the token naming it and,
/// unless the run is meant for the live instance holding it, its bytes.
#[derive(Debug, Clone)]
pub struct StoredState {
    /// Names these very bytes: a run's new state gets a new token.
    pub token: String,
    /// `None`: the run takes the live instance holding `token`; where there
    /// is none it is refused before it starts
    /// ([`TaskError::StateNotHeld`](crate::sandbox::TaskError::StateNotHeld)),
    /// to be given again with the bytes.
    pub bytes: Option<Arc<[u8]>>,
}

impl SessionInput {
    /// Whether only the live instance holding its state can run it.
    pub fn needs_live(&self) -> bool {
        self.state
            .as_ref()
            .is_some_and(|state| state.bytes.is_none())
    }
}

impl Task {
    pub fn new(source: Source) -> Self {
        Task {
            source,
            stdin: Vec::new(),
            args: Vec::new(),
            env: BTreeMap::new(),
            files: BTreeMap::new(),
            limits: Limits::default(),
            input: None,
            kv_namespace: None,
            session: None,
        }
    }

    pub fn python(code: impl Into<String>) -> Self {
        Task::new(Source::Python { code: code.into() })
    }

    pub fn wasm(module: impl Into<Arc<[u8]>>) -> Self {
        Task::new(Source::Wasm {
            module: WasmModule::new(module),
        })
    }
}
