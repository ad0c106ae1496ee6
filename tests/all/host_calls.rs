//! The host calls behind `host.call`, through the Python helper and through
//! hand-written modules that lie about their memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sandrun::sandbox::{CancelHandle, KvError, KvStore, Task, TaskHooks};
use sandrun_api::{LogLevel, LogLine, Outcome, TaskResult};
use serde_json::{Value, json};

use crate::support::{python, run, sandbox, stderr, stdout};

/// A real, in-memory key-value store, and a record of what the task reported.
#[derive(Default)]
pub struct Recorder {
    kv: Mutex<HashMap<(String, String), Value>>,
    logs: Mutex<Vec<LogLine>>,
    progress: Mutex<Vec<f64>>,
}

impl KvStore for Recorder {
    fn get(&self, namespace: &str, key: &str) -> Result<Option<Value>, KvError> {
        let kv = self.kv.lock().unwrap();
        Ok(kv.get(&(namespace.into(), key.into())).cloned())
    }
    fn put(&self, namespace: &str, key: &str, value: &Value) -> Result<(), KvError> {
        let mut kv = self.kv.lock().unwrap();
        kv.insert((namespace.into(), key.into()), value.clone());
        Ok(())
    }
    fn delete(&self, namespace: &str, key: &str) -> Result<bool, KvError> {
        let mut kv = self.kv.lock().unwrap();
        Ok(kv.remove(&(namespace.into(), key.into())).is_some())
    }
}

impl TaskHooks for Recorder {
    fn log(&self, line: &LogLine) {
        self.logs.lock().unwrap().push(line.clone());
    }
    fn progress(&self, fraction: f64) {
        self.progress.lock().unwrap().push(fraction);
    }
    fn kv(&self) -> Option<&dyn KvStore> {
        Some(self)
    }
}

pub fn run_hooked(task: &Task, hooks: &Arc<Recorder>) -> TaskResult {
    sandbox()
        .run_with(task, &CancelHandle::new(), hooks.clone())
        .expect("the task is accepted")
        .result
}

/// Run `body` and print `CODE: message` for the HostCallError it raises.
fn refusal(body: &str) -> String {
    let code = format!(
        "import sandrun\ntry:\n    {body}\n    print('allowed')\nexcept sandrun.HostCallError as e:\n    print(f'{{e.code}}: {{e}}')"
    );
    let r = python(&code);
    assert_eq!(r.outcome, Outcome::Succeeded, "{}", stderr(&r));
    stdout(&r)
}

#[test]
fn python_input_round_trips_to_output() {
    let mut task = Task::python(
        "import sandrun\ndata = sandrun.input()\nsandrun.output({'total': sum(data['xs']), 'name': data['name'].upper()})",
    );
    task.input = Some(json!({"xs": [1, 2, 3.5], "name": "ünïcode"}));
    let r = run(&task);
    assert_eq!(r.outcome, Outcome::Succeeded, "{}", stderr(&r));
    assert_eq!(r.output, Some(json!({"total": 6.5, "name": "ÜNÏCODE"})));
    assert_eq!(stdout(&r), "", "output is apart from stdout");
}

#[test]
fn input_is_none_without_one_and_output_stays_unset() {
    let r = python("import sandrun\nprint(sandrun.input())");
    assert_eq!(stdout(&r), "None\n");
    assert_eq!(r.output, None);
}

#[test]
fn the_last_output_wins() {
    let r = python("import sandrun\nsandrun.output(1)\nsandrun.output([2])");
    assert_eq!(r.output, Some(json!([2])));
}

#[test]
fn logs_and_progress_are_kept_and_streamed() {
    let hooks = Arc::new(Recorder::default());
    let task = Task::python(
        "import sandrun\nsandrun.log('starting')\nsandrun.progress(0.25)\nsandrun.log('error', 'oops')\nsandrun.progress(1)",
    );
    let r = run_hooked(&task, &hooks);
    assert_eq!(r.outcome, Outcome::Succeeded, "{}", stderr(&r));
    let levels: Vec<_> = r
        .logs
        .iter()
        .map(|l| (l.level, l.message.as_str()))
        .collect();
    assert_eq!(
        levels,
        [(LogLevel::Info, "starting"), (LogLevel::Error, "oops")]
    );
    assert!(r.logs[0].at_ms > 0.0 && r.logs[0].at_ms <= r.logs[1].at_ms);
    assert_eq!(*hooks.logs.lock().unwrap(), r.logs);
    assert_eq!(r.progress, Some(1.0));
    assert_eq!(*hooks.progress.lock().unwrap(), [0.25, 1.0]);
}

