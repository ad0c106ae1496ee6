//! What every list operation reads the same way: its page size, its
//! `key=value` label filter, and the cursor to the next page.

use super::ApiError;

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

/// The page size asked for, or the default.
pub fn limit(asked: Option<u32>) -> Result<u32, ApiError> {
    let limit = asked.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("must be from 1 to {MAX_PAGE}"),
        ));
    }
    Ok(limit)
}

/// A `label=key=value` filter as (key, value).
pub fn label(asked: &Option<String>) -> Result<Option<(String, String)>, ApiError> {
    asked
        .as_deref()
        .map(|pair| {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| ApiError::invalid("label", "expected key=value"))?;
            Ok((k.to_owned(), v.to_owned()))
        })
        .transpose()
}

/// The cursor to the page after `records`, a full page of `limit`; `None`
/// on the last page.
pub fn next_cursor<T>(records: &[T], limit: u32, id: impl Fn(&T) -> &String) -> Option<String> {
    (records.len() == limit as usize)
        .then(|| records.last().map(|r| id(r).clone()))
        .flatten()
}
