use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use wasmtime::{Config, Engine};

/// How often the engine's epoch advances: the granularity of timeouts and
/// of cancelling a guest that is computing.
pub const TICK: Duration = Duration::from_millis(10);

/// Wasm stack a guest may use. CPython recurses deeply; the host thread that
/// runs a guest needs this much native stack plus room for host calls.
pub const WASM_STACK: usize = 8 << 20;
pub const HOST_THREAD_STACK: usize = WASM_STACK + (4 << 20);

/// The one engine configuration every module is compiled for. Fuel metering
/// and epoch checks change the generated code, so they are always on.
pub fn new_engine() -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config
        .wasm_exceptions(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(WASM_STACK)
        // wasmtime checks the wasm stack against the async stack even for
        // synchronous calls.
        .async_stack_size(HOST_THREAD_STACK);
    Engine::new(&config)
}

/// A thread that advances the engine's epoch every [`TICK`] until dropped.
#[derive(Debug)]
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    pub fn start(engine: Engine) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        thread::Builder::new()
            .name("sandrun-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    thread::sleep(TICK);
                    engine.increment_epoch();
                }
            })?;
        Ok(EpochTicker { stop })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
