//! The examples under `examples/` run and give the right output.

use std::sync::Arc;

use sandrun::sandbox::Task;
use sandrun_api::{LogLevel, Outcome, TaskResult};
use serde_json::{Value, json};

use crate::host_calls::{Recorder, run_hooked};
use crate::support::{run, stderr};

fn module(path: &str, input: Value) -> TaskResult {
    let mut task = Task::wasm(std::fs::read(path).expect("build.rs built the example"));
    task.input = Some(input);
    run(&task)
}

fn python_example(name: &str) -> Task {
    let path = format!(
        "{}/../examples/python/{name}/task.py",
        env!("CARGO_MANIFEST_DIR")
    );
    Task::python(std::fs::read_to_string(path).expect("the example exists"))
}

fn succeeded(r: &TaskResult) -> &Value {
    assert_eq!(r.outcome, Outcome::Succeeded, "{}", stderr(r));
    r.output.as_ref().expect("the task set an output")
}

#[test]
fn wordcount_counts_words() {
    let r = module(
        sandrun_test_guests::WORDCOUNT,
        json!({"text": "The cat and the hat. THE END, the end!", "top": 2}),
    );
    assert_eq!(
        succeeded(&r),
        &json!({"total_words": 9, "distinct_words": 5, "top": [["the", 4], ["end", 2]]})
    );
    assert_eq!(r.logs[0].message, "9 words, 5 distinct");
}

#[test]
fn input_that_does_not_fit_the_type_exits_two_with_the_reason() {
    let r = module(sandrun_test_guests::WORDCOUNT, json!({"txt": "typo"}));
    assert_eq!(r.outcome, Outcome::Exited);
    assert_eq!(r.exit_code, Some(2));
    assert_eq!(r.output, None);
    assert!(
        stderr(&r).contains("bad input: JSON: missing field `text`"),
        "{}",
        stderr(&r)
    );
}

#[test]
fn csv_filter_keeps_matching_rows() {
    let r = module(
        sandrun_test_guests::CSV_FILTER,
        json!({"csv": "name,team\nada,red\n\"bob, jr\",blue\ncy,blue\n", "column": "team", "equals": "blue"}),
    );
    assert_eq!(
        succeeded(&r),
        &json!({"rows": [{"name": "bob, jr", "team": "blue"}, {"name": "cy", "team": "blue"}], "scanned": 3})
    );
}

#[test]
fn a_handler_error_exits_one_and_is_logged() {
    let r = module(
        sandrun_test_guests::CSV_FILTER,
        json!({"csv": "a,b\n1,2\n", "column": "c", "equals": "x"}),
    );
    assert_eq!(r.exit_code, Some(1), "{r:?}");
    assert_eq!(r.logs.len(), 1);
    assert_eq!(r.logs[0].level, LogLevel::Error);
    assert!(
        r.logs[0].message.starts_with("no column `c`"),
        "{:?}",
        r.logs
    );
}

#[test]
fn markdown_renders_html() {
    let r = module(
        sandrun_test_guests::MARKDOWN,
        json!({"markdown": "# Title\n\nSome *emphasis* and ~~gone~~.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"}),
    );
    let html = succeeded(&r)["html"].as_str().unwrap();
    assert!(
        html.starts_with("<h1>Title</h1>\n<p>Some <em>emphasis</em> and <del>gone</del>.</p>"),
        "{html}"
    );
    assert!(html.contains("<td>1</td>"), "{html}");
    // Shown as a rich result too, through the Rust SDK's `Display`.
    let [shown] = r.results.as_slice() else {
        panic!("one result: {:?}", r.results);
    };
    assert_eq!(shown.text("text/html"), Some(html));
    assert!(shown.text("text/markdown").unwrap().starts_with("# Title"));
}

#[test]
fn pandas_summary_summarises_a_csv_file() {
    let mut task = python_example("pandas_summary");
    let csv = include_bytes!("../../examples/python/pandas_summary/sales.csv");
    task.files.insert("sales.csv".into(), csv.to_vec());
    task.input = Some(json!({"file": "sales.csv", "group": "region", "value": "units"}));
    let r = run(&task);
    let out = succeeded(&r);
    assert_eq!(out["rows"], json!(5));
    assert_eq!(
        out["numeric"]["units"],
        json!({"mean": 7.2, "min": 3.0, "max": 12.0})
    );
    assert_eq!(
        out["mean_by_group"],
        json!({"east": 3.0, "north": 8.5, "south": 8.0})
    );
}

#[test]
fn numeric_fits_and_integrates() {
    let mut task = python_example("numeric");
    let x: Vec<f64> = (0..6).map(f64::from).collect();
    let y: Vec<f64> = x.iter().map(|t| 2.0 * (0.5 * t).exp()).collect();
    task.input = Some(json!({"x": x, "y": y}));
    let r = run(&task);
    let out = succeeded(&r);
    assert_eq!(
        (out["a"].as_f64(), out["b"].as_f64()),
        (Some(2.0), Some(0.5))
    );
    // 4 * (e^2.5 - 1)
    assert!(
        (out["area"].as_f64().unwrap() - 44.729_976).abs() < 1e-5,
        "{out}"
    );
    assert_eq!(r.progress, Some(1.0));
}

#[test]
fn kv_counter_counts_across_runs() {
    let hooks = Arc::new(Recorder::default());
    let mut task = python_example("kv_counter");
    task.kv_namespace = Some("counter-test".into());
    task.input = Some(json!({"name": "hits", "by": 5}));
    assert_eq!(succeeded(&run_hooked(&task, &hooks))["total"], json!(5));
    assert_eq!(succeeded(&run_hooked(&task, &hooks))["total"], json!(10));
    task.input = Some(json!({"name": "hits", "reset": true}));
    assert_eq!(succeeded(&run_hooked(&task, &hooks))["reset"], json!(true));
    task.input = Some(json!({"name": "hits"}));
    assert_eq!(succeeded(&run_hooked(&task, &hooks))["total"], json!(1));
}
