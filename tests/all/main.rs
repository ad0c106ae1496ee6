//! sandrun's test suite: one binary, so the crate links once, and one
//! sandbox with the real Python runtime shared by every test.

mod api_batches;
mod api_concurrency;
mod api_contract;
mod api_errors;
mod api_events;
mod api_guest;
mod api_health;
mod api_limits;
mod api_modules;
mod api_sessions;
mod api_tasks;
mod app;
mod cli;
mod cli_remote;
mod configuration;
mod connections;
mod crash;
mod escape;
mod examples;
mod host_call_faults;
mod host_calls;
mod limits;
mod module_cache;
mod multi_node;
mod postgres;
mod python;
mod python_client;
mod runtime_install;
mod session_state;
mod shutdown;
mod snapshot;
mod storage;
mod support;
mod wasm_modules;
mod workers;
