//! When a task that waits for others may run: the one rule, applied where
//! a waiting task is inserted and wherever one of its dependencies ends,
//! in the same transaction as that end.

use sandrun_api::TaskStatus;

/// What a task's dependencies, as they stand, make of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Every one succeeded (or, with `run_on_failure`, ended): it may run.
    Ready,
    /// One has not ended yet.
    Waiting,
    /// One failed, was cancelled, or is gone: it never runs, and this says
    /// why.
    Doomed(String),
}

/// The readiness of a task whose dependencies are `(id, status)`, a
/// status `None` for a task that no longer exists.
pub fn readiness(dependencies: &[(String, Option<TaskStatus>)], run_on_failure: bool) -> Readiness {
    if dependencies
        .iter()
        .any(|(_, status)| status.is_some_and(|s| !s.is_terminal()))
    {
        return Readiness::Waiting;
    }
    if run_on_failure {
        return Readiness::Ready;
    }
    let failed = dependencies
        .iter()
        .find(|(_, status)| *status != Some(TaskStatus::Succeeded));
    match failed {
        None => Readiness::Ready,
        Some((id, Some(status))) => Readiness::Doomed(format!("dependency {id} {}", status.name())),
        Some((id, None)) => Readiness::Doomed(format!("dependency {id} no longer exists")),
    }
}
