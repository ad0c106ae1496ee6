//! What every task in the process shares: the one wasmtime engine
//! (configured here, with the epoch ticker that drives timeouts), the
//! instance pool's slots a running guest holds, and the compiled code of
//! each module kept on disk. Nothing in this group knows about a single
//! task: it is set up once by [`Sandbox::new`](super::Sandbox::new) and
//! reused by every run.

pub(super) mod instance_gate;
pub(super) mod module_cache;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the engine's epoch advances: the granularity of timeouts and
/// of cancelling a guest that is computing.
pub const TICK: Duration = Duration::from_millis(10);

/// Wasm stack a guest may use. CPython recurses deeply; the host thread that
/// runs a guest needs this much native stack plus room for host calls.
pub const WASM_STACK: usize = 8 << 20;
pub const HOST_THREAD_STACK: usize = WASM_STACK + (4 << 20);

/// Function-table entries a module may have: CPython's table holds tens
/// of thousands of functions.
const TABLE_ELEMENTS: usize = 100_000;

/// Tables a module may have.
const TABLES_PER_MODULE: u32 = 4;

/// The most a module's instance bookkeeping (imports, globals, function
/// references) may take; CPython's exceeds wasmtime's default of 1 MiB.
const INSTANCE_BYTES: usize = 16 << 20;

/// Of each linear memory, the bytes that stay mapped between tasks, reset
/// in place (dirty pages only) instead of being dropped and faulted in
/// again by the next task. Python's heap after its snapshot is
/// tens of MiB; a task dirties a few MiB of it.
const KEEP_RESIDENT: usize = 128 << 20;

/// The one engine configuration every module is compiled for. Fuel metering
/// and epoch checks change the generated code, so they are always on.
///
/// Instances come from a pool sized for `tasks_at_once` tasks with memories
/// up to `max_memory` bytes: a slot keeps its module's memory image mapped,
/// so the next task of the same module starts without page faults for
/// the pages the last one touched.
pub fn new_engine(tasks_at_once: u32, max_memory: u64) -> wasmtime::Result<Engine> {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(tasks_at_once)
        // Each instance's memory, and the GC heap its exceptions live in.
        .total_memories(2 * tasks_at_once)
        .total_gc_heaps(tasks_at_once)
        .total_tables(TABLES_PER_MODULE * tasks_at_once)
        .total_stacks(tasks_at_once)
        .max_memory_size(usize::try_from(max_memory).unwrap_or(usize::MAX))
        .max_tables_per_module(TABLES_PER_MODULE)
        .table_elements(TABLE_ELEMENTS)
        .max_core_instance_size(INSTANCE_BYTES)
        // Find the dirty pages instead of resetting every kept byte.
        .pagemap_scan(Enabled::Auto)
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(TABLE_ELEMENTS * size_of::<usize>());
    let mut config = Config::new();
    config
        .wasm_exceptions(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(WASM_STACK)
        // wasmtime checks the wasm stack against the async stack even for
        // synchronous calls.
        .async_stack_size(HOST_THREAD_STACK)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
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
