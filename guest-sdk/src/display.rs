//! Rich results: a value shown in the representations a notebook reads
//! (Jupyter's MIME bundles), kept in the run's `result.results`.
//!
//! ```ignore
//! sandrun_guest::Display::html("<b>42</b>").text("42").show()?;
//! sandrun_guest::Display::png(&chart_bytes).show()?;
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use crate::{Error, call};

/// One rich result, built up one representation at a time and shown with
/// [`Display::show`]. A representation given twice keeps the last.
#[derive(Debug, Clone, Default)]
pub struct Display {
    data: Map<String, Value>,
}

impl Display {
    /// A result shown as plain text.
    pub fn text(text: &str) -> Self {
        Display::default().with_text("text/plain", text)
    }

    /// A result shown as HTML.
    pub fn html(html: &str) -> Self {
        Display::default().with_text("text/html", html)
    }

    /// A result shown as Markdown.
    pub fn markdown(markdown: &str) -> Self {
        Display::default().with_text("text/markdown", markdown)
    }

    /// A result shown as an SVG image.
    pub fn svg(svg: &str) -> Self {
        Display::default().with_text("image/svg+xml", svg)
    }

    /// A result shown as a PNG image, from its bytes.
    pub fn png(bytes: &[u8]) -> Self {
        Display::default().with_bytes("image/png", bytes)
    }

    /// A result shown as a JPEG image, from its bytes.
    pub fn jpeg(bytes: &[u8]) -> Self {
        Display::default().with_bytes("image/jpeg", bytes)
    }

    /// A result shown as JSON.
    pub fn json(value: Value) -> Self {
        Display::default().with("application/json", value)
    }

    /// The same result, also as `mime` text: `text/plain`, `text/html`,
    /// `text/markdown`, `text/latex` or `image/svg+xml`.
    pub fn with_text(self, mime: &str, text: &str) -> Self {
        self.with(mime, Value::String(text.to_owned()))
    }

    /// The same result, also as `mime` bytes: `image/png` or `image/jpeg`.
    pub fn with_bytes(self, mime: &str, bytes: &[u8]) -> Self {
        self.with(mime, Value::String(STANDARD.encode(bytes)))
    }

    fn with(mut self, mime: &str, value: Value) -> Self {
        self.data.insert(mime.to_owned(), value);
        self
    }

    /// Keep it as the run's next result. Past the run's `results` or
    /// `result_bytes` limit nothing more is kept, as in Python, and this
    /// answers `Ok`: the result says `results_truncated`.
    pub fn show(&self) -> Result<(), Error> {
        match call(&json!({"call": "display", "data": self.data})) {
            Err(Error::Host { code, .. }) if code == "limit_reached" => Ok(()),
            other => other.map(drop),
        }
    }
}
