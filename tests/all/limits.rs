use std::time::{Duration, Instant};

use sandrun::sandbox::{CancelHandle, Task};
use sandrun_api::{Limits, Outcome};

use crate::support::{run, sandbox, stderr, stdout};

const MIB: u64 = 1 << 20;

fn limited(code: &str, limits: Limits) -> Task {
    let mut task = Task::python(code);
    task.limits = limits;
    task
}

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    let task = limited(
        "while True:\n    pass",
        Limits {
            fuel: Some(2_000_000_000),
            ..Limits::default()
        },
    );
    let r = run(&task);
    assert_eq!(r.outcome, Outcome::OutOfFuel, "{r:?}");
    assert_eq!(r.fuel_used, 2_000_000_000);
    assert_eq!(r.exit_code, None);
}

#[test]
fn an_infinite_loop_times_out() {
    let task = limited(
        "while True:\n    pass",
        Limits {
            timeout_ms: Some(1000),
            ..Limits::default()
        },
    );
    let r = run(&task);
    assert_eq!(r.outcome, Outcome::TimedOut, "{r:?}");
    assert!(
        r.wall_time_ms >= 1000.0 && r.wall_time_ms < 3000.0,
        "{}",
        r.wall_time_ms
    );
}

#[test]
fn a_long_sleep_is_stopped_at_the_deadline() {
    let task = limited(
        "import time\ntime.sleep(30)\nprint('woke')",
        Limits {
            timeout_ms: Some(1000),
            ..Limits::default()
        },
    );
    let started = Instant::now();
    let r = run(&task);
    assert_eq!(r.outcome, Outcome::TimedOut, "{r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(stdout(&r), "");
}

#[test]
fn a_short_sleep_sleeps_and_finishes() {
    let r = run(&Task::python(
        "import time\nt = time.monotonic()\ntime.sleep(0.3)\nprint(time.monotonic() - t >= 0.3)",
    ));
    assert_eq!(r.outcome, Outcome::Succeeded, "{r:?}");
    assert_eq!(stdout(&r), "True\n");
    assert!(r.wall_time_ms >= 300.0);
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    let task = limited(
        "b = bytearray(1 << 30)\nprint('allocated')",
        Limits {
            memory_bytes: Some(128 * MIB),
            ..Limits::default()
        },
    );
    let r = run(&task);
    assert_eq!(r.outcome, Outcome::MemoryExceeded, "{r:?}");
    assert_eq!(stdout(&r), "");
    assert!(r.peak_memory_bytes <= 128 * MIB);
    assert_eq!(
        r.message.as_deref(),
        Some("memory limit of 128.0 MiB exceeded")
    );
}

#[test]
fn an_output_flood_is_truncated_and_the_task_goes_on() {
    let code = "import sys\nfor _ in range(10000):\n    print('x' * 1000)\nsys.stderr.write('finished\\n')";
    let task = limited(
        code,
        Limits {
            stdout_bytes: Some(4096),
            ..Limits::default()
        },
    );
    let r = run(&task);
    assert_eq!(r.outcome, Outcome::Succeeded, "{r:?}");
    assert_eq!(r.stdout.as_bytes().len(), 4096);
    assert!(r.stdout_truncated);
    assert!(!r.stderr_truncated);
    assert_eq!(stderr(&r), "finished\n");
}

#[test]
fn stderr_has_its_own_cap() {
    let code = "import sys\nsys.stderr.write('e' * 100000)\nprint('ok')";
    let task = limited(
        code,
        Limits {
            stderr_bytes: Some(100),
            ..Limits::default()
        },
    );
    let r = run(&task);
    assert_eq!(r.outcome, Outcome::Succeeded, "{r:?}");
    assert_eq!(r.stderr.as_bytes(), &[b'e'; 100][..]);
    assert!(r.stderr_truncated);
    assert_eq!(stdout(&r), "ok\n");
}

#[test]
fn open_files_are_capped() {
    let code = "import errno\nfiles = []\ntry:\n    for i in range(50):\n        files.append(open(f'/tmp/f{i}', 'w'))\nexcept OSError as e:\n    print(len(files), errno.errorcode[e.errno])\nfor f in files:\n    f.close()\nfiles = [open(f'/tmp/f{i}') for i in range(5)]\nprint('reopened', len(files))";
    let task = limited(
        code,
        Limits {
            open_files: Some(5),
            ..Limits::default()
        },
    );
    let r = run(&task);
    assert_eq!(r.outcome, Outcome::Succeeded, "{r:?}");
    assert_eq!(stdout(&r), "5 EMFILE\nreopened 5\n");
}

/// Start `code`, cancel it half a second in, and say how long the cancel
/// took to land. Idle, that is a tick or two (10-20 ms); the bound below
/// leaves room for a loaded machine while still failing any stop that is
/// not driven by the epoch or the host's own waits.
const CANCEL_BOUND: Duration = Duration::from_millis(300);

fn cancel_midway(code: &str) -> (sandrun_api::TaskResult, Duration) {
    let cancel = CancelHandle::new();
    let task = Task::python(code);
    std::thread::scope(|s| {
        let running = s.spawn(|| sandbox().run(&task, &cancel).unwrap());
        std::thread::sleep(Duration::from_millis(500));
        let at = Instant::now();
        cancel.cancel();
        let result = running.join().unwrap();
        (result, at.elapsed())
    })
}

#[test]
fn cancel_stops_a_computing_task() {
    let (r, took) = cancel_midway("while True:\n    pass");
    assert_eq!(r.outcome, Outcome::Cancelled, "{r:?}");
    assert!(took < CANCEL_BOUND, "{took:?}");
}

#[test]
fn cancel_wakes_a_sleeping_task() {
    let (r, took) = cancel_midway("import time\ntime.sleep(60)");
    assert_eq!(r.outcome, Outcome::Cancelled, "{r:?}");
    assert!(took < CANCEL_BOUND, "{took:?}");
}

#[test]
fn the_limits_applied_are_reported() {
    let task = limited(
        "pass",
        Limits {
            fuel: Some(123_456_789_000),
            ..Limits::default()
        },
    );
    let r = run(&task);
    assert_eq!(r.limits.fuel, 123_456_789_000);
    assert_eq!(
        r.limits.memory_bytes,
        sandbox().policy().defaults.memory_bytes
    );
}
