//! A session's state as data, in the sandbox: what survives from run to
//! run, what a limit rolls back, that a copy of the state is a fork that
//! shares nothing, and when a run finds its session live.
//!
//! Each test is one session (its thread's id), so its runs find the
//! instance the last one kept live when they are given the state that
//! run stored; the `restored` helpers use a session id of their own,
//! which is never live, to prove what the stored state alone holds.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sandrun::sandbox::{
    CancelHandle, NoHooks, Ran, SessionInput, SessionState, StoredState, Task, TaskError,
};
use sandrun_api::{Outcome, SessionStart};

use crate::support::{sandbox, stderr, stdout};

const MAX_STATE: u64 = 256 << 20;

/// A session's state, as stored.
type State = StoredState;

/// Its bytes.
fn bytes(state: &State) -> &[u8] {
    state
        .bytes
        .as_deref()
        .expect("a stored state has its bytes")
}

/// `bytes` as a state that no run made.
fn made_up(bytes: &[u8]) -> State {
    State {
        token: "made up".into(),
        bytes: Some(bytes.into()),
    }
}

/// Run `code` as the next run of the session whose state is `state`.
fn turn(state: Option<&State>, code: &str) -> Ran {
    turn_with(state, Task::python(code), MAX_STATE, &CancelHandle::new())
}

fn turn_with(state: Option<&State>, task: Task, max_state: u64, cancel: &CancelHandle) -> Ran {
    try_turn(state, task, max_state, cancel).expect("the run is accepted")
}

fn try_turn(
    state: Option<&State>,
    task: Task,
    max_state: u64,
    cancel: &CancelHandle,
) -> Result<Ran, sandrun::sandbox::TaskError> {
    // One session per test: each runs on a thread of its own.
    let id = format!("{:?}", std::thread::current().id());
    turn_as(&id, state, task, max_state, cancel)
}

/// Run `task` as the run of session `id` whose state is `state`.
pub fn turn_as(
    id: &str,
    state: Option<&State>,
    mut task: Task,
    max_state: u64,
    cancel: &CancelHandle,
) -> Result<Ran, sandrun::sandbox::TaskError> {
    task.session = Some(SessionInput {
        id: id.to_owned(),
        state: state.cloned(),
        max_state_bytes: max_state,
    });
    sandbox().run_with(&task, cancel, Arc::new(NoHooks))
}

/// Run `code` from `state` alone: as a session no process holds live.
fn restored(state: &State, code: &str) -> Ran {
    static SESSIONS: AtomicU64 = AtomicU64::new(0);
    let id = format!("restored-{}", SESSIONS.fetch_add(1, Ordering::Relaxed));
    let ran = turn_as(
        &id,
        Some(state),
        Task::python(code),
        MAX_STATE,
        &CancelHandle::new(),
    )
    .expect("the run is accepted");
    assert_eq!(ran.result.session_start, Some(SessionStart::Stored));
    assert_eq!(
        ran.result.outcome,
        Outcome::Succeeded,
        "{}",
        stderr(&ran.result)
    );
    ran
}

/// A session that has run each of `codes`, each ending well.
fn session(codes: &[&str]) -> State {
    let mut state = None;
    for code in codes {
        let ran = turn(state.as_ref(), code);
        assert_eq!(
            ran.result.outcome,
            Outcome::Succeeded,
            "{}",
            stderr(&ran.result)
        );
        state = Some(State::from(
            ran.state.expect("a run that ended well keeps its state"),
        ));
    }
    state.expect("at least one run")
}

/// The value of `expression` in the session, as the REPL shows it.
fn value(state: &State, expression: &str) -> Option<String> {
    let ran = turn(Some(state), expression);
    assert_eq!(
        ran.result.outcome,
        Outcome::Succeeded,
        "{}",
        stderr(&ran.result)
    );
    ran.result.value
}

#[test]
fn variables_imports_arrays_and_tmp_files_persist() {
    let state = session(&[
        "import numpy as np\nimport json\nx = 41\ndef double(v):\n    return 2 * v\nclass Box:\n    pass",
        "x += 1\narr = np.arange(5) * double(x)\nopen('/tmp/notes.txt', 'w').write('kept')\nimport os\nos.mkdir('/tmp/sub')\nopen('/tmp/sub/b.bin', 'wb').write(bytes(range(256)))",
    ]);
    assert_eq!(value(&state, "x").as_deref(), Some("42"));
    assert_eq!(
        value(&state, "arr.tolist()").as_deref(),
        Some("[0, 84, 168, 252, 336]")
    );
    assert_eq!(
        value(&state, "json.dumps(Box.__name__)").as_deref(),
        Some("'\"Box\"'")
    );
    assert_eq!(
        value(
            &state,
            "open('/tmp/notes.txt').read(), len(open('/tmp/sub/b.bin', 'rb').read())"
        )
        .as_deref(),
        Some("('kept', 256)")
    );
    assert_eq!(SessionState::from_bytes(bytes(&state)).unwrap().runs(), 2);
}

