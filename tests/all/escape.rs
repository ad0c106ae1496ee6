//! Attempts to reach outside the sandbox fail inside the guest and leave the
//! host untouched.

use sandrun::sandbox::Task;
use sandrun_api::Outcome;

use crate::support::{python, run, stdout};

/// Run `attempt` and print `blocked <ExceptionName>` if it raises.
fn attempt(body: &str) -> String {
    let indented: String = body.lines().map(|l| format!("    {l}\n")).collect();
    let code = format!(
        "try:\n{indented}    print('allowed')\nexcept BaseException as e:\n    print('blocked', type(e).__name__)\n"
    );
    let r = python(&code);
    assert_eq!(r.outcome, Outcome::Succeeded, "{r:?}");
    stdout(&r)
}

#[test]
fn host_files_cannot_be_read() {
    let out = attempt("print(open('/etc/passwd').read())");
    assert!(out.starts_with("blocked"), "{out}");
    assert!(!out.contains("root:"));
}

#[test]
fn the_root_shows_no_host_entries() {
    let r = python(
        "import os\ntry:\n    print(sorted(os.listdir('/')))\nexcept OSError as e:\n    print('blocked', type(e).__name__)",
    );
    let out = stdout(&r);
    for host_entry in ["etc", "proc", "home", "root", "usr/bin", "var"] {
        assert!(!out.contains(&format!("'{host_entry}'")), "{out}");
    }
}

#[test]
fn dot_dot_cannot_leave_input() {
    let mut task = Task::python(
        "for path in ['/input/../../etc/passwd', '/input/../tmp/../../etc/hostname', '/input/../..']:\n    try:\n        open(path).read()\n        print('allowed', path)\n    except OSError as e:\n        print('blocked', type(e).__name__)",
    );
    task.files.insert("a.txt".into(), b"a".to_vec());
    let out = stdout(&run(&task));
    assert_eq!(out.matches("blocked").count(), 3, "{out}");
}

#[test]
fn nothing_outside_tmp_can_be_written() {
    for path in [
        "/escape.txt",
        "/input/new.txt",
        "/usr/local/lib/evil.zip",
        "/tmp/../escape.txt",
    ] {
        let out = attempt(&format!("open('{path}', 'w').write('x')"));
        assert!(out.starts_with("blocked"), "{path}: {out}");
    }
    assert!(!std::path::Path::new("/escape.txt").exists());
}

#[test]
fn sockets_cannot_connect() {
    let out = attempt(
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\ns.connect(('127.0.0.1', 5432))",
    );
    assert!(out.starts_with("blocked"), "{out}");
}

#[test]
fn processes_cannot_be_started() {
    let out = attempt("import subprocess\nsubprocess.run(['ls', '/'])");
    assert!(out.starts_with("blocked"), "{out}");
    let out = attempt(
        "import os\nif os.system('touch /tmp/host-marker') != 0:\n    raise OSError('failed')",
    );
    assert!(out.starts_with("blocked"), "{out}");
    assert!(!std::path::Path::new("/tmp/host-marker").exists());
}

#[test]
fn host_environment_variables_are_not_visible() {
    assert!(
        std::env::var_os("PATH").is_some(),
        "the host has a PATH to hide"
    );
    let r = python("import os\nprint(sorted(os.environ))");
    assert_eq!(
        stdout(&r),
        "['HOME', 'MPLBACKEND', 'PYTHONTZPATH', 'TMPDIR']\n"
    );
}