#[test]
fn kv_puts_gets_and_deletes_within_the_tasks_namespace() {
    let hooks = Arc::new(Recorder::default());
    let counter = "import sandrun\nn = sandrun.kv.get('count', 0) + 1\nsandrun.kv.put('count', n)\nsandrun.output(n)";
    let mut task = Task::python(counter);
    task.kv_namespace = Some("alpha".into());
    assert_eq!(run_hooked(&task, &hooks).output, Some(json!(1)));
    assert_eq!(run_hooked(&task, &hooks).output, Some(json!(2)));
    task.kv_namespace = Some("beta".into());
    assert_eq!(run_hooked(&task, &hooks).output, Some(json!(1)));

    let mut delete = Task::python(
        "import sandrun\nprint(sandrun.kv.delete('count'), sandrun.kv.delete('count'), sandrun.kv.get('count'))",
    );
    delete.kv_namespace = Some("alpha".into());
    assert_eq!(stdout(&run_hooked(&delete, &hooks)), "True False None\n");
    let kv = hooks.kv.lock().unwrap();
    assert_eq!(kv.get(&("beta".into(), "count".into())), Some(&json!(1)));
    assert!(!kv.contains_key(&("alpha".into(), "count".into())));
}

#[test]
fn kv_without_a_store_or_a_namespace_is_a_clear_error() {
    assert_eq!(
        refusal("sandrun.kv.get('k')"),
        "kv_unavailable: no key-value store: this host offers none\n"
    );
    let hooks = Arc::new(Recorder::default());
    let r = run_hooked(
        &Task::python(
            "import sandrun\ntry:\n    sandrun.kv.put('k', 1)\nexcept sandrun.HostCallError as e:\n    print(e.code, e)",
        ),
        &hooks,
    );
    assert_eq!(
        stdout(&r),
        "kv_unavailable no key-value store: the task names no kv namespace\n"
    );
}

#[test]
fn an_unknown_call_is_an_error_the_guest_catches() {
    assert_eq!(
        refusal("sandrun.call('launch_missiles')"),
        "unknown_call: unknown host call `launch_missiles`; the host offers input, output, log, progress, kv_get, kv_put, kv_delete, display\n"
    );
}

#[test]
fn malformed_requests_are_refused() {
    let out = refusal(
        "import _host, json\n    r = json.loads(_host.call(b'not json'))\n    raise sandrun.HostCallError(r['error']['code'], r['error']['message'])",
    );
    assert!(
        out.starts_with("bad_request: the request is not a JSON object"),
        "{out}"
    );
    let out = refusal("sandrun.call('log', level='loud', message='x')");
    assert!(
        out.starts_with("bad_request: bad `log` request: unknown variant `loud`"),
        "{out}"
    );
    let out = refusal("sandrun.call('progress')");
    assert!(
        out.starts_with("bad_request: bad `progress` request: missing field `value`"),
        "{out}"
    );
}

