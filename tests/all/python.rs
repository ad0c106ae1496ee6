use sandrun::sandbox::{CancelHandle, Task, TaskError};
use sandrun_api::{Limits, Outcome};

use crate::support::{python, run, sandbox, stderr, stdout};

#[test]
fn print_succeeds_with_exit_code_zero() {
    let r = python("print('hello from the sandbox')");
    assert_eq!(r.outcome, Outcome::Succeeded, "{r:?}");
    assert_eq!(r.exit_code, Some(0));
    assert_eq!(stdout(&r), "hello from the sandbox\n");
    assert!(r.fuel_used > 0);
    assert!(r.peak_memory_bytes > 0);
}

#[test]
fn sys_exit_code_is_the_exit_code() {
    let r = python("import sys\nprint('bye')\nsys.exit(3)");
    assert_eq!(r.outcome, Outcome::Exited);
    assert_eq!(r.exit_code, Some(3));
    assert_eq!(stdout(&r), "bye\n");
}

#[test]
fn os_exit_code_is_the_exit_code() {
    let r = python("import os\nos._exit(7)");
    assert_eq!(r.outcome, Outcome::Exited, "{r:?}");
    assert_eq!(r.exit_code, Some(7));
}

#[test]
fn an_exception_exits_one_with_its_traceback() {
    let r = python("1 / 0");
    assert_eq!(r.outcome, Outcome::Exited);
    assert_eq!(r.exit_code, Some(1));
    assert!(stderr(&r).contains("ZeroDivisionError"), "{}", stderr(&r));
}

#[test]
fn stdin_args_and_env_reach_the_guest() {
    let mut task = Task::python(
        "import os, sys\nprint(sys.stdin.read().upper())\nprint(sys.argv[1:])\nprint(os.environ['GREETING'])",
    );
    task.stdin = b"piped in".to_vec();
    task.args = vec!["one".into(), "two words".into()];
    task.env.insert("GREETING".into(), "hi there".into());
    let r = run(&task);
    assert_eq!(r.outcome, Outcome::Succeeded, "{r:?}");
    assert_eq!(stdout(&r), "PIPED IN\n['one', 'two words']\nhi there\n");
}

#[test]
fn input_files_are_readable_under_input() {
    let mut task = Task::python(
        "import os\nprint(open('/input/data.csv').read(), end='')\nprint(open('/input/nested/deep.txt').read())\nprint(sorted(os.listdir('/input')))",
    );
    task.files.insert("data.csv".into(), b"a,b\n1,2\n".to_vec());
    task.files
        .insert("nested/deep.txt".into(), b"deep".to_vec());
    let r = run(&task);
    assert_eq!(r.outcome, Outcome::Succeeded, "{r:?}");
    assert_eq!(stdout(&r), "a,b\n1,2\ndeep\n['data.csv', 'nested']\n");
}

#[test]
fn input_files_are_read_only() {
    let mut task = Task::python(
        "try:\n    open('/input/data.csv', 'w').write('x')\n    print('wrote')\nexcept OSError as e:\n    print('refused', type(e).__name__)",
    );
    task.files.insert("data.csv".into(), b"original".to_vec());
    let r = run(&task);
    assert_eq!(r.outcome, Outcome::Succeeded, "{r:?}");
    assert!(stdout(&r).starts_with("refused"), "{}", stdout(&r));
}

#[test]
fn the_scientific_stack_is_built_in() {
    let r = python("import numpy as np\nprint(int(np.arange(10).sum()))");
    assert_eq!(r.outcome, Outcome::Succeeded, "{}", stderr(&r));
    assert_eq!(stdout(&r), "45\n");
}

#[test]
fn tmp_is_writable_and_private_to_each_task() {
    let first = python("open('/tmp/marker', 'w').write('x')\nimport os\nprint(os.listdir('/tmp'))");
    assert_eq!(stdout(&first), "['marker']\n", "{first:?}");
    let second = python("import os\nprint(os.listdir('/tmp'))");
    assert_eq!(stdout(&second), "[]\n", "{second:?}");
}

#[test]
fn a_workspace_reaches_the_next_task_only_empty() {
    // Empty workspaces are reused; these tasks leave theirs full, several
    // times over, and every later task still finds nothing.
    let look = "import os\nprint(os.listdir('/input'), os.listdir('/tmp'))";
    for _ in 0..4 {
        let mut given = Task::python(format!("open('/tmp/left', 'w').write('x')\n{look}"));
        given
            .files
            .insert("secret.txt".into(), b"from an earlier task".to_vec());
        let r = run(&given);
        assert_eq!(stdout(&r), "['secret.txt'] ['left']\n", "{r:?}");
        let after = python(look);
        assert_eq!(stdout(&after), "[] []\n", "{after:?}");
        let again = python(look);
        assert_eq!(stdout(&again), "[] []\n", "a reused workspace: {again:?}");
    }
}

#[test]
fn nothing_one_task_does_is_visible_to_the_next() {
    let first = python(
        "import sys\nsys.sandrun_marker = 1\nimport builtins\nbuiltins.leak = 'x'\nprint('set')",
    );
    assert_eq!(stdout(&first), "set\n");
    let second = python(
        "import sys, builtins\nprint(hasattr(sys, 'sandrun_marker'), hasattr(builtins, 'leak'))",
    );
    assert_eq!(stdout(&second), "False False\n");
}

#[test]
fn the_same_task_uses_the_same_fuel_twice() {
    let code = "total = 0\nfor i in range(10000):\n    total += i * i\nprint(total)";
    let first = python(code);
    let second = python(code);
    assert_eq!(first.outcome, Outcome::Succeeded);
    assert_eq!(first.fuel_used, second.fuel_used);
}

#[test]
fn bad_input_names_are_refused() {
    for name in ["../escape", "/abs", "", "a/../../b", "dir/"] {
        let mut task = Task::python("pass");
        task.files.insert(name.into(), b"x".to_vec());
        let err = sandbox().run(&task, &CancelHandle::new()).expect_err(name);
        assert!(
            matches!(err, TaskError::BadInputName { .. }),
            "{name}: {err}"
        );
    }
}

#[test]
fn limits_above_the_maximum_are_refused() {
    let mut task = Task::python("pass");
    task.limits = Limits {
        memory_bytes: Some(1 << 40),
        ..Limits::default()
    };
    let err = sandbox().run(&task, &CancelHandle::new()).unwrap_err();
    assert!(
        err.to_string()
            .contains("memory 1.0 TiB is above the maximum of 4.0 GiB"),
        "{err}"
    );
    task.limits = Limits {
        fuel: Some(0),
        ..Limits::default()
    };
    let err = sandbox().run(&task, &CancelHandle::new()).unwrap_err();
    assert_eq!(err.to_string(), "fuel must be greater than zero");
}

#[test]
fn bad_environment_names_are_refused() {
    let mut task = Task::python("pass");
    task.env.insert("A=B".into(), "x".into());
    let err = sandbox().run(&task, &CancelHandle::new()).unwrap_err();
    assert!(matches!(err, TaskError::BadEnvName(_)), "{err}");
}
