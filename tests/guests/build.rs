//! Compiles the guest modules under `wasm/` and the Rust examples under
//! `examples/rust/` for wasm32-wasip1, so tests run real modules built from
//! source in this repository.
//!
//! The modules are not listed here: every `.wasm` file cargo reports
//! building is one, so a new guest is a new binary in `wasm/src/bin/` or a
//! new cdylib member of the examples' workspace. Module `NAME.wasm` reaches
//! the tests as the variable `SANDRUN_GUEST_NAME` (upper-cased, `-` as `_`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// The cargo projects whose modules are built, relative to this crate.
const PROJECTS: &[&str] = &["wasm", "../../examples/rust"];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    let target_dir = out_dir.join("target");
    for project in PROJECTS {
        for module in build(&manifest_dir.join(project), &target_dir) {
            let name = module
                .file_stem()
                .expect("a module file has a name")
                .to_string_lossy()
                .to_uppercase()
                .replace('-', "_");
            println!("cargo:rustc-env=SANDRUN_GUEST_{name}={}", module.display());
        }
    }
    println!(
        "cargo:rerun-if-changed={}",
        manifest_dir.join("../../guest-sdk").display()
    );
}

/// Build `project` and return the wasm modules it produced.
fn build(project: &Path, target_dir: &Path) -> Vec<PathBuf> {
    println!("cargo:rerun-if-changed={}", project.display());
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip1",
            // What was built goes to stdout as JSON; diagnostics stay
            // readable on stderr.
            "--message-format=json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(project.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        // The outer build's flags and target are not the guests'.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_TARGET_DIR")
        .stderr(Stdio::inherit())
        .output()
        .expect("cannot run cargo to build the guest modules");
    assert!(
        output.status.success(),
        "building the guest modules failed; is the target installed? `rustup target add wasm32-wasip1`"
    );
    let modules: Vec<PathBuf> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .flat_map(|artifact| {
            artifact["filenames"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|file| file.as_str().map(PathBuf::from))
        .filter(|file| file.extension().is_some_and(|e| e == "wasm"))
        .collect();
    assert!(
        !modules.is_empty(),
        "{} built no wasm module",
        project.display()
    );
    modules
}
