//! Rich results: what a run displayed, as Jupyter's display protocol has
//! it, so a chart, a table or a formula comes back as the notebook tools
//! that read that protocol already show it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One displayed value in the representations its guest gave, keyed by
/// MIME type (`text/plain`, `text/html`, `text/markdown`, `text/latex`,
/// `image/svg+xml`, `image/png`, `image/jpeg`, `application/json`).
/// `image/png` and `image/jpeg` are standard base64, `application/json` is
/// any JSON, every other one is text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"text/plain": "2"}))]
pub struct MimeBundle(pub BTreeMap<String, serde_json::Value>);

impl MimeBundle {
    /// The MIME types a bundle may carry.
    pub const TYPES: &[&str] = &[
        "text/plain",
        "text/html",
        "text/markdown",
        "text/latex",
        "image/svg+xml",
        "image/png",
        "image/jpeg",
        "application/json",
    ];

    /// Whether `mime`'s content is bytes, carried as base64.
    pub fn is_binary(mime: &str) -> bool {
        matches!(mime, "image/png" | "image/jpeg")
    }

    /// The text of `mime`'s representation, if it has one as text.
    pub fn text(&self, mime: &str) -> Option<&str> {
        self.0.get(mime).and_then(serde_json::Value::as_str)
    }
}
