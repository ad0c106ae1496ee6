//! Checks that a task can run at all, made before anything is set up and
//! also by the server when a task is submitted, so that a bad request is
//! refused at once with the field at fault.

use std::path::{Component, Path};

use sandrun_api::AppliedLimits;

use super::task::{Source, Task};
use crate::sandbox::{Sandbox, TaskError};

/// Longest name the host's file system takes for one path component, in
/// bytes: 255 ASCII characters, or 63 of any (4 bytes at most each), which
/// a JSON Schema pattern can say.
const MAX_NAME: usize = 255;
const MAX_NAME_ANY: usize = MAX_NAME / 4;

impl Sandbox {
    /// The limits `task` would run under, or why it cannot run.
    pub fn check(&self, task: &Task) -> Result<AppliedLimits, TaskError> {
        let limits = self.policy.resolve(&task.limits)?;
        check_strings(task)?;
        for name in task.files.keys() {
            check_name(name)?;
        }
        check_input(task, &limits)?;
        Ok(limits)
    }
}

/// The guest reads its input with one host call, so the reply holding it
/// must fit in `host_call_bytes`.
fn check_input(task: &Task, limits: &AppliedLimits) -> Result<(), TaskError> {
    let Some(input) = &task.input else {
        return Ok(());
    };
    let len = reply_bytes(input);
    if len > limits.host_call_bytes {
        return Err(TaskError::InputTooLarge {
            len,
            max: limits.host_call_bytes,
        });
    }
    Ok(())
}

/// The length of the `{"ok": value}` reply carrying `value`.
fn reply_bytes(value: &serde_json::Value) -> u64 {
    struct Counter(u64);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    // `{"ok":` and `}` around the value.
    let mut counter = Counter(7);
    serde_json::to_writer(&mut counter, value).expect("JSON values serialise");
    counter.0
}

/// WASI passes arguments and variables as C strings.
fn check_strings(task: &Task) -> Result<(), TaskError> {
    let nul = |what: String| TaskError::NulByte { what };
    if let Source::Python { code } = &task.source
        && code.contains('\0')
    {
        return Err(nul("the code".into()));
    }
    if let Some(i) = task.args.iter().position(|a| a.contains('\0')) {
        return Err(nul(format!("argument {}", i + 1)));
    }
    for (name, value) in &task.env {
        if name.is_empty() || name.contains('=') {
            return Err(TaskError::BadEnvName(name.clone()));
        }
        if name.contains('\0') || value.contains('\0') {
            return Err(nul(format!("environment variable `{name}`")));
        }
    }
    Ok(())
}

/// An input file name must be a plain relative path that stays inside
/// `/input`.
fn check_name(name: &str) -> Result<(), TaskError> {
    let bad = |why: &'static str| TaskError::BadInputName {
        name: name.to_owned(),
        why,
    };
    if name.is_empty() {
        return Err(bad("it is empty"));
    }
    if name.contains('\0') {
        return Err(bad("it contains a NUL byte"));
    }
    if name.contains('\\') {
        return Err(bad("use `/` to separate directories"));
    }
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) if fits(part.to_str().unwrap_or_default()) => {}
            Component::Normal(_) => {
                return Err(bad(
                    "a path component is longer than 255 ASCII characters, or 63 with any other",
                ));
            }
            Component::ParentDir => return Err(bad("`..` would leave /input")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(bad("it must be relative to /input"));
            }
            Component::CurDir => return Err(bad("`.` components are not allowed")),
        }
    }
    if name.ends_with('/') {
        return Err(bad("it names a directory"));
    }
    Ok(())
}

fn fits(component: &str) -> bool {
    if component.is_ascii() {
        component.len() <= MAX_NAME
    } else {
        component.chars().count() <= MAX_NAME_ANY
    }
}
