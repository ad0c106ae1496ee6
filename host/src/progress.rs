//! Progress reports for the slow first-use steps: downloading a runtime and
//! compiling it. The library only reports; the command line decides whether
//! a person is watching and draws bars, so servers and tests stay quiet.

/// Something that shows a long step's progress.
pub trait Progress: Send + Sync {
    /// A step begins; `total` is its size in bytes when known.
    fn start(&self, step: &str, total: Option<u64>);
    /// `done` bytes of the current step are complete.
    fn advance(&self, done: u64);
    /// The current step ended.
    fn finish(&self);
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _step: &str, _total: Option<u64>) {}
    fn advance(&self, _done: u64) {}
    fn finish(&self) {}
}
