//! Rich results (`result.results`): what `sandrun.display` shows, the
//! figures a run leaves open, a trailing expression, the caps
//! on them, and the same through a real server.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sandrun::sandbox::{CancelHandle, Task};
use sandrun_api::{MimeBundle, Outcome, TaskResult, TaskStatus};
use serde_json::json;

use crate::app::{python, spawn_app};
use crate::session_state::turn_as;
use crate::support::{sandbox, stderr, stdout};

fn ran(code: &str) -> TaskResult {
    let r = crate::support::python(code);
    assert_eq!(r.outcome, Outcome::Succeeded, "{}", stderr(&r));
    r
}

/// The width and height a PNG's header gives.
fn png_size(base64: &str) -> (u32, u32) {
    let png = STANDARD.decode(base64).expect("standard base64");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let at = |i: usize| u32::from_be_bytes(png[i..i + 4].try_into().unwrap());
    (at(16), at(20))
}

fn bundle(pairs: &[(&str, &str)]) -> MimeBundle {
    MimeBundle(
        pairs
            .iter()
            .map(|(mime, text)| (mime.to_string(), json!(text)))
            .collect(),
    )
}

#[test]
fn display_honours_each_repr_method_with_text_plain_beside() {
    let r = ran("import sandrun
class Shape:
    def _repr_svg_(self): return '<svg/>'
    def __repr__(self): return 'Shape()'
class Note:
    def _repr_markdown_(self): return '*hi*'
    def _repr_latex_(self): return '$x^2$'
    def _repr_json_(self): return {'a': [1, 2]}
    def _repr_html_(self): return None
class Given:
    def _repr_mimebundle_(self, include=None, exclude=None):
        return {'text/plain': 'given', 'text/html': '<i>given</i>'}, {}
sandrun.display(Shape(), Note(), Given(), 'plain')");
    assert_eq!(
        r.results[0],
        bundle(&[("image/svg+xml", "<svg/>"), ("text/plain", "Shape()")])
    );
    let note = &r.results[1];
    assert_eq!(note.text("text/markdown"), Some("*hi*"));
    assert_eq!(note.text("text/latex"), Some("$x^2$"));
    assert_eq!(note.0["application/json"], json!({"a": [1, 2]}));
    assert!(!note.0.contains_key("text/html"), "None shows nothing");
    assert_eq!(
        r.results[2],
        bundle(&[("text/html", "<i>given</i>"), ("text/plain", "given")])
    );
    assert_eq!(r.results[3], bundle(&[("text/plain", "'plain'")]));
    assert_eq!(r.results.len(), 4);
    assert!(!r.results_truncated);
}

#[test]
fn a_dataframe_shows_as_an_html_table_and_plain_text() {
    let r = ran("import pandas as pd, sandrun
sandrun.display(pd.DataFrame({'a': [1, 2], 'b': [3, 4]}))");
    let [table] = r.results.as_slice() else {
        panic!("{:?}", r.results)
    };
    assert!(table.text("text/html").unwrap().contains("<table"));
    assert!(table.text("text/plain").unwrap().contains("a  b"));
}

#[test]
fn a_figure_displayed_is_a_png_and_one_left_open_is_shown_and_closed() {
    let r = ran("import matplotlib.pyplot as plt, sandrun
fig = plt.figure(figsize=(4, 3), dpi=50)
plt.plot([1, 2, 3]); plt.title('shown')
sandrun.display(fig)
plt.close(fig)
plt.figure(); plt.plot([3, 2, 1]); plt.title('left open')
print('drawn')");
    assert_eq!(stdout(&r), "drawn\n");
    let [shown, left_open] = r.results.as_slice() else {
        panic!("{:?}", r.results)
    };
    let (width, height) = png_size(shown.text("image/png").unwrap());
    assert!(width <= 200 && height <= 150, "{width}x{height}");
    let (width, height) = png_size(left_open.text("image/png").unwrap());
    assert!(width > 300 && height > 200, "{width}x{height}");
    assert!(left_open.text("text/plain").unwrap().starts_with("<Figure"));
}

#[test]
fn results_past_the_cap_are_dropped_and_flagged_without_an_error() {
    let r = ran("import sandrun
for i in range(150):
    sandrun.display(i)
print('carried on')");
    assert_eq!(stdout(&r), "carried on\n");
    assert_eq!(r.results.len(), 100);
    assert_eq!(r.results[99], bundle(&[("text/plain", "99")]));
    assert!(r.results_truncated);
}

#[test]
fn a_bundle_of_unknown_or_malformed_types_is_refused() {
    let r = ran("import sandrun
for data in ({'text/x-mine': 'x'}, {'image/png': 'not base64!'}, {'text/html': 3}, {}):
    try:
        sandrun.call('display', data=data)
    except sandrun.HostCallError as e:
        print(e.code, e)");
    let out = stdout(&r);
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[0].starts_with(
            "bad_request bad `display` request: `text/x-mine` is not one of text/plain"
        ),
        "{out}"
    );
    assert!(
        lines[1].contains("`image/png` is not standard base64"),
        "{out}"
    );
    assert!(lines[2].ends_with("`text/html` must be a string"), "{out}");
    assert!(
        lines[3].ends_with("`data` holds no representation"),
        "{out}"
    );
    assert!(r.results.is_empty());
}

fn session_run(code: &str) -> TaskResult {
    let id = format!("results-{:?}", std::thread::current().id());
    let task = Task::python(code);
    let ran = turn_as(&id, None, task, 256 << 20, &CancelHandle::new()).expect("accepted");
    assert_eq!(
        ran.result.outcome,
        Outcome::Succeeded,
        "{}",
        stderr(&ran.result)
    );
    ran.result
}

#[test]
fn a_session_runs_trailing_expression_is_a_result() {
    let r = session_run("1 + 1");
    assert_eq!(r.results, [bundle(&[("text/plain", "2")])]);
    assert_eq!(r.value.as_deref(), Some("2"));
    assert_eq!(stdout(&r), "", "stdout is as it was");

    let r = session_run("import pandas as pd\npd.DataFrame({'a': [1]})");
    assert!(r.results[0].text("text/html").unwrap().contains("<table"));
}

/// A task's code runs as a notebook cell: its trailing expression's value
/// is a result, stdout is as it was, and a task without one (or ending in
/// a call that returns None) has none.
#[test]
fn a_tasks_trailing_expression_is_a_result() {
    let r = ran("x = 20\nx + 22");
    assert_eq!(r.results, [bundle(&[("text/plain", "42")])]);
    assert_eq!(stdout(&r), "");
    assert_eq!(r.value, None, "value is a session run's");
    for code in ["print(1)", "x = 1", "None", "def f():\n    return 1"] {
        assert!(ran(code).results.is_empty(), "{code}");
    }
    let r = crate::support::python("1 / 0");
    assert_eq!(r.outcome, Outcome::Exited);
    assert!(stderr(&r).contains("ZeroDivisionError"), "{}", stderr(&r));
    assert!(r.results.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_returns_the_results_of_tasks_and_session_runs() {
    let app = spawn_app().await;
    let task = app
        .run(python(
            "import matplotlib.pyplot as plt, sandrun\nsandrun.display({'k': 1})\n_ = plt.plot([1, 2])",
        ))
        .await;
    assert_eq!(task.status, TaskStatus::Succeeded);
    let results = task.result.unwrap().results;
    assert_eq!(results[0], bundle(&[("text/plain", "{'k': 1}")]));
    png_size(results[1].text("image/png").unwrap());

    let session = app.open_session(json!({})).await;
    let run = app.session_run(&session.id, "6 * 7").await;
    assert_eq!(
        run.result.unwrap().results,
        [bundle(&[("text/plain", "42")])]
    );
    app.stop().await;
}

/// The caps are limits like the others: a task asks for its own, a request
/// above the server's maximum is a 400 naming the field, and the server
/// keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_sets_its_own_result_caps_within_the_maximum() {
    let app = spawn_app().await;
    let code =
        "import sandrun\nfor i in range(5):\n    sandrun.display(i)\nsandrun.display('x' * 5000)";
    let few = app
        .run(json!({"runtime": "python", "code": code, "limits": {"results": 3}}))
        .await;
    let result = few.result.unwrap();
    assert_eq!(result.results.len(), 3);
    assert!(result.results_truncated);
    assert_eq!(result.limits.results, 3);
    let small = app
        .run(json!({"runtime": "python", "code": code, "limits": {"result_bytes": 1000}}))
        .await;
    let result = small.result.unwrap();
    assert_eq!(
        result.results.len(),
        5,
        "the 5,000-character one does not fit"
    );
    assert!(result.results_truncated);
    assert_eq!(result.limits.result_bytes, 1000);

    let maximum = sandbox().policy().maximum;
    for (field, above) in [
        ("results", maximum.results + 1),
        ("result_bytes", maximum.result_bytes + 1),
    ] {
        let body = json!({"runtime": "python", "code": "", "limits": {field: above}});
        let p = crate::api_errors::problem(app.post("/v1/tasks", &body).await, 400).await;
        assert_eq!(p.field.as_deref(), Some(format!("limits.{field}").as_str()));
    }
    let still = app.run(python("print(1)")).await;
    assert_eq!(still.status, TaskStatus::Succeeded);
    app.stop().await;
}