/// Every page a run writes is kept, wherever it is and however the pages
/// were touched (written once, rewritten with what they held, freed and
/// reused, grown past the snapshot's memory), run after run: a page left
/// out would change the digests, or break the interpreter.
#[test]
fn every_written_page_is_kept_run_after_run() {
    let mut state = session(&["import hashlib, random\n\
         rng = random.Random(7)\n\
         big = bytearray(rng.randbytes(24 << 20))\n\
         digest = hashlib.sha256(big).hexdigest()"]);
    for round in 0..3 {
        let code = format!(
            "assert hashlib.sha256(big).hexdigest() == digest\n\
             for i in range({round}, len(big), 4096 * 7):\n    big[i] = (big[i] + 1) % 256\n\
             same = bytes(big[:4096 * 64])\n\
             big[:4096 * 64] = same\n\
             scratch = [bytes(1000) for _ in range(2000)]\n\
             del scratch\n\
             digest = hashlib.sha256(big).hexdigest()"
        );
        // From the stored state alone: a live instance would hide a page
        // the state left out.
        state = restored(&state, &code).state.unwrap().into();
        // Then twice in this test's session: the first restores and keeps
        // the instance live, the second runs in it, reading back only the
        // pages the kernel saw it write; the next round checks from the
        // stored state alone what that read kept.
        for expected in [SessionStart::Stored, SessionStart::Live] {
            let ran = turn(Some(&state), &code);
            assert_eq!(ran.result.session_start, Some(expected));
            assert_eq!(
                ran.result.outcome,
                Outcome::Succeeded,
                "{}",
                stderr(&ran.result)
            );
            state = ran.state.unwrap().into();
        }
    }
    assert_eq!(
        restored(
            &state,
            "hashlib.sha256(big).hexdigest() == digest, len(big)"
        )
        .result
        .value
        .as_deref(),
        Some("(True, 25165824)")
    );
}

#[test]
fn a_run_given_the_state_its_live_instance_holds_starts_live() {
    let first = turn(None, "x = 1\nimport numpy as np\narr = np.arange(3)");
    assert_eq!(first.result.session_start, Some(SessionStart::New));
    let first = State::from(first.state.unwrap());
    let second = turn(Some(&first), "x += 1\narr = arr * 2");
    assert_eq!(second.result.session_start, Some(SessionStart::Live));
    let second = State::from(second.state.unwrap());
    let third = turn(Some(&second), "x += 1\n(x, arr.tolist())");
    assert_eq!(third.result.session_start, Some(SessionStart::Live));
    assert_eq!(third.result.value.as_deref(), Some("(3, [0, 2, 4])"));
    assert!(third.result.peak_memory_bytes > 0, "{:?}", third.result);

    // An older state is not what the live instance holds: it is restored,
    // and the live instance, now stale, is let go.
    let older = turn(Some(&second), "x");
    assert_eq!(older.result.session_start, Some(SessionStart::Stored));
    assert_eq!(older.result.value.as_deref(), Some("2"));
    let older = State::from(older.state.unwrap());
    let live = turn(Some(&older), "x");
    assert_eq!(live.result.session_start, Some(SessionStart::Live));
    let live = State::from(live.state.unwrap());

    // A run stopped by a limit drops the instance it was stopped in.
    let mut task = Task::python("x = 100\nwhile True: pass");
    task.limits.timeout_ms = Some(500);
    let stopped = turn_with(Some(&live), task, MAX_STATE, &CancelHandle::new());
    assert_eq!(stopped.result.session_start, Some(SessionStart::Live));
    assert!(stopped.result.rolled_back);
    let after = turn(Some(&live), "x");
    assert_eq!(after.result.session_start, Some(SessionStart::Stored));
    assert_eq!(after.result.value.as_deref(), Some("2"));

    // Another session given the same state does not get this one's instance.
    let state = State::from(after.state.unwrap());
    assert_eq!(restored(&state, "x").result.value.as_deref(), Some("2"));

    // Given only the token, a run takes the live instance holding that
    // state, or is refused before it starts when there is none.
    let token = |state: &State| State {
        token: state.token.clone(),
        bytes: None,
    };
    let live = turn(Some(&state), "x += 1");
    assert_eq!(live.result.session_start, Some(SessionStart::Live));
    let live = State::from(live.state.unwrap());
    let by_token = turn(Some(&token(&live)), "x");
    assert_eq!(by_token.result.session_start, Some(SessionStart::Live));
    assert_eq!(by_token.result.value.as_deref(), Some("3"));
    let refused = try_turn(
        Some(&token(&live)),
        Task::python("x"),
        MAX_STATE,
        &CancelHandle::new(),
    );
    assert!(
        matches!(refused, Err(TaskError::StateNotHeld)),
        "{refused:?}"
    );
}

