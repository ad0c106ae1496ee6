//! sandrun's test suite: one binary, so the crate links once, and one
//! sandbox with the real Python runtime shared by every test.

mod cli;
mod escape;
mod examples;
mod host_call_faults;
mod host_calls;
mod limits;
mod module_cache;
mod python;
mod runtime_install;
mod support;
mod wasm_modules;
