//! The `display` host call: a MIME bundle the guest shows (see
//! `sandrun.display` in the Python SDK), checked and kept for the run's
//! `results`. A run keeps at most its `results` limit of bundles and its
//! `result_bytes` of them; past either, the call is refused with
//! `limit_reached` and the result says `results_truncated`, so a loop that
//! displays forever costs the host nothing more.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sandrun_api::MimeBundle;
use serde_json::Value;

use super::services::CallError;

/// The bundles a run displayed. The default keeps none.
#[derive(Debug, Default)]
pub struct Displayed {
    pub results: Vec<MimeBundle>,
    bytes: u64,
    pub truncated: bool,
    /// The most bundles the run keeps.
    max_results: u64,
    /// The most bytes of bundles the run keeps, counted as their JSON.
    max_bytes: u64,
}

impl Displayed {
    /// Keeping up to `max_results` bundles and `max_bytes` of them.
    pub fn capped(max_results: u64, max_bytes: u64) -> Self {
        Displayed {
            max_results,
            max_bytes,
            ..Displayed::default()
        }
    }

    /// Keep `data` as the next result, if it is a valid bundle and fits.
    pub fn add(&mut self, data: BTreeMap<String, Value>) -> Result<(), CallError> {
        check(&data)?;
        let bytes = serde_json::to_vec(&data)
            .expect("JSON values serialise")
            .len() as u64;
        if self.results.len() as u64 >= self.max_results
            || self.bytes.saturating_add(bytes) > self.max_bytes
        {
            self.truncated = true;
            return Err(CallError::ResultsFull {
                results: self.max_results,
                bytes: self.max_bytes,
            });
        }
        self.bytes += bytes;
        self.results.push(MimeBundle(data));
        Ok(())
    }
}

/// A bundle holds at least one representation, each of a known type: text
/// for the text types and SVG, standard base64 for the binary images.
fn check(data: &BTreeMap<String, Value>) -> Result<(), CallError> {
    let bad = |detail: String| CallError::BadRequest {
        call: "display".into(),
        detail,
    };
    if data.is_empty() {
        return Err(bad("`data` holds no representation".into()));
    }
    for (mime, value) in data {
        if !MimeBundle::TYPES.contains(&mime.as_str()) {
            return Err(bad(format!(
                "`{mime}` is not one of {}",
                MimeBundle::TYPES.join(", ")
            )));
        }
        if mime == "application/json" {
            continue;
        }
        let Some(text) = value.as_str() else {
            return Err(bad(format!("`{mime}` must be a string")));
        };
        if MimeBundle::is_binary(mime)
            && let Err(e) = STANDARD.decode(text)
        {
            return Err(bad(format!("`{mime}` is not standard base64: {e}")));
        }
    }
    Ok(())
}
