use bytesize::ByteSize;
use sandrun_api::{AppliedLimits, Limits};
use wasmtime::ResourceLimiter;

use super::stop::{StopReason, Stopped};

/// The defaults a task gets and the most it may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitPolicy {
    pub defaults: AppliedLimits,
    pub maximum: AppliedLimits,
}

impl Default for LimitPolicy {
    fn default() -> Self {
        const MIB: u64 = 1 << 20;
        LimitPolicy {
            defaults: AppliedLimits {
                fuel: 50_000_000_000,
                memory_bytes: 512 * MIB,
                timeout_ms: 30_000,
                stdout_bytes: MIB,
                stderr_bytes: MIB,
                open_files: 64,
                host_calls: 100_000,
                host_call_bytes: 2 * MIB,
                disk_bytes: 256 * MIB,
                results: 100,
                result_bytes: 16 * MIB,
                artifacts: 100,
                artifact_bytes: 64 * MIB,
            },
            maximum: AppliedLimits {
                fuel: 5_000_000_000_000,
                memory_bytes: 4096 * MIB,
                timeout_ms: 3_600_000,
                stdout_bytes: 64 * MIB,
                stderr_bytes: 64 * MIB,
                open_files: 1024,
                host_calls: 100_000_000,
                host_call_bytes: 64 * MIB,
                disk_bytes: 16 * 1024 * MIB,
                results: 10_000,
                result_bytes: 256 * MIB,
                artifacts: 10_000,
                artifact_bytes: 256 * MIB,
            },
        }
    }
}

/// A requested limit the policy does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("{} {requested} is above the maximum of {maximum}", field.name)]
    AboveMaximum {
        field: LimitField,
        requested: String,
        maximum: String,
    },
    #[error("{} must be greater than zero", field.name)]
    Zero { field: LimitField },
}

/// Which limit, as a person reads it and as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitField {
    pub name: &'static str,
    pub json: &'static str,
}

impl LimitError {
    pub fn field(&self) -> LimitField {
        match self {
            LimitError::AboveMaximum { field, .. } | LimitError::Zero { field } => *field,
        }
    }
}

impl LimitPolicy {
    /// The limits a task runs under: each requested value, checked against
    /// the maximum, or the default.
    pub fn resolve(&self, requested: &Limits) -> Result<AppliedLimits, LimitError> {
        fn pick(
            field: LimitField,
            requested: Option<u64>,
            default: u64,
            maximum: u64,
            show: fn(u64) -> String,
        ) -> Result<u64, LimitError> {
            match requested {
                None => Ok(default),
                Some(0) => Err(LimitError::Zero { field }),
                Some(v) if v > maximum => Err(LimitError::AboveMaximum {
                    field,
                    requested: show(v),
                    maximum: show(maximum),
                }),
                Some(v) => Ok(v),
            }
        }
        let count = |v: u64| v.to_string();
        let bytes = |v: u64| ByteSize(v).display().iec().to_string();
        let millis =
            |v: u64| humantime::format_duration(std::time::Duration::from_millis(v)).to_string();
        let field = |name, json| LimitField { name, json };
        let (r, d, m) = (requested, &self.defaults, &self.maximum);
        Ok(AppliedLimits {
            fuel: pick(field("fuel", "fuel"), r.fuel, d.fuel, m.fuel, count)?,
            memory_bytes: pick(
                field("memory", "memory_bytes"),
                r.memory_bytes,
                d.memory_bytes,
                m.memory_bytes,
                bytes,
            )?,
            timeout_ms: pick(
                field("timeout", "timeout_ms"),
                r.timeout_ms,
                d.timeout_ms,
                m.timeout_ms,
                millis,
            )?,
            stdout_bytes: pick(
                field("stdout limit", "stdout_bytes"),
                r.stdout_bytes,
                d.stdout_bytes,
                m.stdout_bytes,
                bytes,
            )?,
            stderr_bytes: pick(
                field("stderr limit", "stderr_bytes"),
                r.stderr_bytes,
                d.stderr_bytes,
                m.stderr_bytes,
                bytes,
            )?,
            open_files: pick(
                field("open files", "open_files"),
                r.open_files.map(u64::from),
                d.open_files.into(),
                m.open_files.into(),
                count,
            )? as u32,
            host_calls: pick(
                field("host calls", "host_calls"),
                r.host_calls,
                d.host_calls,
                m.host_calls,
                count,
            )?,
            host_call_bytes: pick(
                field("host call size", "host_call_bytes"),
                r.host_call_bytes,
                d.host_call_bytes,
                m.host_call_bytes,
                bytes,
            )?,
            disk_bytes: pick(
                field("disk space", "disk_bytes"),
                r.disk_bytes,
                d.disk_bytes,
                m.disk_bytes,
                bytes,
            )?,
            results: pick(
                field("results", "results"),
                r.results,
                d.results,
                m.results,
                count,
            )?,
            result_bytes: pick(
                field("result size", "result_bytes"),
                r.result_bytes,
                d.result_bytes,
                m.result_bytes,
                bytes,
            )?,
            artifacts: pick(
                field("artifacts", "artifacts"),
                r.artifacts,
                d.artifacts,
                m.artifacts,
                count,
            )?,
            artifact_bytes: pick(
                field("artifact size", "artifact_bytes"),
                r.artifact_bytes,
                d.artifact_bytes,
                m.artifact_bytes,
                bytes,
            )?,
        })
    }
}

/// Caps a guest's linear memory and remembers the largest size it reached.
#[derive(Debug)]
pub struct MemoryLimiter {
    limit: usize,
    peak: usize,
}

/// Tables hold function references; Python needs tens of thousands.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl MemoryLimiter {
    pub fn new(limit_bytes: u64) -> Self {
        MemoryLimiter {
            limit: usize::try_from(limit_bytes).unwrap_or(usize::MAX),
            peak: 0,
        }
    }

    pub fn peak(&self) -> u64 {
        self.peak as u64
    }

    /// The memory is `bytes` already (a live session's, grown in its
    /// earlier runs): it counts towards the peak.
    pub fn note_size(&mut self, bytes: usize) {
        self.peak = self.peak.max(bytes);
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            // A trap, not a failed grow: a guest that catches its allocation
            // failure would otherwise hide that it hit the limit.
            return Err(Stopped(StopReason::MemoryExceeded).into());
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}
