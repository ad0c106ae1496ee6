//! The cap on the guest's writable space (`disk_bytes`): past it a write
//! fails inside the guest with ENOSPC, the host's disk is not filled, the
//! result says so, and a server keeps serving. (WASI numbers ENOSPC 51,
//! not Linux's 28: the guest's Python sees `OSError: [Errno 51] No space
//! left on device`, `errno.ENOSPC`.)

use sandrun::sandbox::{CancelHandle, StoredState, Task};
use sandrun_api::{Limits, Outcome, TaskStatus};
use serde_json::json;

use crate::api_errors::still_serving;
use crate::app::spawn_app;
use crate::session_state::turn_as;
use crate::support::{run, sandbox, stderr, stdout};

const MIB: u64 = 1 << 20;

fn capped(code: &str, disk_bytes: u64) -> Task {
    let mut task = Task::python(code);
    task.limits = Limits {
        disk_bytes: Some(disk_bytes),
        ..Limits::default()
    };
    task
}

/// Free bytes on the file system the sandbox's workspaces live on.
fn free_bytes() -> u64 {
    let stat = nix::sys::statvfs::statvfs(&std::env::temp_dir()).unwrap();
    stat.blocks_available() as u64 * stat.fragment_size() as u64
}

/// Writes 1 MiB at a time to `/tmp/big` until the guest's file system says
/// no, then prints the error and the file's size.
const WRITE_A_GIBIBYTE: &str = "import errno, os
chunk = b'x' * (1 << 20)
with open('/tmp/big', 'wb', buffering=0) as f:
    try:
        for _ in range(1024):
            f.write(chunk)
        print('wrote it all')
    except OSError as e:
        print(errno.errorcode[e.errno], e.strerror)
print(os.path.getsize('/tmp/big'))";

#[test]
fn writing_a_gibibyte_to_tmp_stops_at_the_default_cap_with_enospc() {
    let default = sandbox().policy().defaults.disk_bytes;
    assert_eq!(default, 256 * MIB);
    let before = free_bytes();
    let r = run(&Task::python(WRITE_A_GIBIBYTE));
    let after = free_bytes();
    assert_eq!(r.outcome, Outcome::Succeeded, "{}", stderr(&r));
    assert_eq!(
        stdout(&r),
        format!("ENOSPC No space left on device\n{default}\n")
    );
    assert!(r.disk_exceeded);
    assert_eq!(r.limits.disk_bytes, default);
    // Other tests write too: the bound is far below the gibibyte.
    assert!(
        before.abs_diff(after) < 128 * MIB,
        "free space went from {before} to {after}"
    );
}

#[test]
fn an_uncaught_enospc_is_the_guests_error_and_flagged() {
    let r = run(&capped("open('/tmp/f', 'wb').write(b'x' * (2 << 20))", MIB));
    assert_eq!(r.outcome, Outcome::Exited);
    assert!(
        stderr(&r).contains("OSError: [Errno 51] No space left on device"),
        "{}",
        stderr(&r)
    );
    assert!(r.disk_exceeded);
}

#[test]
fn every_way_of_growing_a_file_is_counted() {
    let code = "import errno, os
def attempt(what, grow):
    try:
        grow()
        print(what, 'ok')
    except OSError as e:
        print(what, errno.errorcode[e.errno])
fd = os.open('/tmp/f', os.O_RDWR | os.O_CREAT)
attempt('pwrite past the cap', lambda: os.pwrite(fd, b'x', 2 << 20))
attempt('truncate past the cap', lambda: os.ftruncate(fd, 2 << 20))
attempt('truncate within it', lambda: os.ftruncate(fd, 1000))
attempt('append within it', lambda: open('/tmp/f', 'ab').write(b'y' * 1000))
attempt('append past it', lambda: open('/tmp/f', 'ab').write(b'y' * (1 << 20)))
attempt('overwrite in place', lambda: os.pwrite(fd, b'z' * 2000, 0))
print(os.path.getsize('/tmp/f'))";
    let r = run(&capped(code, MIB));
    assert_eq!(r.outcome, Outcome::Succeeded, "{}", stderr(&r));
    assert_eq!(
        stdout(&r),
        "pwrite past the cap ENOSPC\ntruncate past the cap ENOSPC\ntruncate within it ok\n\
         append within it ok\nappend past it ENOSPC\noverwrite in place ok\n2000\n"
    );
    assert!(r.disk_exceeded);
}

