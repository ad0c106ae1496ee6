//! The storage contract for dependencies, on both backends: a task waits
//! until what it depends on succeeded, is queued in the transaction that
//! ended the last of them, and is cancelled (naming the dependency, and on
//! down the tasks waiting for it) when one failed or was cancelled, unless
//! it runs on failure; a dependency ending while a task that waits for it
//! is inserted is never missed.

use std::sync::Arc;
use std::time::Duration;

use sandrun::storage::{Cancelled, ClaimFor, NewTask, Storage};
use sandrun_api::{TaskEvent, TaskStatus};

use super::{ended, new_task};

on_both_backends!(
    a_task_waits_for_its_dependencies_and_is_queued_when_they_succeed,
    a_failed_dependency_cancels_its_dependents_down_the_chain,
    dependencies_already_ended_decide_at_once,
    a_dependency_given_up_on_or_cancelled_ends_its_dependents,
    a_dependency_ending_while_its_dependent_is_inserted_is_never_missed,
    dependencies_failing_at_once_cancel_a_tangled_graph_without_a_deadlock,
);

const LEASE: Duration = Duration::from_secs(60);

fn waiting_for(id: &str, dependencies: &[&str]) -> NewTask {
    let mut task = new_task(id);
    task.request.depends_on = dependencies.iter().map(|d| d.to_string()).collect();
    task
}

async fn status(storage: &Arc<dyn Storage>, id: &str) -> TaskStatus {
    storage.task(id).await.unwrap().unwrap().status
}

async fn error(storage: &Arc<dyn Storage>, id: &str) -> String {
    storage
        .task(id)
        .await
        .unwrap()
        .unwrap()
        .error
        .unwrap_or_default()
}

async fn claim_all(storage: &Arc<dyn Storage>) -> Vec<String> {
    let claimed = storage.claim("node", 100, LEASE).await.unwrap();
    let mut ids: Vec<_> = claimed.into_iter().map(|c| c.id).collect();
    ids.sort();
    ids
}

async fn finish(storage: &Arc<dyn Storage>, id: &str, end: TaskStatus) {
    assert!(
        storage.finish(id, 1, "node", ended(end)).await.unwrap(),
        "{id}"
    );
}

async fn a_task_waits_for_its_dependencies_and_is_queued_when_they_succeed(
    storage: Arc<dyn Storage>,
) {
    storage
        .insert_tasks(vec![new_task("a"), new_task("b")])
        .await
        .unwrap();
    storage
        .insert_tasks(vec![waiting_for("c", &["a", "b"])])
        .await
        .unwrap();
    assert_eq!(status(&storage, "c").await, TaskStatus::Waiting);
    assert_eq!(storage.queue_depth().await.unwrap().waiting, 1);
    assert_eq!(
        claim_all(&storage).await,
        ["a", "b"],
        "a waiting task is not claimed"
    );

    finish(&storage, "a", TaskStatus::Succeeded).await;
    assert_eq!(
        status(&storage, "c").await,
        TaskStatus::Waiting,
        "b has not ended"
    );
    finish(&storage, "b", TaskStatus::Succeeded).await;
    assert_eq!(status(&storage, "c").await, TaskStatus::Queued);
    let statuses: Vec<TaskStatus> = storage
        .events_after("c", 0)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|(_, e)| match e {
            TaskEvent::Status { status, .. } => Some(status),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, [TaskStatus::Waiting, TaskStatus::Queued]);
    assert_eq!(claim_all(&storage).await, ["c"]);
}

async fn a_failed_dependency_cancels_its_dependents_down_the_chain(storage: Arc<dyn Storage>) {
    storage.insert_tasks(vec![new_task("a")]).await.unwrap();
    let mut anyway = waiting_for("d", &["a"]);
    anyway.request.run_on_failure = true;
    storage
        .insert_tasks(vec![waiting_for("b", &["a"]), anyway])
        .await
        .unwrap();
    storage
        .insert_tasks(vec![waiting_for("c", &["b"])])
        .await
        .unwrap();
    assert_eq!(claim_all(&storage).await, ["a"]);
    finish(&storage, "a", TaskStatus::Failed).await;

    assert_eq!(status(&storage, "b").await, TaskStatus::Cancelled);
    assert_eq!(error(&storage, "b").await, "dependency a failed");
    assert_eq!(status(&storage, "c").await, TaskStatus::Cancelled);
    assert_eq!(error(&storage, "c").await, "dependency b cancelled");
    assert!(
        storage
            .task("c")
            .await
            .unwrap()
            .unwrap()
            .finished_at
            .is_some()
    );
    assert_eq!(
        status(&storage, "d").await,
        TaskStatus::Queued,
        "it runs on failure"
    );
}

