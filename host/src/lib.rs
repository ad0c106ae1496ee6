//! sandrun runs untrusted code (Python, or any wasm32-wasip1 module) inside
//! wasmtime sandboxes with fuel, memory, wall-clock and output limits.
//!
//! The library holds everything; the `sandrun` binary is a thin command line
//! over it, so tests drive the same code the binary runs.

pub mod cli;
pub mod configuration;
pub mod home;
pub mod metrics;
pub mod progress;
pub mod runtime;
pub mod sandbox;
pub mod scheduler;
pub mod server;
pub mod slots;
pub mod startup;
pub mod storage;
pub mod task_request;
pub mod telemetry;
pub mod worker;