#[test]
fn each_limit_is_a_clear_error() {
    let cases = [
        (
            "sandrun.progress(1.5)",
            "invalid: progress must be a number from 0 to 1, not 1.5",
        ),
        (
            "sandrun.log('x' * 8193)",
            "too_large: the log message is 8193 bytes; at most 8192 are allowed",
        ),
        (
            "sandrun.output('x' * (1 << 20))",
            "too_large: the output is 1048578 bytes; at most 1048576 are allowed",
        ),
        (
            "sandrun.call('output', value='x' * (1 << 20 + 1))",
            "too_large: the request is 2097183 bytes; the task's host_call_bytes limit allows 2097152",
        ),
        (
            "sandrun.kv.get('k' * 257)",
            "invalid: a kv key must be 1 to 256 bytes, not 257",
        ),
        (
            "sandrun.kv.get('')",
            "invalid: a kv key must be 1 to 256 bytes, not 0",
        ),
        (
            "sandrun.kv.put('k', 'x' * 65536)",
            "too_large: the kv value is 65538 bytes; at most 65536 are allowed",
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(refusal(body), format!("{expected}\n"), "{body}");
    }
}

#[test]
fn a_task_keeps_at_most_a_thousand_log_lines() {
    let r = python(
        "import sandrun\nfor i in range(1000):\n    sandrun.log(str(i))\ntry:\n    sandrun.log('one more')\nexcept sandrun.HostCallError as e:\n    print(e.code, e)",
    );
    assert_eq!(
        stdout(&r),
        "limit_reached the task already logged 1000 lines; no more are kept\n"
    );
    assert_eq!(r.logs.len(), 1000);
    assert_eq!(r.logs[999].message, "999");
}

#[test]
fn a_million_kv_calls_are_stopped_at_the_host_call_limit() {
    let hooks = Arc::new(Recorder::default());
    let mut task = Task::python(
        "import sandrun\nfor i in range(1_000_000):\n    sandrun.kv.put(str(i), i)\nprint('all made')",
    );
    task.kv_namespace = Some("many".into());
    let r = run_hooked(&task, &hooks);
    assert_eq!(r.outcome, Outcome::HostCallsExceeded, "{}", stderr(&r));
    assert_eq!(r.limits.host_calls, 100_000, "the default");
    assert_eq!(
        r.message.as_deref(),
        Some("host-call limit of 100000 reached")
    );
    assert_eq!(stdout(&r), "");
    assert_eq!(
        hooks.kv.lock().unwrap().len(),
        100_000,
        "every allowed call ran"
    );
}

#[test]
fn a_task_may_ask_for_fewer_host_calls() {
    let mut task = Task::python(
        "import sandrun\nfor i in range(3):\n    sandrun.log(str(i))\nprint('three made', flush=True)\nsandrun.log('one more')",
    );
    task.limits.host_calls = Some(3);
    let r = run(&task);
    assert_eq!(r.outcome, Outcome::HostCallsExceeded, "{}", stderr(&r));
    assert_eq!(stdout(&r), "three made\n");
    assert_eq!(r.logs.len(), 3);
}

#[test]
fn a_host_call_carries_at_most_host_call_bytes_each_way() {
    let hooks = Arc::new(Recorder::default());
    // A value stored under a large limit, read back under a small one.
    let mut task = Task::python("import sandrun\nsandrun.kv.put('big', 'x' * 60000)");
    task.kv_namespace = Some("sizes".into());
    assert_eq!(run_hooked(&task, &hooks).outcome, Outcome::Succeeded);
    let mut task = Task::python(
        "import sandrun\n\
         for body in (lambda: sandrun.kv.get('big'), lambda: sandrun.log('y' * 5000)):\n    \
             try:\n        body()\n        print('allowed')\n    \
             except sandrun.HostCallError as e:\n        print(f'{e.code}: {e}')\n\
         print(len(sandrun.kv.get('missing') or ''))",
    );
    task.kv_namespace = Some("sizes".into());
    task.limits.host_call_bytes = Some(4096);
    let r = run_hooked(&task, &hooks);
    assert_eq!(r.outcome, Outcome::Succeeded, "{}", stderr(&r));
    assert_eq!(r.limits.host_call_bytes, 4096);
    let out = stdout(&r);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(
        lines[0],
        "too_large: the reply is 60009 bytes; the task's host_call_bytes limit allows 4096"
    );
    assert!(
        lines[1].starts_with("too_large: the request is 50")
            && lines[1].ends_with(" bytes; the task's host_call_bytes limit allows 4096"),
        "{out}"
    );
    assert_eq!(lines[2], "0", "the next call is answered");
}

#[test]
fn an_input_fits_in_one_host_call_or_the_task_is_refused() {
    // `{"ok":"xx…x"}`: 7 bytes around the value, 2 quotes around the text.
    let fits = |text_len: usize| {
        let mut task = Task::python("import sandrun\nprint(len(sandrun.input()))");
        task.input = Some(json!("x".repeat(text_len)));
        task.limits.host_call_bytes = Some(1000);
        task
    };
    let r = run(&fits(991));
    assert_eq!(r.outcome, Outcome::Succeeded, "{}", stderr(&r));
    assert_eq!(stdout(&r), "991\n", "exactly at the limit");
    let refused = sandbox().check(&fits(992)).expect_err("one byte over");
    assert_eq!(
        refused.to_string(),
        "the input is 1001 bytes as the guest reads it; the task's host_call_bytes limit allows 1000"
    );
}
