use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An RFC 9457 problem: every error the API returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A stable URI naming the kind of problem, e.g.
    /// `https://sandrun.dev/problems/validation`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong this time, for a person.
    pub detail: String,
    /// For validation problems: the request field at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}
