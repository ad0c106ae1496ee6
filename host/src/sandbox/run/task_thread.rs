//! Threads with the native stack a guest needs, made once and used for
//! many tasks: starting a thread per task (and faulting in its stack and
//! its allocator's arena) cost a few hundred page faults a task.

use std::cell::Cell;
use std::io;
use std::thread::{self, JoinHandle};

use crate::sandbox::engine::HOST_THREAD_STACK;

thread_local! {
    static ROOMY: Cell<bool> = const { Cell::new(false) };
}

/// Start `f` on a thread named `name` with room for a guest's stack;
/// [`Sandbox::run_with`](crate::sandbox::Sandbox::run_with) called on it runs the
/// guest right there.
pub fn spawn<F, T>(name: &str, f: F) -> io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    thread::Builder::new()
        .name(name.into())
        .stack_size(HOST_THREAD_STACK)
        .spawn(move || {
            ROOMY.set(true);
            f()
        })
}

/// Whether the current thread was started by [`spawn`].
pub fn is_current() -> bool {
    ROOMY.get()
}