#[test]
fn a_deleted_file_gives_its_space_back() {
    let code = "import os
for name in 'abcdef':
    with open(f'/tmp/{name}', 'wb') as f:
        f.write(b'x' * 600_000)
    os.remove(f'/tmp/{name}')
print('six files of 600 kB, one at a time')";
    let r = run(&capped(code, MIB));
    assert_eq!(r.outcome, Outcome::Succeeded, "{}", stderr(&r));
    assert!(!r.disk_exceeded);
}

#[test]
fn output_is_not_disk() {
    let mut task = capped("print('x' * 900_000)\nprint('y' * 900_000)", MIB);
    task.limits.stdout_bytes = Some(4 * MIB);
    let r = run(&task);
    assert_eq!(r.outcome, Outcome::Succeeded, "{}", stderr(&r));
    assert_eq!(r.stdout.as_bytes().len(), 1_800_002);
    assert!(!r.disk_exceeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_reports_the_cap_refuses_one_above_its_maximum_and_keeps_serving() {
    let app = spawn_app().await;
    let task = app
        .run(json!({"runtime": "python", "code": WRITE_A_GIBIBYTE, "limits": {"disk_bytes": 4 * MIB}}))
        .await;
    assert_eq!(task.status, TaskStatus::Succeeded);
    let result = task.result.unwrap();
    assert_eq!(
        result.stdout.to_string_lossy(),
        format!("ENOSPC No space left on device\n{}\n", 4 * MIB)
    );
    assert!(result.disk_exceeded);
    assert_eq!(result.limits.disk_bytes, 4 * MIB);

    let maximum = sandbox().policy().maximum.disk_bytes;
    assert_eq!(maximum, 16 << 30);
    let body =
        json!({"runtime": "python", "code": "", "limits": {"disk_bytes": maximum + (1 << 30)}});
    let p = crate::api_errors::problem(app.post("/v1/tasks", &body).await, 400).await;
    assert_eq!(p.field.as_deref(), Some("limits.disk_bytes"));
    assert_eq!(
        p.detail,
        "limits.disk_bytes: disk space 17.0 GiB is above the maximum of 16.0 GiB"
    );
    still_serving(&app).await;
    app.stop().await;
}

/// Run `code` as the next run of a session whose state is `state`, with a
/// disk cap of 1 MiB; the new state and what the run printed.
fn session_run(state: Option<StoredState>, code: &str) -> (Option<StoredState>, String) {
    let id = format!("disk-{:?}", std::thread::current().id());
    let task = capped(code, MIB);
    let ran = turn_as(&id, state.as_ref(), task, 64 * MIB, &CancelHandle::new())
        .expect("the run is accepted");
    assert_eq!(
        ran.result.outcome,
        Outcome::Succeeded,
        "{}",
        stderr(&ran.result)
    );
    (ran.state.map(StoredState::from), stdout(&ran.result))
}

#[test]
fn a_sessions_files_count_against_each_later_run() {
    let write = "import errno
try:
    open(f'/tmp/{name}', 'wb').write(b'x' * 600_000)
    print('kept')
except OSError as e:
    print(errno.errorcode[e.errno])";
    let (state, out) = session_run(None, &format!("name = 'a'\n{write}"));
    assert_eq!(out, "kept\n");
    let (_, out) = session_run(state, &format!("name = 'b'\n{write}"));
    assert_eq!(out, "ENOSPC\n", "the first run's file is still there");
}

/// Every entry weighs a 4 KiB block: a guest making empty files, folders
/// or links by the thousand fills its own quota, not the host's inodes, and
/// deleting them gives the room back.
#[test]
fn empty_files_folders_and_links_each_weigh_a_block() {
    let code = "import errno, os
def fill(make):
    n = 0
    try:
        while n < 100000:
            make(n)
            n += 1
    except OSError as e:
        return n, errno.errorcode[e.errno]
    return n, 'no error'
files = fill(lambda n: open(f'/tmp/f{n}', 'w').close())
print('files', *files)
for name in os.listdir('/tmp'):
    os.remove(f'/tmp/{name}')
print('folders', *fill(lambda n: os.mkdir(f'/tmp/d{n}')))
for name in os.listdir('/tmp'):
    os.rmdir(f'/tmp/{name}')
open('/tmp/target', 'w').close()
print('links', *fill(lambda n: os.symlink('target', f'/tmp/l{n}')))
print('left', len(os.listdir('/tmp')))";
    let r = run(&capped(code, MIB));
    assert_eq!(r.outcome, Outcome::Succeeded, "{}", stderr(&r));
    // 1 MiB holds 256 blocks; the target file takes one of them.
    assert_eq!(
        stdout(&r),
        "files 256 ENOSPC\nfolders 256 ENOSPC\nlinks 255 ENOSPC\nleft 256\n"
    );
    assert!(r.disk_exceeded);
}
