//! Exit codes of `sandrun run`. A guest's own exit code passes through;
//! sandrun's verdicts use codes from the top of the range, as `timeout(1)`
//! and `docker run` do. `--json` gives the unambiguous result.

use sandrun_api::{Outcome, TaskResult};

pub const EXIT_HOST_CALLS: u8 = 120;
pub const EXIT_MEMORY: u8 = 121;
pub const EXIT_TRAPPED: u8 = 122;
pub const EXIT_OUT_OF_FUEL: u8 = 123;
pub const EXIT_TIMED_OUT: u8 = 124;
/// sandrun itself failed: bad input, runtime unavailable, I/O error.
pub const EXIT_SANDRUN: u8 = 125;
pub const EXIT_INVALID_MODULE: u8 = 126;
pub const EXIT_CANCELLED: u8 = 130;

pub fn code_for(result: &TaskResult) -> u8 {
    match result.outcome {
        Outcome::Succeeded => 0,
        Outcome::Exited => match result.exit_code.unwrap_or(1) & 0xff {
            0 => 1,
            code => code as u8,
        },
        Outcome::HostCallsExceeded => EXIT_HOST_CALLS,
        Outcome::MemoryExceeded | Outcome::StateExceeded => EXIT_MEMORY,
        Outcome::Trapped => EXIT_TRAPPED,
        Outcome::OutOfFuel => EXIT_OUT_OF_FUEL,
        Outcome::TimedOut => EXIT_TIMED_OUT,
        Outcome::InvalidModule => EXIT_INVALID_MODULE,
        Outcome::Cancelled => EXIT_CANCELLED,
    }
}
