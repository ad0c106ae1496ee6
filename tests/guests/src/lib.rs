//! Paths of the guest modules that `build.rs` compiled for wasm32-wasip1.

/// `echo`: prints its arguments and environment, copies stdin to stdout,
/// lists `/input`, and exits with the code given by `EXIT_CODE`.
pub const ECHO: &str = env!("SANDRUN_GUEST_ECHO");

/// Example task modules from `examples/rust/`, built with the guest SDK.
pub const WORDCOUNT: &str = env!("SANDRUN_GUEST_WORDCOUNT");
pub const CSV_FILTER: &str = env!("SANDRUN_GUEST_CSV_FILTER");
pub const MARKDOWN: &str = env!("SANDRUN_GUEST_MARKDOWN");