#[test]
fn a_trailing_expression_is_shown_as_the_repl_shows_it() {
    let state = session(&["items = ['a', 'b']"]);
    assert_eq!(value(&state, "items").as_deref(), Some("['a', 'b']"));
    assert_eq!(value(&state, "x = 3\nx * 2").as_deref(), Some("6"));
    assert_eq!(value(&state, "None"), None, "None shows nothing");
    assert_eq!(value(&state, "y = 1"), None, "an assignment shows nothing");
    let ran = turn(Some(&state), "print('out')\nlen(items)");
    assert_eq!(stdout(&ran.result), "out\n");
    assert_eq!(ran.result.value.as_deref(), Some("2"));
}

#[test]
fn an_exception_is_a_result_and_keeps_the_state_reached() {
    let state = session(&["x = 1"]);
    let ran = turn(Some(&state), "x = 2\nraise ValueError('boom')\nx = 3");
    assert_eq!(ran.result.outcome, Outcome::Exited);
    assert_eq!(ran.result.exit_code, Some(1));
    assert!(!ran.result.rolled_back);
    let err = stderr(&ran.result);
    assert!(err.contains("ValueError: boom"), "{err}");
    assert!(
        err.contains("<run 2>"),
        "the traceback names the run: {err}"
    );
    assert!(
        !err.contains("boot"),
        "the runner is not in the traceback: {err}"
    );
    let state = State::from(ran.state.expect("kept, as a notebook keeps it"));
    assert_eq!(value(&state, "x").as_deref(), Some("2"));
    let syntax = turn(Some(&state), "def broken(:\n");
    assert_eq!(syntax.result.outcome, Outcome::Exited);
    assert!(
        stderr(&syntax.result).contains("SyntaxError"),
        "{}",
        stderr(&syntax.result)
    );
    let exit = turn(Some(&state), "import sys\nx = 5\nsys.exit(3)");
    assert_eq!(exit.result.exit_code, Some(3));
    assert_eq!(
        value(&exit.state.unwrap().into(), "x").as_deref(),
        Some("5")
    );
}

#[test]
fn a_limit_rolls_the_session_back() {
    let state = session(&["x = 1"]);
    let mut task = Task::python("x = 2\nwhile True: pass");
    task.limits.timeout_ms = Some(1000);
    let ran = turn_with(Some(&state), task, MAX_STATE, &CancelHandle::new());
    assert_eq!(ran.result.outcome, Outcome::TimedOut);
    assert!(ran.result.rolled_back);
    assert!(ran.state.is_none());
    assert!(
        ran.result
            .message
            .as_deref()
            .unwrap()
            .ends_with("the session is as it was before this run"),
        "{:?}",
        ran.result.message
    );
    assert_eq!(value(&state, "x").as_deref(), Some("1"));

    let mut task = Task::python("x = 3\nbig = bytearray(1 << 30)");
    task.limits.memory_bytes = Some(256 << 20);
    let ran = turn_with(Some(&state), task, MAX_STATE, &CancelHandle::new());
    assert_eq!(ran.result.outcome, Outcome::MemoryExceeded);
    assert!(ran.result.rolled_back && ran.state.is_none());

    let mut task = Task::python("x = 4\nwhile True: pass");
    task.limits.fuel = Some(50_000_000);
    let ran = turn_with(Some(&state), task, MAX_STATE, &CancelHandle::new());
    assert_eq!(ran.result.outcome, Outcome::OutOfFuel);
    assert!(ran.result.rolled_back && ran.state.is_none());

    let ran = turn(Some(&state), "x = 5\nimport os\nos._exit(0)");
    assert!(ran.result.rolled_back, "the interpreter did not return");
    assert_eq!(value(&state, "x").as_deref(), Some("1"));
}

#[test]
fn cancelling_a_run_rolls_it_back() {
    let state = session(&["x = 1"]);
    let cancel = CancelHandle::new();
    let later = cancel.clone();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        later.cancel();
    });
    let ran = turn_with(
        Some(&state),
        Task::python("x = 2\nwhile True: pass"),
        MAX_STATE,
        &cancel,
    );
    canceller.join().unwrap();
    assert_eq!(ran.result.outcome, Outcome::Cancelled);
    assert!(ran.result.rolled_back && ran.state.is_none());
    assert_eq!(value(&state, "x").as_deref(), Some("1"));
}

