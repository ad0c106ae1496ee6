use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use sandrun::progress::Progress;
use sandrun::runtime;
use sandrun::sandbox::{LimitPolicy, LiveSessions, Sandbox, Task};
use sandrun_api::Outcome;

use crate::support::{home, python, run, sandbox, stderr, stdout};

/// Remembers the steps a load reported.
#[derive(Debug, Default)]
struct Steps(Mutex<Vec<String>>);

impl Progress for Steps {
    fn start(&self, step: &str, _total: Option<u64>) {
        self.0.lock().unwrap().push(step.to_owned());
    }
    fn advance(&self, _done: u64) {}
    fn finish(&self) {}
}

impl Steps {
    fn made_snapshot(&self) -> bool {
        self.0
            .lock()
            .unwrap()
            .iter()
            .any(|s| s.starts_with("Snapshotting"))
    }
}

fn installed() -> runtime::Installed {
    let manifest = runtime::manifest("python").unwrap();
    runtime::find(&home(), &manifest).expect("installed by the shared sandbox")
}

#[test]
fn a_second_load_reuses_the_snapshot() {
    sandbox();
    let again = Sandbox::new(&home(), LimitPolicy::default(), 1, LiveSessions::NONE).unwrap();
    let steps = Steps::default();
    again.load_python(&installed(), None, &steps).unwrap();
    assert!(steps.0.lock().unwrap().is_empty(), "{steps:?}");
    let r = again
        .run(&Task::python("print(1)"), &Default::default())
        .unwrap();
    assert_eq!(stdout(&r), "1\n", "{r:?}");
}

#[test]
fn a_changed_pre_import_list_makes_another_snapshot() {
    let installed = installed();
    let default = sandbox()
        .python_snapshot(
            &installed,
            &installed.manifest.guest.pre_import,
            &Steps::default(),
        )
        .unwrap();
    let json_only = ["json".to_owned()];
    let other = sandbox()
        .python_snapshot(&installed, &json_only, &Steps::default())
        .unwrap();
    assert_ne!(default, other);
    assert!(other.is_file());
    let steps = Steps::default();
    let again = sandbox()
        .python_snapshot(&installed, &json_only, &steps)
        .unwrap();
    assert_eq!(again, other);
    assert!(!steps.made_snapshot(), "{steps:?}");
}

#[test]
fn snapshots_and_helpers_unused_for_a_week_are_deleted_with_their_code() {
    let installed = installed();
    let home = home();
    let stale_snapshot = home
        .snapshots()
        .join("python-old-pin-0123456789abcdef.wasm");
    let recent_snapshot = home
        .snapshots()
        .join("python-old-pin-fedcba9876543210.wasm");
    let stale_bytes = b"an old snapshot".as_slice();
    let stale_code = home.module_cache().join(format!(
        "{}-0000000000000000.cwasm",
        hex::encode(Sha256::digest(stale_bytes))
    ));
    let stale_helper = home.guest_sdk().join("python-old-pin-0000000000000000");
    std::fs::create_dir_all(home.module_cache()).unwrap();
    std::fs::create_dir_all(&stale_helper).unwrap();
    std::fs::write(&stale_snapshot, stale_bytes).unwrap();
    std::fs::write(&recent_snapshot, b"used yesterday").unwrap();
    std::fs::write(&stale_code, b"its compiled code").unwrap();
    let days_ago = |days: u64| SystemTime::now() - Duration::from_secs(days * 86400);
    let set_mtime = |path: &std::path::Path, days| {
        let file = std::fs::File::open(path).unwrap();
        file.set_modified(days_ago(days)).unwrap();
    };
    set_mtime(&stale_snapshot, 8);
    set_mtime(&recent_snapshot, 1);
    set_mtime(&stale_helper, 8);

    let kept = sandbox()
        .python_snapshot(
            &installed,
            &installed.manifest.guest.pre_import,
            &Steps::default(),
        )
        .unwrap();

    assert!(!stale_snapshot.exists() && !stale_code.exists());
    assert!(!stale_helper.exists());
    assert!(recent_snapshot.exists(), "used within the week");
    assert!(kept.is_file());
    let used = std::fs::metadata(&kept).unwrap().modified().unwrap();
    assert!(used > days_ago(1), "loading marks the snapshot used");
    std::fs::remove_file(recent_snapshot).unwrap();
}

#[test]
fn the_pre_import_list_is_already_imported() {
    let r = python(
        "import sys\nprint('pandas' in sys.modules)\nimport pandas as pd\nprint(int(pd.DataFrame({'a': [1, 2, 3]})['a'].sum()))",
    );
    assert_eq!(r.outcome, Outcome::Succeeded, "{}", stderr(&r));
    assert_eq!(stdout(&r), "True\n6\n");
}

#[test]
fn the_snapshot_objects_are_frozen_out_of_collections() {
    let r = python("import gc\nprint(gc.get_freeze_count() > 10_000, gc.get_count()[0] < 1000)");
    assert_eq!(stdout(&r), "True True\n", "{r:?}");
}

#[test]
fn random_generators_differ_between_tasks() {
    let code = "import random, tempfile, numpy\nprint(random.random(), numpy.random.random(), next(tempfile._get_candidate_names()))";
    let first = python(code);
    let second = python(code);
    assert_eq!(first.outcome, Outcome::Succeeded, "{}", stderr(&first));
    assert_ne!(stdout(&first), stdout(&second));
}

#[test]
fn a_sys_exit_message_goes_to_stderr_with_exit_code_one() {
    let r = python("import sys\nsys.exit('bad input')");
    assert_eq!(r.outcome, Outcome::Exited, "{r:?}");
    assert_eq!(r.exit_code, Some(1));
    assert_eq!(stderr(&r), "bad input\n");
}

#[test]
fn tracebacks_name_the_task_code_as_string() {
    let r = python("x = 1\nraise ValueError('boom')");
    assert_eq!(r.exit_code, Some(1), "{r:?}");
    let err = stderr(&r);
    assert!(err.contains("File \"<string>\", line 2"), "{err}");
    assert!(err.contains("raise ValueError('boom')"), "{err}");
    assert!(!err.contains("_sandrun"), "{err}");
}

#[test]
fn the_guest_sees_no_sandrun_internals_in_main() {
    let mut task =
        Task::python("print(sorted(k for k in globals() if not k.startswith('__')), __name__)");
    task.args = vec!["a".into()];
    let r = run(&task);
    assert_eq!(stdout(&r), "[] __main__\n", "{r:?}");
}
