//! Artifacts: the files a run leaves under `/output` come back with its
//! result, whatever ended it, within their caps and inside its disk quota.

use std::sync::Arc;
use std::time::Duration;

use sandrun::sandbox::{CancelHandle, NoHooks, Ran, Task};
use sandrun_api::{Limits, Outcome};
use sha2::{Digest, Sha256};

use crate::support::{sandbox, stderr, stdout};

fn ran(task: &Task) -> Ran {
    sandbox()
        .run_with(task, &CancelHandle::new(), Arc::new(NoHooks))
        .expect("the task is accepted")
}

fn python_with(code: &str, limits: Limits) -> Ran {
    let mut task = Task::python(code);
    task.limits = limits;
    ran(&task)
}

/// The width and height a PNG's header gives.
pub fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let at = |i: usize| u32::from_be_bytes(png[i..i + 4].try_into().unwrap());
    (at(16), at(20))
}

/// A 4 by 3 inch line chart at 100 dpi, titled, saved under /output.
pub const CHART: &str = "import matplotlib.pyplot as plt
fig = plt.figure(figsize=(4, 3), dpi=100)
plt.plot([1, 2, 3], [2, 4, 3]); plt.title('Sales')
fig.savefig('/output/chart.png', dpi=100)
plt.close(fig)";

#[test]
fn a_chart_saved_under_output_comes_back_as_a_png_artifact() {
    let r = ran(&Task::python(CHART));
    assert_eq!(
        r.result.outcome,
        Outcome::Succeeded,
        "{}",
        stderr(&r.result)
    );
    let [info] = r.result.artifacts.as_slice() else {
        panic!("one artifact: {:?}", r.result.artifacts);
    };
    assert_eq!(
        (info.path.as_str(), info.media_type.as_str()),
        ("chart.png", "image/png")
    );
    let png = &r.artifacts[0];
    assert_eq!(info.size, png.len() as u64);
    assert_eq!(info.sha256, hex::encode(Sha256::digest(png)));
    assert_eq!(png_size(png), (400, 300));
    assert!(r.result.results.is_empty(), "the figure was closed");
}

#[test]
fn output_starts_empty_and_keeps_nested_paths_in_order() {
    let r = ran(&Task::python(
        "import os
print(os.listdir('/output'))
os.makedirs('/output/data/raw')
open('/output/data/raw/rows.csv', 'w').write('a,b\\n1,2\\n')
open('/output/report.html', 'w').write('<p>hi</p>')
open('/output/notes', 'w').write('x')
os.makedirs('/output/empty')",
    ));
    assert_eq!(
        r.result.outcome,
        Outcome::Succeeded,
        "{}",
        stderr(&r.result)
    );
    assert_eq!(stdout(&r.result), "[]\n");
    let found: Vec<(&str, &str, u64)> = r
        .result
        .artifacts
        .iter()
        .map(|a| (a.path.as_str(), a.media_type.as_str(), a.size))
        .collect();
    assert_eq!(
        found,
        [
            ("data/raw/rows.csv", "text/csv", 8),
            ("notes", "application/octet-stream", 1),
            ("report.html", "text/html", 9),
        ]
    );
    assert_eq!(r.artifacts[0], b"a,b\n1,2\n");
    assert!(!r.result.artifacts_truncated);

    // The next task's /output is empty again.
    let next = ran(&Task::python("import os; print(os.listdir('/output'))"));
    assert_eq!(stdout(&next.result), "[]\n");
    assert!(next.result.artifacts.is_empty());
}

#[test]
fn a_link_under_output_is_not_followed_and_is_flagged() {
    let r = ran(&Task::python(
        "import os
open('/output/real.txt', 'w').write('real')
os.symlink('real.txt', '/output/link.txt')",
    ));
    assert_eq!(
        r.result.outcome,
        Outcome::Succeeded,
        "{}",
        stderr(&r.result)
    );
    let paths: Vec<&str> = r.result.artifacts.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(paths, ["real.txt"]);
    assert!(r.result.artifacts_truncated);
}

#[test]
fn artifacts_past_their_caps_are_left_and_flagged() {
    let write = "for name in 'abc': open(f'/output/{name}', 'wb').write(b'x' * 600)";
    let r = python_with(
        write,
        Limits {
            artifacts: Some(2),
            ..Limits::default()
        },
    );
    let paths: Vec<&str> = r.result.artifacts.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(paths, ["a", "b"]);
    assert!(r.result.artifacts_truncated);
    assert_eq!(r.result.limits.artifacts, 2);

    let r = python_with(
        write,
        Limits {
            artifact_bytes: Some(1000),
            ..Limits::default()
        },
    );
    assert_eq!(r.result.artifacts.len(), 1, "{:?}", r.result.artifacts);
    assert!(r.result.artifacts_truncated);

    let maximum = sandbox().policy().maximum;
    let mut task = Task::python("");
    task.limits.artifact_bytes = Some(maximum.artifact_bytes + 1);
    let refused = sandbox().run(&task, &CancelHandle::new()).unwrap_err();
    assert!(refused.to_string().contains("artifact size"), "{refused}");
}

#[test]
fn a_run_stopped_by_its_timeout_still_hands_back_what_it_wrote() {
    let r = python_with(
        "open('/output/partial.txt', 'w').write('so far')\nwhile True: pass",
        Limits {
            timeout_ms: Some(Duration::from_millis(500).as_millis() as u64),
            ..Limits::default()
        },
    );
    assert_eq!(r.result.outcome, Outcome::TimedOut);
    assert_eq!(r.result.artifacts[0].path, "partial.txt");
    assert_eq!(r.artifacts[0], b"so far");
}

#[test]
fn output_counts_against_the_disk_quota_with_tmp() {
    let r = python_with(
        "import errno
open('/tmp/a', 'wb').write(b'x' * 600_000)
try:
    open('/output/b', 'wb').write(b'x' * 600_000)
except OSError as e:
    print(errno.errorcode[e.errno])",
        Limits {
            disk_bytes: Some(1 << 20),
            ..Limits::default()
        },
    );
    assert_eq!(
        r.result.outcome,
        Outcome::Succeeded,
        "{}",
        stderr(&r.result)
    );
    assert_eq!(stdout(&r.result), "ENOSPC\n");
    assert!(r.result.disk_exceeded);
}
