//! The task's key-value namespace. Values are any JSON; a stored `null`
//! reads as missing.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::{Error, call, value_or_null};

pub fn get<T: DeserializeOwned>(key: &str) -> Result<Option<T>, Error> {
    value_or_null(call(&json!({"call": "kv_get", "key": key}))?)
}

pub fn put<T: Serialize>(key: &str, value: &T) -> Result<(), Error> {
    call(&json!({"call": "kv_put", "key": key, "value": value})).map(drop)
}

/// Whether the key existed.
pub fn delete(key: &str) -> Result<bool, Error> {
    Ok(serde_json::from_value(call(
        &json!({"call": "kv_delete", "key": key}),
    )?)?)
}