#[test]
fn a_copied_state_is_a_fork_that_shares_nothing() {
    let parent = session(&[
        "import pandas as pd\nframe = pd.DataFrame({'a': [1, 2]})\nopen('/tmp/f', 'w').write('p')",
    ]);
    let copy = made_up(bytes(&parent));
    let left = session_from(
        &parent,
        "frame['a'] = frame['a'] * 10\nopen('/tmp/f', 'w').write('left')",
    );
    let right = session_from(&copy, "frame['b'] = [3, 4]");
    assert_eq!(
        value(&left, "frame.to_dict('list')").as_deref(),
        Some("{'a': [10, 20]}")
    );
    assert_eq!(
        value(&right, "frame.to_dict('list')").as_deref(),
        Some("{'a': [1, 2], 'b': [3, 4]}")
    );
    assert_eq!(
        value(&right, "open('/tmp/f').read()").as_deref(),
        Some("'p'")
    );
    assert_eq!(
        value(&parent, "frame.to_dict('list')").as_deref(),
        Some("{'a': [1, 2]}")
    );
}

fn session_from(state: &State, code: &str) -> State {
    let ran = turn(Some(state), code);
    assert_eq!(
        ran.result.outcome,
        Outcome::Succeeded,
        "{}",
        stderr(&ran.result)
    );
    ran.state.unwrap().into()
}

#[test]
fn random_streams_and_the_clock_carry_on() {
    let state = session(&[
        "import random, time, numpy\nfirst = (random.random(), numpy.random.random())\nt0 = time.monotonic()",
    ]);
    let state = session_from(&state, "second = (random.random(), numpy.random.random())");
    assert_eq!(
        value(&state, "first[0] != second[0] and first[1] != second[1]").as_deref(),
        Some("True")
    );
    assert_eq!(
        value(&state, "time.monotonic() >= t0").as_deref(),
        Some("True")
    );
    // Two sessions do not share a stream.
    let other = session(&["import random\nfirst = random.random()"]);
    let mine = session(&["import random\nfirst = random.random()"]);
    assert_ne!(value(&other, "first"), value(&mine, "first"));
}

#[test]
fn a_small_change_stores_little_and_the_state_cap_holds() {
    let state = session(&["x = 1"]);
    let next = session_from(&state, "x += 1");
    let stored = bytes(&next).len();
    assert!(stored < 1 << 20, "a small change stored {stored} bytes");

    let task = Task::python("open('/tmp/big', 'wb').write(bytes(2 << 20))");
    let ran = turn_with(Some(&next), task, 1 << 20, &CancelHandle::new());
    assert_eq!(ran.result.outcome, Outcome::StateExceeded);
    assert!(ran.result.rolled_back && ran.state.is_none());
    let task = Task::python("junk = bytes(range(256)) * 40000");
    let ran = turn_with(
        Some(&next),
        task,
        stored as u64 + 4096,
        &CancelHandle::new(),
    );
    assert_eq!(
        ran.result.outcome,
        Outcome::StateExceeded,
        "{:?}",
        ran.result.message
    );
    assert_eq!(value(&next, "x").as_deref(), Some("2"));
}

#[test]
fn one_session_sees_nothing_of_another() {
    let mine = session(&["secret = 'mine'\nopen('/tmp/secret', 'w').write('mine')"]);
    let theirs = session(&["pass"]);
    assert_eq!(
        value(
            &theirs,
            "'secret' in globals(), __import__('os').path.exists('/tmp/secret')"
        )
        .as_deref(),
        Some("(False, False)")
    );
    assert_eq!(value(&mine, "secret").as_deref(), Some("'mine'"));
    let names = value(
        &theirs,
        "sorted(n for n in globals() if n.startswith('_sandrun'))",
    );
    assert_eq!(
        names.as_deref(),
        Some("[]"),
        "the runner is not in the namespace"
    );
}

#[test]
fn a_corrupt_state_is_refused() {
    let state = session(&["x = 1"]);
    let half = made_up(&bytes(&state)[..bytes(&state).len() / 2]);
    let refused = try_turn(
        Some(&half),
        Task::python("x"),
        MAX_STATE,
        &CancelHandle::new(),
    );
    assert!(refused.is_err(), "a corrupt state is refused");
    // The format comes first, as one varint byte: an older one is refused
    // with the reason.
    let mut older = bytes(&state).to_vec();
    older[0] = 1;
    let refused = try_turn(
        Some(&made_up(&older)),
        Task::python("x"),
        MAX_STATE,
        &CancelHandle::new(),
    );
    let error = refused.expect_err("an older format is refused").to_string();
    assert!(
        error.contains("format 1, this server reads 3; restart the session"),
        "{error}"
    );
    let wasm = Task::wasm(std::fs::read(sandrun_test_guests::ECHO).unwrap());
    let refused = try_turn(None, wasm, MAX_STATE, &CancelHandle::new());
    assert!(refused.is_err(), "sessions are Python");
}
