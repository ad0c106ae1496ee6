//! Compiles the guest modules under `wasm/` and the Rust examples under
//! `examples/rust/` for wasm32-wasip1, so tests run real modules built from
//! source in this repository.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Each cargo project, relative to this crate, and the modules it builds.
const PROJECTS: &[(&str, &[&str])] = &[
    ("wasm", &["echo"]),
    (
        "../../examples/rust",
        &["wordcount", "csv_filter", "markdown"],
    ),
];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    let target_dir = out_dir.join("target");
    for (project, guests) in PROJECTS {
        build(&manifest_dir.join(project), &target_dir);
        for guest in *guests {
            let path = target_dir
                .join("wasm32-wasip1/release")
                .join(format!("{guest}.wasm"));
            println!(
                "cargo:rustc-env=SANDRUN_GUEST_{}={}",
                guest.to_uppercase(),
                path.display()
            );
        }
    }
    println!(
        "cargo:rerun-if-changed={}",
        manifest_dir.join("../../guest-sdk").display()
    );
}

fn build(project: &Path, target_dir: &Path) {
    println!("cargo:rerun-if-changed={}", project.display());
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip1",
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
        .status()
        .expect("cannot run cargo to build the guest modules");
    assert!(
        status.success(),
        "building the guest modules failed; is the target installed? `rustup target add wasm32-wasip1`"
    );
}
