use std::fmt;

/// Why a host call failed.
#[derive(Debug)]
pub enum Error {
    /// The host refused the call; `code` is stable (`too_large`, `invalid`,
    /// `unknown_call`, `kv_unavailable`...), `message` says why.
    Host { code: String, message: String },
    /// `host.call` returned this code instead of a reply (-1: no host
    /// answers calls, -2: the host could not read or deliver a frame).
    Fault(i32),
    /// A request or reply did not fit its JSON type.
    Json(serde_json::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Host { code, message } => write!(f, "{code}: {message}"),
            Error::Fault(code) => write!(f, "host.call failed with {code}"),
            Error::Json(e) => write!(f, "JSON: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Json(e)
    }
}
