//! Write a sandrun task as one typed function.
//!
//! ```ignore
//! #[derive(serde::Deserialize)]
//! struct Input { text: String }
//! #[derive(serde::Serialize)]
//! struct Output { words: usize }
//!
//! fn count(input: Input) -> Result<Output, String> {
//!     sandrun_guest::progress(1.0)?;
//!     Ok(Output { words: input.text.split_whitespace().count() })
//! }
//! sandrun_guest::task!(count);
//! ```
//!
//! Build the crate as a `cdylib` with `cargo build --target wasm32-wasip1`:
//! [`task!`] exports `run` and `host_alloc`, which with the default
//! `memory` export make the module the host expects (see the README for the
//! ABI). Every helper is a JSON request through the one `host.call` import.

mod display;
mod error;
mod host;
pub mod kv;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub use display::Display;
pub use error::Error;
pub use host::call;

/// Severity of a log message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

/// The task's JSON input, as `T`. A task given no input reads `null`.
pub fn input<T: DeserializeOwned>() -> Result<T, Error> {
    Ok(serde_json::from_value(call(&json!({"call": "input"}))?)?)
}

/// Set the task's structured result, replacing any earlier one.
pub fn output<T: Serialize>(value: &T) -> Result<(), Error> {
    call(&json!({"call": "output", "value": value})).map(drop)
}

/// Log a message, stored with the task and streamed to its watchers.
pub fn log(level: Level, message: &str) -> Result<(), Error> {
    call(&json!({"call": "log", "level": level, "message": message})).map(drop)
}

/// Report progress from 0 to 1.
pub fn progress(fraction: f64) -> Result<(), Error> {
    call(&json!({"call": "progress", "value": fraction})).map(drop)
}

/// What [`task!`] expands to: read the input, run `handler`, set the output.
/// The exit code is 0 on success, 1 when the handler fails and 2 when the
/// input does not fit its type or the output cannot be set.
#[doc(hidden)]
pub fn __run<I, O, E>(handler: fn(I) -> Result<O, E>) -> i32
where
    I: DeserializeOwned,
    O: Serialize,
    E: std::fmt::Display,
{
    let input = match input::<I>() {
        Ok(input) => input,
        Err(e) => return fail(2, &format!("bad input: {e}")),
    };
    match handler(input) {
        Ok(out) => match output(&out) {
            Ok(()) => 0,
            Err(e) => fail(2, &format!("cannot set the output: {e}")),
        },
        Err(e) => fail(1, &e.to_string()),
    }
}

fn fail(code: i32, message: &str) -> i32 {
    eprintln!("error: {message}");
    // The message is on stderr already; a refused log changes nothing.
    let _ = log(Level::Error, message);
    code
}

#[doc(hidden)]
pub use host::host_alloc as __host_alloc;

/// Turn `fn(Input) -> Result<Output, E>` (serde types, `E: Display`) into
/// a task module: exports `run` and `host_alloc`.
#[macro_export]
macro_rules! task {
    ($handler:path) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn run() -> i32 {
            $crate::__run($handler)
        }

        #[unsafe(no_mangle)]
        pub extern "C" fn host_alloc(len: i32) -> i32 {
            $crate::__host_alloc(len)
        }
    };
}

/// The result of a call, for [`kv`] and callers of [`call`].
pub(crate) fn value_or_null<T: DeserializeOwned>(value: Value) -> Result<Option<T>, Error> {
    if value.is_null() {
        return Ok(None);
    }
    Ok(Some(serde_json::from_value(value)?))
}
