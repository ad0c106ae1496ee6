use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The limits a task asks for. A field left out takes the server's default;
/// a field above the server's maximum is refused, never silently lowered.
/// The maxima in the OpenAPI document are those of the server serving it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Fuel: roughly one unit per WebAssembly instruction executed.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::de::optional_integer"
    )]
    #[schema(minimum = 1)]
    pub fuel: Option<u64>,
    /// Linear memory, in bytes.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::de::optional_integer"
    )]
    #[schema(minimum = 1)]
    pub memory_bytes: Option<u64>,
    /// Wall-clock time, in milliseconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::de::optional_integer"
    )]
    #[schema(minimum = 1)]
    pub timeout_ms: Option<u64>,
    /// Bytes of stdout kept; the rest is dropped and the result flagged.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::de::optional_integer"
    )]
    #[schema(minimum = 1)]
    pub stdout_bytes: Option<u64>,
    /// Bytes of stderr kept; the rest is dropped and the result flagged.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::de::optional_integer"
    )]
    #[schema(minimum = 1)]
    pub stderr_bytes: Option<u64>,
    /// Files the guest may hold open at once, beyond its standard streams
    /// and the directories it was given.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::de::optional_integer"
    )]
    #[schema(minimum = 1)]
    pub open_files: Option<u32>,
    /// Host calls (`host.call`, of every kind) the guest may make; the one
    /// past them stops it with `host_calls_exceeded`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::de::optional_integer"
    )]
    #[schema(minimum = 1)]
    pub host_calls: Option<u64>,
    /// Bytes one host call may carry each way: the request the guest sends
    /// and the reply it gets. A larger request or reply is refused with a
    /// `too_large` error the guest can read; a task whose `input` would not
    /// fit is refused at submission.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::de::optional_integer"
    )]
    #[schema(minimum = 1)]
    pub host_call_bytes: Option<u64>,
    /// Bytes the guest's files may take in its writable directories
    /// (`/tmp` and `/output` together); a write past them fails in the
    /// guest with `ENOSPC` and the result says `disk_exceeded`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::de::optional_integer"
    )]
    #[schema(minimum = 1)]
    pub disk_bytes: Option<u64>,
    /// Rich results (MIME bundles) a run keeps; one more is refused and
    /// the result says `results_truncated`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::de::optional_integer"
    )]
    #[schema(minimum = 1)]
    pub results: Option<u64>,
    /// Bytes of rich results a run keeps (counted as their JSON); a bundle
    /// past them is refused and the result says `results_truncated`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::de::optional_integer"
    )]
    #[schema(minimum = 1)]
    pub result_bytes: Option<u64>,
    /// Files under `/output` kept as the run's artifacts; past them the
    /// rest are not kept and the result says `artifacts_truncated`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::de::optional_integer"
    )]
    #[schema(minimum = 1)]
    pub artifacts: Option<u64>,
    /// Bytes of artifacts kept, all files together; a file that would pass
    /// them is not kept and the result says `artifacts_truncated`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::de::optional_integer"
    )]
    #[schema(minimum = 1)]
    pub artifact_bytes: Option<u64>,
}

impl Limits {
    /// These limits, with each one left out taken from `base`.
    pub fn over(self, base: Limits) -> Limits {
        Limits {
            fuel: self.fuel.or(base.fuel),
            memory_bytes: self.memory_bytes.or(base.memory_bytes),
            timeout_ms: self.timeout_ms.or(base.timeout_ms),
            stdout_bytes: self.stdout_bytes.or(base.stdout_bytes),
            stderr_bytes: self.stderr_bytes.or(base.stderr_bytes),
            open_files: self.open_files.or(base.open_files),
            host_calls: self.host_calls.or(base.host_calls),
            host_call_bytes: self.host_call_bytes.or(base.host_call_bytes),
            disk_bytes: self.disk_bytes.or(base.disk_bytes),
            results: self.results.or(base.results),
            result_bytes: self.result_bytes.or(base.result_bytes),
            artifacts: self.artifacts.or(base.artifacts),
            artifact_bytes: self.artifact_bytes.or(base.artifact_bytes),
        }
    }
}

/// The limits a task actually ran under, every one of them set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppliedLimits {
    pub fuel: u64,
    pub memory_bytes: u64,
    pub timeout_ms: u64,
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
    pub open_files: u32,
    /// 0 in results recorded before this limit existed.
    #[serde(default)]
    pub host_calls: u64,
    /// 0 in results recorded before this limit existed.
    #[serde(default)]
    pub host_call_bytes: u64,
    /// 0 in results recorded before this limit existed.
    #[serde(default)]
    pub disk_bytes: u64,
    /// 0 in results recorded before this limit existed.
    #[serde(default)]
    pub results: u64,
    /// 0 in results recorded before this limit existed.
    #[serde(default)]
    pub result_bytes: u64,
    /// 0 in results recorded before this limit existed.
    #[serde(default)]
    pub artifacts: u64,
    /// 0 in results recorded before this limit existed.
    #[serde(default)]
    pub artifact_bytes: u64,
}
