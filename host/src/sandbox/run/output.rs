use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

use crate::sandbox::host_call::hooks::{Stream, TaskHooks};

/// A guest's stdout or stderr: the first `cap` bytes are kept, the rest are
/// dropped and the stream is flagged as truncated. The guest is never told:
/// its writes succeed, so a chatty task still runs to its end.
#[derive(Clone)]
pub struct CappedOutput {
    inner: Arc<Mutex<Captured>>,
    stream: Stream,
    hooks: Arc<dyn TaskHooks>,
}

#[derive(Debug, Default)]
struct Captured {
    bytes: Vec<u8>,
    cap: usize,
    truncated: bool,
}

/// Largest write a guest is invited to make at once.
const WRITE_BUDGET: usize = 1 << 20;

impl CappedOutput {
    pub fn new(cap: u64, stream: Stream, hooks: Arc<dyn TaskHooks>) -> Self {
        let cap = usize::try_from(cap).unwrap_or(usize::MAX);
        let inner = Arc::new(Mutex::new(Captured {
            cap,
            ..Captured::default()
        }));
        CappedOutput {
            inner,
            stream,
            hooks,
        }
    }

    fn push(&self, data: &[u8]) {
        let mut c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let room = c.cap - c.bytes.len();
        if data.len() > room {
            c.truncated = true;
        }
        let kept = &data[..data.len().min(room)];
        c.bytes.extend_from_slice(kept);
        drop(c);
        if !kept.is_empty() {
            self.hooks.output(self.stream, kept);
        }
    }

    /// The bytes kept and whether any were dropped.
    pub fn take(&self) -> (Vec<u8>, bool) {
        let mut c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (std::mem::take(&mut c.bytes), c.truncated)
    }
}

impl IsTerminal for CappedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CappedOutput {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(WRITE_BUDGET)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedOutput {
    async fn ready(&mut self) {}
}

impl AsyncWrite for CappedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