async fn dependencies_already_ended_decide_at_once(storage: Arc<dyn Storage>) {
    storage
        .insert_tasks(vec![new_task("ok"), new_task("bad")])
        .await
        .unwrap();
    claim_all(&storage).await;
    finish(&storage, "ok", TaskStatus::Succeeded).await;
    finish(&storage, "bad", TaskStatus::Failed).await;

    let mut claimed = waiting_for("runs-now", &["ok"]);
    claimed.claim_for = Some(ClaimFor {
        owner: "node".into(),
        lease: LEASE,
    });
    let mut anyway = waiting_for("anyway", &["bad", "ok"]);
    anyway.request.run_on_failure = true;
    storage
        .insert_tasks(vec![
            waiting_for("ready", &["ok"]),
            claimed,
            waiting_for("doomed", &["ok", "bad"]),
            waiting_for("orphan", &["no-such-task"]),
            anyway,
        ])
        .await
        .unwrap();
    assert_eq!(status(&storage, "ready").await, TaskStatus::Queued);
    assert_eq!(
        status(&storage, "runs-now").await,
        TaskStatus::Running,
        "it may skip the queue"
    );
    assert_eq!(status(&storage, "doomed").await, TaskStatus::Cancelled);
    assert_eq!(error(&storage, "doomed").await, "dependency bad failed");
    assert_eq!(status(&storage, "orphan").await, TaskStatus::Cancelled);
    assert_eq!(
        error(&storage, "orphan").await,
        "dependency no-such-task no longer exists"
    );
    assert_eq!(status(&storage, "anyway").await, TaskStatus::Queued);
}

async fn a_dependency_given_up_on_or_cancelled_ends_its_dependents(storage: Arc<dyn Storage>) {
    let mut once = new_task("once");
    once.max_attempts = 1;
    storage
        .insert_tasks(vec![once, new_task("queued")])
        .await
        .unwrap();
    storage
        .insert_tasks(vec![
            waiting_for("after-once", &["once"]),
            waiting_for("after-queued", &["queued"]),
        ])
        .await
        .unwrap();
    storage
        .insert_tasks(vec![waiting_for("last", &["after-queued"])])
        .await
        .unwrap();

    // The node running `once` gave up: its only attempt failed.
    let claimed = storage.claim("node", 1, LEASE).await.unwrap();
    assert_eq!(claimed[0].id, "once");
    assert!(
        storage
            .release("once", 1, "node", Duration::ZERO, "the worker died", true)
            .await
            .unwrap()
    );
    assert_eq!(status(&storage, "once").await, TaskStatus::Failed);
    assert_eq!(status(&storage, "after-once").await, TaskStatus::Cancelled);

    // A waiting task can be cancelled too, and its own dependents with it.
    assert!(matches!(
        storage.cancel("after-queued").await.unwrap(),
        Cancelled::Now(_)
    ));
    assert_eq!(status(&storage, "last").await, TaskStatus::Cancelled);
    assert_eq!(
        error(&storage, "last").await,
        "dependency after-queued cancelled"
    );
    assert_eq!(
        status(&storage, "queued").await,
        TaskStatus::Queued,
        "a dependency is not touched"
    );
}

async fn a_dependency_ending_while_its_dependent_is_inserted_is_never_missed(
    storage: Arc<dyn Storage>,
) {
    for i in 0..20 {
        let dependency = format!("dep-{i}");
        let dependent = format!("waits-{i}");
        storage
            .insert_tasks(vec![new_task(&dependency)])
            .await
            .unwrap();
        assert_eq!(claim_all(&storage).await, [dependency.clone()]);
        let ending = {
            let (storage, id) = (storage.clone(), dependency.clone());
            tokio::spawn(async move { finish(&storage, &id, TaskStatus::Succeeded).await })
        };
        let inserting = {
            let (storage, id, on) = (storage.clone(), dependent.clone(), dependency.clone());
            tokio::spawn(async move {
                storage
                    .insert_tasks(vec![waiting_for(&id, &[&on])])
                    .await
                    .unwrap()
            })
        };
        ending.await.unwrap();
        inserting.await.unwrap();
        assert_eq!(
            status(&storage, &dependent).await,
            TaskStatus::Queued,
            "round {i}"
        );
        assert_eq!(claim_all(&storage).await, [dependent.clone()]);
        finish(&storage, &dependent, TaskStatus::Succeeded).await;
    }
}

async fn dependencies_failing_at_once_cancel_a_tangled_graph_without_a_deadlock(
    storage: Arc<dyn Storage>,
) {
    for round in 0..10 {
        let roots = [format!("r{round}-a"), format!("r{round}-b")];
        let roots_inserted: Vec<NewTask> = roots.iter().map(|id| new_task(id)).collect();
        storage.insert_tasks(roots_inserted).await.unwrap();
        // Each waits for both roots and for some of the tasks made before
        // it, so both failures reach most of them by several paths.
        let mut made: Vec<String> = roots.to_vec();
        for i in 0..8 {
            let id = format!("r{round}-w{i}");
            let on: Vec<&str> = made
                .iter()
                .enumerate()
                .filter(|(j, _)| *j < 2 || (i + j + round) % 3 != 0)
                .map(|(_, id)| id.as_str())
                .collect();
            storage
                .insert_tasks(vec![waiting_for(&id, &on)])
                .await
                .unwrap();
            made.push(id);
        }
        assert_eq!(claim_all(&storage).await, roots.to_vec());
        let failing: Vec<_> = roots
            .iter()
            .map(|id| {
                let (storage, id) = (storage.clone(), id.clone());
                tokio::spawn(async move { finish(&storage, &id, TaskStatus::Failed).await })
            })
            .collect();
        for failed in failing {
            failed.await.expect("both ends are recorded");
        }
        for id in &made[2..] {
            assert_eq!(status(&storage, id).await, TaskStatus::Cancelled, "{id}");
        }
    }
}
