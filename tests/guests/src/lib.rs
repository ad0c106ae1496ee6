//! Paths of the guest modules that `build.rs` compiled for wasm32-wasip1.

/// `echo`: prints its arguments and environment, copies stdin to stdout,
/// lists `/input`, and exits with the code given by `EXIT_CODE`.
pub const ECHO: &str = env!("SANDRUN_GUEST_ECHO");
