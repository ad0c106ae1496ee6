//! A submitted [`TaskRequest`] turned into a sandbox [`Task`], with every
//! field checked: the server refuses a bad request at submission with the
//! field at fault, so nothing that is queued fails for its shape later.

use std::sync::Arc;

use sandrun_api::{Runtime, TaskRequest};

use crate::sandbox::{Sandbox, Source, Task, TaskError, WasmModule};

/// Most runs a task may be given.
pub const MAX_ATTEMPTS: u32 = 10;
const MAX_LABELS: usize = 32;
const MAX_LABEL_KEY: usize = 64;
const MAX_LABEL_VALUE: usize = 256;
const MAX_IDEMPOTENCY_KEY: usize = 256;
const MAX_NAMESPACE: usize = 128;
/// Tasks one task may wait for.
pub const MAX_DEPENDENCIES: usize = 100;

/// A request field that cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {detail}")]
pub struct RequestError {
    /// The field's path in the request, e.g. `limits.memory_bytes`.
    pub field: String,
    pub detail: String,
}

pub fn bad(field: impl Into<String>, detail: impl Into<String>) -> RequestError {
    RequestError {
        field: field.into(),
        detail: detail.into(),
    }
}

/// Check everything about `request` that does not need the database.
pub fn validate(request: &TaskRequest, sandbox: &Sandbox) -> Result<(), RequestError> {
    // Lengths in characters, as JSON Schema counts them.
    let chars = |s: &str| s.chars().count();
    if let Some(key) = &request.idempotency_key
        && !(1..=MAX_IDEMPOTENCY_KEY).contains(&chars(key))
    {
        return Err(bad(
            "idempotency_key",
            format!("must be 1 to {MAX_IDEMPOTENCY_KEY} characters"),
        ));
    }
    if let Some(n) = request.max_attempts
        && !(1..=MAX_ATTEMPTS).contains(&n)
    {
        return Err(bad(
            "max_attempts",
            format!("must be from 1 to {MAX_ATTEMPTS}"),
        ));
    }
    if let Some(namespace) = &request.kv_namespace
        && !is_name(namespace, MAX_NAMESPACE)
    {
        return Err(bad(
            "kv_namespace",
            format!("1 to {MAX_NAMESPACE} of a-z, A-Z, 0-9, `.`, `_`, `-`"),
        ));
    }
    if request.depends_on.len() > MAX_DEPENDENCIES {
        return Err(bad(
            "depends_on",
            format!("at most {MAX_DEPENDENCIES} tasks"),
        ));
    }
    if request.labels.len() > MAX_LABELS {
        return Err(bad("labels", format!("at most {MAX_LABELS} labels")));
    }
    for (key, value) in &request.labels {
        if !(1..=MAX_LABEL_KEY).contains(&chars(key)) || key.contains('=') {
            return Err(bad(
                format!("labels.{key}"),
                format!("keys are 1 to {MAX_LABEL_KEY} characters without `=`"),
            ));
        }
        if chars(value) > MAX_LABEL_VALUE {
            return Err(bad(
                format!("labels.{key}"),
                format!("values are at most {MAX_LABEL_VALUE} characters"),
            ));
        }
    }
    let task = to_task(request, Arc::from(Vec::new()))?;
    sandbox.check(&task).map_err(|e| match e {
        TaskError::Limit(limit) => bad(format!("limits.{}", limit.field().json), limit.to_string()),
        TaskError::BadInputName { ref name, .. } => bad(format!("files.{name}"), e.to_string()),
        TaskError::BadEnvName(ref name) => bad(format!("env.{name}"), e.to_string()),
        TaskError::NulByte { .. } => bad("request", e.to_string()),
        TaskError::InputTooLarge { .. } => bad("input", e.to_string()),
        other => bad("request", other.to_string()),
    })?;
    Ok(())
}

/// The sandbox task for `request`; `module` holds the wasm module's bytes
/// for `runtime: wasm`.
pub fn to_task(request: &TaskRequest, module: Arc<[u8]>) -> Result<Task, RequestError> {
    let source = match request.runtime {
        Runtime::Python => {
            if request.module.is_some() {
                return Err(bad("module", "python tasks take `code`, not `module`"));
            }
            let code = request
                .code
                .clone()
                .ok_or_else(|| bad("code", "python tasks need `code`"))?;
            Source::Python { code }
        }
        Runtime::Wasm => {
            if request.code.is_some() {
                return Err(bad(
                    "code",
                    "wasm tasks take `module` (an uploaded module), not `code`",
                ));
            }
            if request.module.as_deref().is_none_or(str::is_empty) {
                return Err(bad(
                    "module",
                    "wasm tasks need `module`: a sha256, name@version or name",
                ));
            }
            // Resolved to the sha256 it was uploaded under before a task
            // is stored; a name only while a request is being checked.
            let reference = request.module.clone().unwrap_or_default();
            let module = if is_sha256_hex(&reference) {
                WasmModule::with_hash(reference, module)
            } else {
                WasmModule::new(module)
            };
            Source::Wasm { module }
        }
    };
    let mut task = Task::new(source);
    if let Some(stdin) = &request.stdin {
        task.stdin = stdin.to_bytes().map_err(|e| bad("stdin", e.to_string()))?;
    }
    for (name, blob) in &request.files {
        let bytes = blob
            .to_bytes()
            .map_err(|e| bad(format!("files.{name}"), e.to_string()))?;
        task.files.insert(name.clone(), bytes);
    }
    task.args = request.args.clone();
    task.env = request.env.clone();
    task.limits = request.limits;
    task.input = request.input.clone();
    task.kv_namespace = request.kv_namespace.clone();
    Ok(task)
}

pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A name made of ASCII letters, digits, `.`, `_` and `-`, 1 to `max` long.
pub fn is_name(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}
