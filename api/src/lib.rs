//! Wire types shared by the sandrun server, its CLI and its clients.
//!
//! They live in their own crate so that a client can speak to a server
//! without linking wasmtime, and so that the server, the CLI's `--json`
//! output and the OpenAPI document (derived from these same types) can never
//! drift apart.

mod artifact;
mod blob;
pub mod constraints;
mod de;
mod display;
mod event;
mod health;
mod limits;
mod module;
mod node;
mod output;
mod overview;
mod problem;
mod result;
mod runtime;
mod session;
mod task;

pub use artifact::{ArtifactInfo, ArtifactList};
pub use blob::{Blob, InvalidBase64};
pub use de::Object;
pub use display::MimeBundle;
pub use event::TaskEvent;
pub use health::{Readiness, RuntimeInfo, RuntimeList};
pub use limits::{AppliedLimits, Limits};
pub use module::{ModuleInfo, ModuleList};
pub use node::{Node, NodeList, NodeStatus};
pub use output::Output;
pub use overview::{EndedInterval, Overview, OverviewQuery, RecentFailure, StatusCounts};
pub use problem::Problem;
pub use result::{LogLevel, LogLine, Outcome, SessionStart, TaskResult};
pub use runtime::{Runtime, UnknownRuntime};
pub use session::{RunRequest, Session, SessionPage, SessionQuery, SessionRequest, SessionStatus};
pub use task::{
    Batch, BatchPage, BatchQuery, BatchRequest, BatchResponse, Task, TaskPage, TaskQuery,
    TaskRequest, TaskStatus,
};
