//! Wire types shared by the sandrun server, its CLI and its clients.
//!
//! They live in their own crate so that a client can speak to a server
//! without linking wasmtime, and so that the server, the CLI's `--json`
//! output and the OpenAPI document can never drift apart.

mod limits;
mod output;
mod result;
mod runtime;

pub use limits::{AppliedLimits, Limits};
pub use output::Output;
pub use result::{LogLevel, LogLine, Outcome, TaskResult};
pub use runtime::{Runtime, UnknownRuntime};
