//! Request schemas that derive attributes cannot say: the items, keys and
//! values of lists and maps, and patterns built from parts (module
//! references, names, versions, times). Each says what the server checks
//! (`task_request.rs`, the sandbox's checks, the handlers), so that a
//! request valid by the OpenAPI document is one the server takes, and one
//! it refuses is invalid by it.

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{Ref, RefOr, Schema};

/// WASI hands code, arguments and variables to the guest as C strings.
const NO_NUL: &str = r"^[^\u0000]*$";

fn string(pattern: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
}

fn map(keys: ObjectBuilder, values: impl Into<RefOr<Schema>>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(keys))
        .additional_properties(Some(values.into()))
}

/// A session's `runtime`: Python, the one whose state a session keeps.
pub(crate) fn session_runtime() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["python"]))
        .default(Some("python".into()))
}

/// `args`: strings without NUL.
pub(crate) fn args() -> ArrayBuilder {
    ArrayBuilder::new().items(string(NO_NUL))
}

/// `env`: names without `=` or NUL, values without NUL.
pub(crate) fn env() -> ObjectBuilder {
    map(string(r"^[^=\u0000]+$"), string(NO_NUL))
}

/// `files`: plain relative paths that stay inside `/input` (no `..`, no
/// leading `.` or `/`, no `\`, not a directory), each a [`crate::Blob`].
/// A component is at most 255 ASCII characters, or 63 when any is not
/// ASCII: the host's file names are 255 bytes, which a pattern cannot count.
pub(crate) fn files() -> ObjectBuilder {
    const COMPONENT: &str = r"(?:[\x01-\x2e\x30-\x5b\x5d-\x7f]{1,255}|[^/\\\u0000]{1,63})";
    let name = string(&format!(
        r"^(?!\.\.?(?:/|$))(?!.*/\.\.(?:/|$)){COMPONENT}(?:/+{COMPONENT})*$"
    ));
    map(name, Ref::from_schema_name("Blob"))
}

/// `labels`: at most 32, keys of 1 to 64 characters without `=`, values of
/// at most 256 characters.
pub(crate) fn labels() -> ObjectBuilder {
    let value = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(256));
    map(string(r"^[^=]{1,64}$"), value).max_properties(Some(32))
}

/// A semantic version (semver.org), numbers of at most 19 digits.
const SEMVER: &str = r"(?:0|[1-9][0-9]{0,18})\.(?:0|[1-9][0-9]{0,18})\.(?:0|[1-9][0-9]{0,18})(?:-(?:0|[1-9][0-9]{0,18}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9][0-9]{0,18}|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?";
const SHA256: &str = "[0-9a-f]{64}";
const NAME: &str = "[A-Za-z0-9._-]{1,64}";

/// A task's `module`: a sha256, `name@version` or `name`.
pub(crate) fn module_reference() -> ObjectBuilder {
    string(&format!("^(?:{SHA256}|{NAME}(?:@{SEMVER})?)$"))
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .description(Some(
            "For `runtime: wasm` (and only for it), an uploaded module: its sha256, \
             `name@version`, or `name` for the highest version.",
        ))
}

/// A module's name: 1 to 64 of `A-Z a-z 0-9 . _ -`, and not a sha256.
pub fn module_name() -> ObjectBuilder {
    string(&format!("^(?!{SHA256}$){NAME}$")).description(Some(
        "Name the module (letters, digits, `.`, `_`, `-`); needs `version`.",
    ))
}

/// A module's semantic version.
pub fn module_version() -> ObjectBuilder {
    string(&format!("^{SEMVER}$"))
        .description(Some("Semantic version, e.g. `1.2.0`; needs `name`."))
}

/// A time as the server reads it: RFC 3339 in UTC (`Z`, `+00:00` or
/// nothing), `T` or a space between date and time, from 1970 on, days
/// that exist.
pub(crate) fn utc_time() -> ObjectBuilder {
    string(&utc_time_pattern()).description(Some("RFC 3339 in UTC, e.g. `2026-01-31T12:00:00Z`."))
}

/// The pattern of [`utc_time`], which the server matches too.
pub fn utc_time_pattern() -> String {
    const YEAR: &str = "(?:19[7-9][0-9]|[2-9][0-9]{3})";
    const MONTH_DAY: &str = "(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)";
    const LEAP_YEAR: &str = "(?:19(?:7[26]|8[048]|9[26])|[2-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[3579][26])00)";
    const TIME: &str =
        "(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\\.[0-9]*)?(?:Z|\\+00:00)?";
    format!("^(?:{YEAR}-{MONTH_DAY}|{LEAP_YEAR}-02-29)[T ]{TIME}$")
}
